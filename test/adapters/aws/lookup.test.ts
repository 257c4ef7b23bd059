import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SourceError } from '../../../adapters/aws/errors.ts';
import {
  choosePushdown,
  createLookupSource,
  type LookupSourceOptions,
} from '../../../adapters/aws/lookup-source.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SourceItem, SourceProgress, SourceQuery } from '../../../engine/source.ts';
import {
  type AwsEndpoint,
  type AwsEndpointOptions,
  type RecordedRequest,
  startAwsEndpoint,
} from '../../support/aws-endpoint.ts';
import {
  FIXTURE_KEY as KEY,
  fixtureKeyRecords as keyRecords,
  fixtureRecords as records,
} from '../../support/aws-fixtures.ts';

let endpoint: AwsEndpoint | undefined;

async function serve(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  endpoint = await startAwsEndpoint(options);
  for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
  return endpoint;
}

async function collect(query: SourceQuery, options: Partial<LookupSourceOptions> = {}, signal?: AbortSignal) {
  const progress: SourceProgress[] = [];
  const source = createLookupSource({ regions: ['us-east-1'], rateMarginMs: 20, ...options });
  const items: SourceItem[] = [];
  for await (const item of source.read(query, { signal, onProgress: (p) => progress.push(p) }))
    items.push(item);
  const recordsOut = items.flatMap((i) => (i.kind === 'record' ? [i.record] : []));
  return { items, records: recordsOut, progress };
}

/** Largest number of requests that started within any one-second window. */
function maxPerSecond(requests: RecordedRequest[]): number {
  const times = requests.map((r) => r.time).sort((a, b) => a - b);
  let max = 0;
  for (let i = 0; i < times.length; i++) {
    let n = 0;
    for (let j = i; j < times.length && times[j]! - times[i]! < 1000; j++) n++;
    max = Math.max(max, n);
  }
  return max;
}

beforeEach(() => {
  vi.unstubAllEnvs();
});
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
  vi.unstubAllEnvs();
});

describe('choosePushdown', () => {
  it('sends the most selective attribute: access key > user name > one event name > read-only', () => {
    const all: SourceQuery = {
      accessKeyId: KEY,
      user: 'bert-jan',
      eventNames: ['ListBuckets'],
      readOnly: true,
    };
    expect(choosePushdown(all).attribute).toEqual({ AttributeKey: 'AccessKeyId', AttributeValue: KEY });
    expect(choosePushdown({ ...all, accessKeyId: undefined }).attribute).toEqual({
      AttributeKey: 'Username',
      AttributeValue: 'bert-jan',
    });
    expect(choosePushdown({ eventNames: ['ListBuckets'], readOnly: true }).attribute?.AttributeKey).toBe(
      'EventName',
    );
    expect(choosePushdown({ eventNames: ['A', 'B'], readOnly: false }).attribute).toEqual({
      AttributeKey: 'ReadOnly',
      AttributeValue: 'false',
    });
    expect(choosePushdown({}).attribute).toBeUndefined();
  });

  it('turns a user ARN into the name LookupEvents matches, and a role ARN into no user attribute', () => {
    expect(
      choosePushdown({ user: 'arn:aws:iam::123837392027:user/bert-jan' }).attribute?.AttributeValue,
    ).toBe('bert-jan');
    expect(
      choosePushdown({ user: 'arn:aws:sts::1:assumed-role/Admin/alice@example.com' }).attribute
        ?.AttributeValue,
    ).toBe('alice@example.com');
    expect(choosePushdown({ user: 'arn:aws:iam::1:role/Admin' }).attribute).toBeUndefined();
  });
});

describe('LookupEvents source against the local endpoint', () => {
  it('looks up an access key in every region, follows NextToken and returns the records in time order', async () => {
    const ep = await serve({ records });
    const {
      items,
      records: out,
      progress,
    } = await collect({ accessKeyId: KEY }, { regions: ['us-east-1', 'eu-west-1', 'ap-northeast-1'] });

    expect(keyRecords.length).toBeGreaterThan(50); // the fixture needs two pages in us-east-1
    expect(out.map((r) => r.eventID).sort()).toEqual(keyRecords.map((r) => r.eventID).sort());
    const times = out.map((r) => Date.parse(r.eventTime));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(items.some((i) => i.kind === 'truncated')).toBe(false);

    const calls = ep.calls('LookupEvents');
    for (const call of calls) {
      expect(call.body.LookupAttributes).toEqual([{ AttributeKey: 'AccessKeyId', AttributeValue: KEY }]);
      expect(call.body.MaxResults).toBe(50);
    }
    const east = calls.filter((c) => c.region === 'us-east-1');
    expect(east).toHaveLength(2);
    expect(east[0]!.body.NextToken).toBeUndefined();
    expect(typeof east[1]!.body.NextToken).toBe('string');
    expect(calls.filter((c) => c.region === 'eu-west-1')).toHaveLength(1);
    expect(calls.filter((c) => c.region === 'ap-northeast-1')).toHaveLength(1);

    const last = progress.at(-1)!;
    expect(last).toMatchObject({ records: keyRecords.length, pages: 4, regionsDone: 3, regionsTotal: 3 });
    expect(last.message).toBe(
      `Looking up ${KEY} in 3 regions: ${keyRecords.length} events, 4 pages, 3/3 regions done`,
    );

    const first = items.find((i) => i.kind === 'record');
    expect(first?.kind === 'record' && first.origin.file).toBe('lookup:us-east-1');
  });

  it('sends the time range as StartTime/EndTime and filters what one attribute cannot (user + event names + IP)', async () => {
    const ep = await serve({ records });
    const since = new Date('2023-07-10T12:25:00Z');
    const until = new Date('2023-07-10T12:35:00Z');
    const query: SourceQuery = {
      user: 'arn:aws:iam::123837392027:user/bert-jan',
      eventNames: ['ListBuckets', 'GetBucketAcl'],
      since,
      until,
    };
    const { records: out } = await collect(query);

    const expected = records.filter(
      (r) =>
        r.userIdentity?.arn === 'arn:aws:iam::123837392027:user/bert-jan' &&
        ['ListBuckets', 'GetBucketAcl'].includes(r.eventName) &&
        Date.parse(r.eventTime) >= since.getTime() &&
        Date.parse(r.eventTime) <= until.getTime(),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(out.map((r) => r.eventID).sort()).toEqual(expected.map((r) => r.eventID).sort());
    const first = ep.calls('LookupEvents')[0]!;
    expect(first.body.LookupAttributes).toEqual([{ AttributeKey: 'Username', AttributeValue: 'bert-jan' }]);
    expect(first.body.StartTime).toBe(since.getTime() / 1000);
    expect(first.body.EndTime).toBe(until.getTime() / 1000);
  });

  it('holds each region to 2 requests per second while querying the regions at the same time', async () => {
    // Two regions with several pages each: the second region serves the same real records relabelled,
    // because the fixture account only logged in us-east-1.
    const relabelled = records.map((r) => ({ ...r, awsRegion: 'eu-west-1' }) as CloudTrailRecord);
    const ep = await serve({ records: [...records, ...relabelled], ratePerSecond: 0 });
    const userRecords = records.filter((r) => r.userIdentity?.userName === 'bert-jan');
    const { records: out } = await collect({ user: 'bert-jan' }, { regions: ['us-east-1', 'eu-west-1'] });

    expect(out).toHaveLength(userRecords.length * 2);
    const east = ep.calls('LookupEvents').filter((c) => c.region === 'us-east-1');
    const west = ep.calls('LookupEvents').filter((c) => c.region === 'eu-west-1');
    expect(east.length).toBe(Math.ceil(userRecords.length / 50));
    expect(east.length).toBeGreaterThanOrEqual(4);
    expect(maxPerSecond(east)).toBeLessThanOrEqual(2);
    expect(maxPerSecond(west)).toBeLessThanOrEqual(2);
    // Concurrent fan-out: the second region started before the first one finished its pages.
    expect(west[0]!.time).toBeLessThan(east.at(-1)!.time);
    expect(maxPerSecond([...east, ...west])).toBeGreaterThan(2);
  });

  it('waits out ThrottlingException with backoff and still returns every record', async () => {
    let throttled = 0;
    const ep = await serve({
      records,
      // The first three calls are throttled whatever the rate: AWS may throttle below the documented quota.
      fault: (r) =>
        r.operation === 'LookupEvents' && throttled++ < 3
          ? { code: 'ThrottlingException', message: 'Rate exceeded' }
          : undefined,
    });
    const { records: out } = await collect({ accessKeyId: KEY });
    expect(out).toHaveLength(keyRecords.length);
    const calls = ep.calls('LookupEvents');
    expect(calls.filter((c) => c.errorCode === 'ThrottlingException')).toHaveLength(3);
    expect(calls.filter((c) => c.status === 200)).toHaveLength(2);
  });

  it('survives an endpoint that enforces a stricter rate than ours', async () => {
    const ep = await serve({ records, ratePerSecond: 1 });
    const { records: out } = await collect({ user: 'bert-jan' });
    expect(out).toHaveLength(records.filter((r) => r.userIdentity?.userName === 'bert-jan').length);
    expect(ep.calls('LookupEvents').some((c) => c.errorCode === 'ThrottlingException')).toBe(true);
  });

  it('stops at the event cap and says the result was truncated', async () => {
    const ep = await serve({ records });
    const { items, records: out } = await collect({ accessKeyId: KEY }, { maxEvents: 30 });
    expect(out).toHaveLength(30);
    const truncated = items.find((i) => i.kind === 'truncated');
    expect(truncated?.kind === 'truncated' && truncated.reason).toMatch(/stopped at 30 events/);
    expect(ep.calls('LookupEvents')).toHaveLength(1);
  });

  it('reports a broken CloudTrailEvent as rejected with its region and position, and keeps the rest', async () => {
    await serve({
      records,
      lookupEventText: (r, i) => (i === 4 ? JSON.stringify(r).slice(0, 100) : JSON.stringify(r)),
    });
    const { items, records: out } = await collect({ accessKeyId: KEY });
    const rejected = items.filter((i) => i.kind === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ origin: { file: 'lookup:us-east-1', position: 5 } });
    expect(rejected[0]!.kind === 'rejected' && rejected[0]!.reason).toMatch(/not valid JSON/);
    expect(out).toHaveLength(keyRecords.length - 1);
  });

  it('skips an opt-in region that is not enabled, naming it, while the other regions answer', async () => {
    await serve({ records, disabledRegions: ['ap-east-1'] });
    const { items, records: out } = await collect(
      { accessKeyId: KEY },
      { regions: ['us-east-1', 'ap-east-1'] },
    );
    expect(out).toHaveLength(keyRecords.length);
    const rejected = items.find((i) => i.kind === 'rejected');
    expect(rejected).toMatchObject({ origin: { file: 'lookup:ap-east-1' } });
    expect(rejected?.kind === 'rejected' && rejected.reason).toMatch(/Region ap-east-1 is not enabled/);
  });

  it('names the missing permission on AccessDenied and fails the whole query', async () => {
    await serve({
      records,
      fault: (r) =>
        r.region === 'eu-west-1'
          ? {
              code: 'AccessDeniedException',
              message:
                'User: arn:aws:iam::123837392027:user/analyst is not authorized to perform: cloudtrail:LookupEvents because no identity-based policy allows the cloudtrail:LookupEvents action',
            }
          : undefined,
    });
    const err = await collect({ accessKeyId: KEY }, { regions: ['us-east-1', 'eu-west-1'] }).catch((e) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).toMatchObject({ kind: 'access-denied', permission: 'cloudtrail:LookupEvents' });
    expect(err.message).toContain('eu-west-1');
  });

  it('says when the credentials have expired', async () => {
    await serve({
      records,
      fault: () => ({
        code: 'ExpiredTokenException',
        message: 'The security token included in the request is expired',
      }),
    });
    const err = await collect({ accessKeyId: KEY }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'credentials-expired' });
    expect(err.hint).toMatch(/sso login/);
  });

  it('says when there are no credentials at all', async () => {
    await serve({ records });
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_FULL_URI', '');
    vi.stubEnv('AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', '');
    vi.stubEnv('AWS_WEB_IDENTITY_TOKEN_FILE', '');
    const err = await collect({ accessKeyId: KEY }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'credentials-missing' });
    expect(endpoint!.requests).toHaveLength(0);
  });

  it('stops sending requests when the caller aborts', async () => {
    const ep = await serve({ records });
    const controller = new AbortController();
    const source = createLookupSource({ regions: ['us-east-1'], rateMarginMs: 20 });
    const run = (async () => {
      for await (const _ of source.read(
        { user: 'bert-jan' },
        {
          signal: controller.signal,
          onProgress: (p) => p.pages === 2 && controller.abort(new Error('analyst gave up')),
        },
      ));
    })();
    await expect(run).rejects.toThrow(/analyst gave up/);
    const sent = ep.calls('LookupEvents').length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(ep.calls('LookupEvents').length).toBe(sent);
    expect(sent).toBeLessThan(
      Math.ceil(records.filter((r) => r.userIdentity?.userName === 'bert-jan').length / 50),
    );
  });

  it('assumes the configured role in each member account and queries every account', async () => {
    const ep = await serve({ records });
    const accounts = [
      { id: '123837392027', roleArn: 'arn:aws:iam::123837392027:role/CartographerReadOnly' },
      {
        id: '210987654321',
        roleArn: 'arn:aws:iam::210987654321:role/CartographerReadOnly',
        externalId: 'soc-7',
      },
    ];
    const {
      items,
      records: out,
      progress,
    } = await collect(
      { accessKeyId: KEY },
      { accounts, regions: ['us-east-1', 'eu-west-1'], roleSessionName: 'cartographer-test' },
    );
    expect(out).toHaveLength(keyRecords.length);
    const assumed = ep.calls('AssumeRole');
    expect(assumed.map((c) => c.body.RoleArn).sort()).toEqual(accounts.map((a) => a.roleArn).sort());
    expect(assumed.every((c) => c.body.RoleSessionName === 'cartographer-test')).toBe(true);
    expect(assumed.find((c) => c.body.RoleArn === accounts[1]!.roleArn)?.body.ExternalId).toBe('soc-7');
    const lookups = ep.calls('LookupEvents');
    expect(new Set(lookups.map((c) => `${c.account}/${c.region}`))).toEqual(
      new Set([
        '123837392027/us-east-1',
        '123837392027/eu-west-1',
        '210987654321/us-east-1',
        '210987654321/eu-west-1',
      ]),
    );
    expect(lookups.every((c) => c.accessKeyId.startsWith('ASIA'))).toBe(true);
    const first = items.find((i) => i.kind === 'record');
    expect(first?.kind === 'record' && first.origin.file).toBe('lookup:123837392027/us-east-1');
    expect(progress.at(-1)!.message).toMatch(/in 2 accounts × 2 regions: .* 4\/4 account-regions done/);
  });

  it('says which role could not be assumed, and why', async () => {
    await serve({
      records,
      fault: (r) =>
        r.operation === 'AssumeRole'
          ? {
              status: 403,
              code: 'AccessDenied',
              message: `User: arn:aws:iam::123837392027:user/analyst is not authorized to perform: sts:AssumeRole on resource: ${r.body.RoleArn}`,
            }
          : undefined,
    });
    const roleArn = 'arn:aws:iam::210987654321:role/CartographerReadOnly';
    const err = await collect({ accessKeyId: KEY }, { accounts: [{ id: '210987654321', roleArn }] }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ kind: 'access-denied', permission: 'sts:AssumeRole' });
    expect(err.summary).toBe(`Cannot assume ${roleArn} for account 210987654321: access denied.`);
    expect(err.hint).toContain('trust policy');
    expect(endpoint!.calls('LookupEvents')).toHaveLength(0);
  });

  it('shares one budget per region between look-ups running at the same time (two analysts in the bot)', async () => {
    const ep = await serve({ records, ratePerSecond: 0 });
    const a = collect({ user: 'bert-jan' });
    const b = collect({ accessKeyId: KEY });
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.records.length).toBeGreaterThan(0);
    expect(rb.records).toHaveLength(keyRecords.length);
    expect(maxPerSecond(ep.calls('LookupEvents'))).toBeLessThanOrEqual(2);
  });

  it('under endless throttling, returns what it has at the time-out, marked truncated, instead of failing', async () => {
    const ep = await serve({
      records,
      // us-east-1 answers; eu-west-1 throttles every request.
      fault: (r) =>
        r.region === 'eu-west-1' ? { code: 'ThrottlingException', message: 'Rate exceeded' } : undefined,
    });
    const { items, records: out } = await collect(
      { accessKeyId: KEY },
      { regions: ['us-east-1', 'eu-west-1'], timeoutMs: 2500 },
    );
    expect(out).toHaveLength(keyRecords.length);
    expect(items.at(-1)).toMatchObject({
      kind: 'truncated',
      reason: expect.stringMatching(
        /stopped after 2.5 s \(CARTOGRAPHER_LOOKUP_TIMEOUT\) with 1\/2 regions complete/,
      ),
    });
    expect(ep.calls('LookupEvents').filter((c) => c.region === 'eu-west-1').length).toBeGreaterThan(1);
  });
});
