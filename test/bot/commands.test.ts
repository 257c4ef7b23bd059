import { describe, expect, it } from 'vitest';
import { parseSince, tokenize } from '../../bot/commands/parse.ts';
import { createCommandRegistry } from '../../bot/commands/registry.ts';
import { toSourceQuery } from '../../bot/lookup/run-lookup.ts';
import type { BotServices, CommandContext, LookupRequest } from '../../bot/types.ts';
import { loadBotConfig } from '../../config/bot.ts';
import { UsageError } from '../../engine/errors.ts';

const config = loadBotConfig({
  SLACK_BOT_TOKEN: 'xoxb-1',
  SLACK_SIGNING_SECRET: 's',
  CARTOGRAPHER_SOURCE: 'lookup',
});

/** Runs a sub-command with a lookup that records what it was asked. */
async function run(text: string): Promise<LookupRequest | UsageError> {
  const [name = '', ...args] = tokenize(text);
  let asked: LookupRequest | undefined;
  const services = {
    config,
    lookup: async (r: LookupRequest) => {
      asked = r;
      return { outcome: 'ok' };
    },
  } as unknown as BotServices;
  const ctx: CommandContext = { userId: 'U1', channelId: 'C1', respond: async () => {}, services };
  try {
    await createCommandRegistry().find(name)!.handle(args, ctx);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  return asked!;
}

describe('command parsing', () => {
  it('parses session, user and ip lookups with options', async () => {
    const s = (await run('session ASIATFQR7NSCS5BLNV76 --since 24h --source athena')) as LookupRequest;
    expect(s).toMatchObject({ kind: 'session', value: 'ASIATFQR7NSCS5BLNV76', source: 'athena' });
    expect(Date.now() - s.since!.getTime()).toBeGreaterThan(23.9 * 3600_000);
    expect(toSourceQuery(s).query.accessKeyId).toBe('ASIATFQR7NSCS5BLNV76');
    const u = (await run('user arn:aws:iam::123837392027:user/bert-jan')) as LookupRequest;
    expect(u).toMatchObject({ kind: 'user', source: 'lookup' });
    expect(toSourceQuery(u).query.user).toBe('arn:aws:iam::123837392027:user/bert-jan');
    expect(toSourceQuery((await run('ip 2001:db8::1')) as LookupRequest).query.sourceIp).toBe('2001:db8::1');
    expect(((await run('session ASIATFQR7NSCS5BLNV76 —since=7d')) as LookupRequest).since).toBeInstanceOf(
      Date,
    );
    // A session key that is no access key is looked up by session.
    expect(toSourceQuery((await run('session console:bert-jan:1')) as LookupRequest).sessionKey).toBe(
      'console:bert-jan:1',
    );
  });

  it.each([
    ['session', /missing the access key id or session key/],
    ['session asia-lowercase!!', /neither an access key id/],
    ['session ASIATFQR7NSCS5BLNV76 extra', /unexpected 'extra'/],
    ['session ASIATFQR7NSCS5BLNV76 --since yesterday', /--since 'yesterday' is not a duration/],
    ['session ASIATFQR7NSCS5BLNV76 --since', /--since needs a value/],
    ['session ASIATFQR7NSCS5BLNV76 --region us-east-1', /unknown option --region/],
    ['session ASIATFQR7NSCS5BLNV76 --source s3', /--source must be local, lookup or athena/],
    ['user', /missing the user name or ARN/],
    ['user "bad name with spaces"', /neither an IAM user\/role name nor an ARN/],
    ['ip 10.0.0', /not an IPv4 or IPv6 address/],
    ['ip', /missing the IP address/],
  ])('%s → usage error', async (text, pattern) => {
    const r = await run(text);
    expect(r).toBeInstanceOf(UsageError);
    expect((r as UsageError).message).toMatch(pattern);
    expect((r as UsageError).usage).toMatch(/^\/cartographer /);
  });

  it('tokenizes quotes (also smart quotes) and reads relative and absolute --since', () => {
    expect(tokenize('user “Alice Smith” --since 7d')).toEqual(['user', 'Alice Smith', '--since', '7d']);
    const now = new Date('2026-11-22T00:00:00Z');
    expect(parseSince('30m', now)?.toISOString()).toBe('2026-11-21T23:30:00.000Z');
    expect(parseSince('2w', now)?.toISOString()).toBe('2026-11-08T00:00:00.000Z');
    expect(parseSince('2026-11-01T10:00:00Z', now)?.toISOString()).toBe('2026-11-01T10:00:00.000Z');
    expect(parseSince('0h', now)).toBeUndefined();
  });
});

describe('bot configuration', () => {
  it('names the bad or missing setting and never echoes a secret', () => {
    expect(() => loadBotConfig({})).toThrow(/SLACK_BOT_TOKEN is required/);
    expect(() => loadBotConfig({ SLACK_BOT_TOKEN: 'xoxb-secret-value' })).toThrow(
      /SLACK_SIGNING_SECRET is required/,
    );
    expect(() => loadBotConfig({ SLACK_BOT_TOKEN: 'x', SLACK_APP_TOKEN: 'xoxb-secret-value' })).toThrow(
      /SLACK_APP_TOKEN must be an app-level token/,
    );
    expect(() => loadBotConfig({ SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: 's', PORT: 'http' })).toThrow(
      /^PORT /,
    );
    try {
      loadBotConfig({ SLACK_BOT_TOKEN: 'xoxb-secret-value', SLACK_APP_TOKEN: 'nope-secret' });
    } catch (err) {
      expect(String(err)).not.toContain('secret');
    }
  });

  it('chooses Socket Mode with an app token and normalises the API URL', () => {
    const c = loadBotConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1',
      SLACK_API_URL: 'http://127.0.0.1:9/api',
      CARTOGRAPHER_ALLOWED_CHANNELS: 'C1, C2',
      CARTOGRAPHER_LOCAL_PATH: 'a,b',
    });
    expect(c.socketMode).toBe(true);
    expect(c.slackApiUrl).toBe('http://127.0.0.1:9/api/');
    expect(c.allowedChannels).toEqual(['C1', 'C2']);
    expect(c.localPaths).toEqual(['a', 'b']);
    expect(loadBotConfig({ SLACK_BOT_TOKEN: 'x', SLACK_SIGNING_SECRET: 's' })).toMatchObject({
      socketMode: false,
      port: 3000,
      localPaths: ['demo/'],
    });
  });
});
