/**
 * Everything the bot sends to Slack goes through here: redaction (last line of defence; builders
 * already redact what they take from records), the limit checker, and the plain-text fallback.
 * Rate limits (HTTP 429 + Retry-After) are retried by the WebClient itself (see app.ts retryConfig).
 */
import type { WebClient } from '@slack/web-api';
import { redact, redactText } from '../engine/redact.ts';
import { assertWithinLimits, type BotHomeView, checkView, type SlackMessage } from './messages/limits.ts';

export interface Poster {
  post(channel: string, message: SlackMessage, threadTs?: string): Promise<string>;
  update(channel: string, ts: string, message: SlackMessage): Promise<void>;
  upload(
    channel: string,
    threadTs: string,
    file: { filename: string; content: string; comment: string },
  ): Promise<void>;
  /** Publishes a user's App Home tab (views.publish), redacted and limit-checked. */
  publishHome(userId: string, view: BotHomeView): Promise<void>;
  /** A link to a message (`https://<team>.slack.com/archives/<channel>/p<ts>`); the team URL is asked once. */
  permalink(channel: string, ts: string): Promise<string>;
}

export function createPoster(client: WebClient): Poster {
  let teamUrl: Promise<string> | undefined;
  return {
    post: (channel, message, threadTs) => postMessage(client, channel, message, 'message', threadTs),
    async update(channel, ts, message) {
      const safe = prepare(message, 'update');
      await client.chat.update({ channel, ts, text: safe.text, blocks: safe.blocks ?? [] });
    },
    async upload(channel, threadTs, file) {
      await client.filesUploadV2({
        channel_id: channel,
        thread_ts: threadTs,
        filename: file.filename,
        title: file.filename,
        content: redactText(file.content),
        initial_comment: redactText(file.comment),
      });
    },
    async publishHome(userId, view) {
      const safe = redact(view);
      const problems = checkView(safe);
      if (problems.length > 0)
        throw new Error(
          `home view breaks Slack limits: ${problems.map((x) => `${x.path}: ${x.message}`).join('; ')}`,
        );
      await client.views.publish({ user_id: userId, view: safe });
    },
    async permalink(channel, ts) {
      teamUrl ??= client.auth.test().then((r) => {
        if (!r.url) throw new Error('auth.test returned no team url');
        return r.url.endsWith('/') ? r.url : `${r.url}/`;
      });
      teamUrl.catch(() => {
        teamUrl = undefined;
      });
      return `${await teamUrl}archives/${channel}/p${ts.replace('.', '')}`;
    },
  };
}

/**
 * chat.postMessage of a prepared (redacted, limit-checked) message, without link previews; returns its ts.
 * `metadata` lets a post be found again later (see scheduler/slack-outbox.ts).
 */
export async function postMessage(
  client: WebClient,
  channel: string,
  message: SlackMessage,
  what: string,
  threadTs?: string,
  metadata?: { event_type: string; event_payload: Record<string, string | number | boolean> },
): Promise<string> {
  const safe = prepare(message, what);
  const res = await client.chat.postMessage({
    channel,
    text: safe.text,
    ...(safe.blocks ? { blocks: safe.blocks } : {}),
    ...(threadTs ? { thread_ts: threadTs } : {}),
    ...(metadata ? { metadata } : {}),
    unfurl_links: false,
    unfurl_media: false,
  });
  if (!res.ts) throw new Error('chat.postMessage returned no ts');
  return res.ts;
}

/** The error code of a failed Web API call (`not_in_channel`, `ratelimited`, …), if Slack gave one. */
export function slackErrorCode(err: unknown): string | undefined {
  return (err as { data?: { error?: string } } | undefined)?.data?.error;
}

/** Whether a post failed because the bot is not in the channel (the fix: invite it). */
export function isNotInChannel(code: string | undefined): boolean {
  return code === 'not_in_channel' || code === 'channel_not_found';
}

export function prepare(message: SlackMessage, what: string): SlackMessage {
  const safe = redact(message);
  assertWithinLimits(safe, what);
  return safe;
}
