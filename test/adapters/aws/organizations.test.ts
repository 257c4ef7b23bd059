/**
 * Account names from AWS Organizations, through the real SDK client against a local endpoint that
 * speaks the Organizations JSON protocol: every page of ListAccounts is read, the listing is cached
 * for its time to live, a failure keeps the last good names and says what to fix, and the names a
 * team configured win over Organizations'.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOrganizationsDirectory } from '../../../adapters/aws/organizations.ts';
import { createAccountNames } from '../../../bot/account-names.ts';
import { loadBotConfig } from '../../../config/bot.ts';
import {
  type OrganizationsEndpoint,
  startOrganizationsEndpoint,
} from '../../support/organizations-endpoint.ts';

const ACCOUNTS = Array.from({ length: 45 }, (_, i) => ({
  Id: String(100000000000 + i),
  Name: i === 7 ? 'prod-payments' : `member-${i}`,
}));

let endpoint: OrganizationsEndpoint;
beforeAll(async () => {
  endpoint = await startOrganizationsEndpoint(ACCOUNTS);
  for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await endpoint?.close();
});

describe('AWS Organizations account names', () => {
  it('reads every page of ListAccounts, signed for the organizations service, and caches the listing', async () => {
    let t = 0;
    const directory = createOrganizationsDirectory({ region: 'us-east-1', ttlMs: 60_000, now: () => t });
    const before = endpoint.requests.length;
    const names = await directory.names();
    expect(names.size).toBe(45);
    expect(names.get('100000000007')).toBe('prod-payments');
    const calls = endpoint.requests.slice(before);
    expect(calls.map((r) => r.target)).toEqual(Array(3).fill('AWSOrganizationsV20161128.ListAccounts'));
    expect(calls[1]?.body.NextToken).toBe('page-20');
    expect(calls[0]?.authorization).toMatch(
      /Credential=AKIA\w+\/\d{8}\/us-east-1\/organizations\/aws4_request/,
    );

    // Cached: concurrent and later calls within the time to live cost nothing.
    await Promise.all([directory.names(), directory.names()]);
    t = 59_000;
    await directory.names();
    expect(endpoint.requests.length - before).toBe(3);
    // Expired: listed again, new names seen.
    endpoint.accounts.push({ Id: '200000000000', Name: 'new-sandbox' });
    t = 61_000;
    expect((await directory.names()).get('200000000000')).toBe('new-sandbox');
    endpoint.accounts.pop();
  });

  it('keeps the last good names when access is denied, says which permission to grant, retries after a pause', async () => {
    let t = 0;
    const errors: string[] = [];
    const directory = createOrganizationsDirectory({
      region: 'us-east-1',
      ttlMs: 1000,
      retryAfterMs: 10_000,
      now: () => t,
      onError: (m) => errors.push(m),
    });
    expect((await directory.names()).size).toBe(45);
    endpoint.fault = { status: 400, type: 'AccessDeniedException', message: 'not authorized' };
    try {
      t = 2000;
      const kept = await directory.names();
      expect(kept.get('100000000007')).toBe('prod-payments');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/AccessDeniedException/);
      expect(errors[0]).toMatch(/organizations:ListAccounts/);
      const tries = endpoint.requests.length;
      t = 5000; // within the pause: no new request, no new error
      await directory.names();
      expect(endpoint.requests.length).toBe(tries);
      endpoint.fault = { status: 400, type: 'AWSOrganizationsNotInUseException', message: 'not in use' };
      t = 13_000;
      await directory.names();
      expect(errors[1]).toMatch(/CARTOGRAPHER_ACCOUNT_NAMES/);
    } finally {
      endpoint.fault = undefined;
    }
    t = 30_000;
    expect((await directory.names()).size).toBe(45);
  });

  it('the bot names accounts from its configured map first, then from Organizations when allowed', async () => {
    const base = { SLACK_BOT_TOKEN: 'xoxb-x', SLACK_SIGNING_SECRET: 's' };
    const config = loadBotConfig({
      ...base,
      CARTOGRAPHER_ACCOUNT_NAMES: '100000000007=payments (prod), 999999999999=legacy',
      CARTOGRAPHER_ORGANIZATIONS: 'on',
    });
    const warn = vi.fn();
    const namer = await createAccountNames(config, { warn })();
    expect(namer('100000000007')).toBe('payments (prod)');
    expect(namer('999999999999')).toBe('legacy');
    expect(namer('100000000003')).toBe('member-3');
    expect(namer('123456789012')).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();

    const before = endpoint.requests.length;
    const offline = await createAccountNames(
      loadBotConfig({ ...base, CARTOGRAPHER_ACCOUNT_NAMES: '100000000007=pay' }),
      {
        warn,
      },
    )();
    expect(offline('100000000007')).toBe('pay');
    expect(offline('100000000003')).toBeUndefined();
    expect(endpoint.requests.length).toBe(before);
    expect(() => loadBotConfig({ ...base, CARTOGRAPHER_ACCOUNT_NAMES: 'prod' })).toThrow(
      /CARTOGRAPHER_ACCOUNT_NAMES must be 123456789012=name pairs/,
    );
  });
});
