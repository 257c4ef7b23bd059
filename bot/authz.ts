/**
 * Who may use the bot, re-checked on every command and every click (a message with buttons can be
 * forwarded or outlive someone's membership). Configured by channel ids, user ids and/or one user
 * group; with none configured everybody in the workspace may use it (the log says so at start).
 */
import type { WebClient } from '@slack/web-api';
import type { BotConfig } from '../config/bot.ts';

export type AuthzDecision = { allowed: true } | { allowed: false; reason: string };

export interface Authorizer {
  check(userId: string, channelId: string | undefined): Promise<AuthzDecision>;
  readonly open: boolean;
}

/** User-group members are cached briefly: one Slack call per minute, not per click. */
const GROUP_TTL_MS = 60_000;

export function createAuthorizer(
  config: Pick<BotConfig, 'allowedChannels' | 'allowedUsers' | 'allowedUsergroup'>,
  client: WebClient,
): Authorizer {
  const channels = new Set(config.allowedChannels);
  const users = new Set(config.allowedUsers);
  const group = config.allowedUsergroup;
  let groupCache: { members: Set<string>; at: number } | undefined;

  async function groupMembers(): Promise<Set<string>> {
    if (!group) return new Set();
    if (groupCache && Date.now() - groupCache.at < GROUP_TTL_MS) return groupCache.members;
    const res = await client.usergroups.users.list({ usergroup: group });
    groupCache = { members: new Set(res.users ?? []), at: Date.now() };
    return groupCache.members;
  }

  return {
    open: channels.size === 0 && users.size === 0 && !group,
    async check(userId, channelId) {
      if (channels.size > 0 && (!channelId || !channels.has(channelId))) {
        return {
          allowed: false,
          reason: 'this channel is not one of the channels Cartographer may be used in',
        };
      }
      if (users.size === 0 && !group) return { allowed: true };
      if (users.has(userId)) return { allowed: true };
      if (group) {
        try {
          if ((await groupMembers()).has(userId)) return { allowed: true };
        } catch {
          return {
            allowed: false,
            reason: 'the allowed user group could not be checked; try again in a minute',
          };
        }
      }
      return { allowed: false, reason: 'you are not on the list of people allowed to use Cartographer' };
    },
  };
}
