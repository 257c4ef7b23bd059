/**
 * The detections' event-level prefilter as Athena SQL, run for real in DuckDB against events built for each test
 * rule (rules of this test's own, so the shipped rule set can change freely):
 *
 *   - the SQL filter keeps every event the rule holds for (a superset), and exactly those when the rule is fully
 *     pushed down — with hostile values: quotes, `%`, `_`, backslashes, Unicode, case folding;
 *   - values never enter the SQL text (parameters only);
 *   - a condition node kind the compiler does not know still narrows by the rule's event names;
 *   - the Athena source's limits: a daily byte budget refuses queries, concurrent queries are bounded, and a
 *     scheduler that stops cancels its running query.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { over, Sql, toSql, under } from '../adapters/aws/athena-filter-sql.ts';
import { createAthenaSource } from '../adapters/aws/athena-source.ts';
import { sqlString } from '../adapters/aws/athena-sql.ts';
import { openSchedulerState } from '../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../bot/scheduler/clock.ts';
import { loadSchedulerConfig } from '../bot/scheduler/config.ts';
import { createScheduler } from '../bot/scheduler/scheduler.ts';
import { type CompiledRule, compileRule } from '../engine/detections/compiled-rule.ts';
import { eventPushdown } from '../engine/detections/pushdown.ts';
import { type DetectionRuleInput, EventRuleSchema } from '../engine/detections/rule-schema.ts';
import { compileSigmaRule } from '../engine/detections/sigma.ts';
import { toEngineEvent } from '../engine/events.ts';
import type { CloudTrailRecord } from '../engine/record.ts';
import { DuckAthena } from './support/athena-duckdb.ts';
import { type AwsEndpoint, startAwsEndpoint } from './support/aws-endpoint.ts';
import { fixtureRecords } from './support/aws-fixtures.ts';

const TABLE = { catalog: 'AwsDataCatalog', database: 'security', table: 'cloudtrail_logs' };

function event(id: string, fields: Partial<CloudTrailRecord> & Record<string, unknown>): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventTime: '2026-01-05T10:00:00Z',
    eventID: id,
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    awsRegion: 'us-east-1',
    recipientAccountId: '111111111111',
    sourceIPAddress: '203.0.113.9',
    userAgent: 'aws-cli/2.13.5',
    userIdentity: { type: 'IAMUser', userName: 'alice', arn: 'arn:aws:iam::111111111111:user/alice' },
    ...fields,
  } as CloudTrailRecord;
}

const user = (userName: string) => ({
  userIdentity: { type: 'IAMUser', userName, arn: `arn:aws:iam::111111111111:user/${userName}` },
});

/** Events with the hostile values and their near misses. */
const EVENTS: CloudTrailRecord[] = [
  event('quote', user("O'Brien")),
  event('quote-near', user('OBrien')),
  event('unicode', user('日本語ユーザー')),
  event('unicode-near', user('日本語ユーザ')),
  event('percent', { userAgent: '50%_off/1.0' }),
  event('percent-near', { userAgent: '50XXoff/1.0' }),
  event('underscore', { userAgent: '_x%agent' }),
  event('underscore-near', { userAgent: 'ax%agent' }),
  event('backslash', { userAgent: 'tool C:\\temp\\' }),
  event('backslash-near', { userAgent: 'tool C:/temp/' }),
  event('istanbul', { userAgent: 'client İSTANBUL edition' }),
  event('istanbul-ascii', { userAgent: 'client istanbul edition' }),
  event('bucket', { requestParameters: { bucketName: 'sale-50%_off' } }),
  event('bucket-near', { requestParameters: { bucketName: 'sale-50xxoff' } }),
  event('like-a', { eventName: 'Get%' }),
  event('like-b', { eventName: 'GetObject' }),
  event('like-c', { eventName: 'List_Buckets' }),
  event('like-d', { eventName: 'ListXBuckets' }),
  event('error', { errorCode: 'AccessDenied' }),
  event('empty-error', { errorCode: '' }),
  event('ip', { sourceIPAddress: '10.0.3.4' }),
  event('ip-near', { sourceIPAddress: '110.0.3.4' }),
];

const OWN_RULES: [string, Record<string, unknown>][] = [
  ['quote', { where: { field: 'userIdentity.userName', equals: "O'Brien" } }],
  ['unicode', { where: { field: 'userIdentity.userName', equals: '日本語ユーザー' } }],
  ['percent', { where: { field: 'userAgent', contains: '50%_off' } }],
  ['underscore', { where: { field: 'userAgent', startsWith: '_x%' } }],
  ['backslash', { where: { field: 'userAgent', endsWith: 'C:\\temp\\' } }],
  ['case folding', { where: { field: 'userAgent', contains: 'İSTANBUL', ignoreCase: true } }],
  ['json text', { where: { field: 'requestParameters.bucketName', equals: 'sale-50%_off' } }],
  ['like metacharacters', { where: { field: 'eventName', in: ['Get%', 'List_Buckets'] } }],
  [
    'not exists',
    {
      where: {
        all: [{ field: 'eventName', equals: 'GetObject' }, { not: { field: 'errorCode', exists: true } }],
      },
    },
  ],
  ['portable regex', { where: { field: 'sourceIPAddress', regex: '^10\\.0\\.' } }],
  ['look-behind (not portable)', { where: { field: 'userAgent', regex: '(?<=tool )C' } }],
];

function ownRule(id: string, body: Record<string, unknown>): CompiledRule {
  const input = EventRuleSchema.parse({
    id: `test.${id.replace(/[^a-z]+/g, '-')}`,
    title: id,
    description: 'test rule',
    severity: 'low',
    ...body,
  }) as DetectionRuleInput;
  return compileRule(input, 'test.yaml:1', () => []);
}

const SIGMA = `title: hostile sigma
id: 9c6c1f5a-0000-4000-8000-000000000001
logsource: { product: aws, service: cloudtrail }
detection:
  selection:
    userAgent|contains: '50%_'
    eventName|startswith: 'Get'
  condition: selection
level: low
`;

describe('the prefilter as SQL, on hostile values', async () => {
  const duck = await DuckAthena.create(EVENTS, TABLE);
  const rows = new Sql('FROM cloudtrail WHERE TRUE');
  const ids = async (pred: Sql) => {
    const out = await duck.run(`SELECT eventid ${rows.text} AND (${pred.text})`, pred.params.map(sqlString));
    return out.rows.map((r) => r[0]).sort();
  };
  const rules = [
    ...OWN_RULES.map(([id, body]) => [id, ownRule(id, body)] as const),
    ['sigma wildcards', compileSigmaRule(SIGMA, 'sigma.yml', () => [])] as const,
  ];

  it.each(rules)(
    '%s: keeps every matching event (exactly them when fully pushed down)',
    async (_name, rule) => {
      const [pushed] = eventPushdown([rule]).rules;
      const matching = EVENTS.filter((r) => rule.match!(toEngineEvent(r, 0)))
        .map((r) => r.eventID)
        .sort();
      const widened = new Set<string>();
      const wide = toSql(over(pushed!.filter, { rows, widened }));
      const narrow = toSql(under(pushed!.filter, { rows }));
      const kept = await ids(wide);
      for (const id of matching) expect(kept, `kept ${id}`).toContain(id);
      for (const id of await ids(narrow)) expect(matching, `under ${id}`).toContain(id);
      // Fully pushed down: exactly the matching events, on printable-ASCII text (case folding and regular expressions
      // on anything else are left to Node, so those events travel too).
      const plain = (id: string | null | undefined) =>
        !/[^\x20-\x7E]/.test(JSON.stringify(EVENTS.find((r) => r.eventID === id)));
      if (pushed!.notes.length === 0 && widened.size === 0)
        expect(kept.filter(plain)).toEqual(matching.filter(plain));
      else expect(kept.length).toBeGreaterThanOrEqual(matching.length);
      // Values are parameters, never SQL text.
      for (const value of [
        "O'Brien",
        '日本語',
        '50%_off',
        '_x%',
        'C:\\temp',
        'İSTANBUL',
        'Get%',
        'List_Buckets',
      ]) {
        expect(wide.text).not.toContain(value);
      }
      expect(wide.text.split('?').length - 1).toBe(wide.params.length);
    },
  );

  it('the matching events are the intended ones (the near misses stay out)', () => {
    const match = (name: string) =>
      EVENTS.filter((r) => rules.find(([n]) => n === name)![1].match!(toEngineEvent(r, 0))).map(
        (r) => r.eventID,
      );
    expect(match('quote')).toEqual(['quote']);
    expect(match('percent')).toEqual(['percent']);
    expect(match('like metacharacters')).toEqual(['like-a', 'like-c']);
    // JavaScript folds İ to i̇ (i + combining dot): the plain-ASCII "istanbul" is not a match.
    expect(match('case folding')).toEqual(['istanbul']);
  });

  it('a condition node kind the compiler does not know narrows by the rule’s event names', async () => {
    const rule: CompiledRule = {
      ...ownRule('future', { match: { eventName: 'RunInstances' } }),
      condition: { kind: 'inList', field: 'awsRegion', list: 'approved_regions' } as never,
      eventNames: new Set(['runinstances']),
    };
    const [pushed] = eventPushdown([rule]).rules;
    expect(pushed!.notes.join(' ')).toMatch(/node kind 'inList' is not known/);
    const sql = toSql(over(pushed!.filter, { rows }));
    expect(sql.text).toContain('lower(eventname) IN (?)');
    expect(sql.params).toEqual(['runinstances']);
  });
});

describe('Athena source limits', () => {
  let endpoint: AwsEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    vi.unstubAllEnvs();
  });
  const base = {
    region: 'us-east-1',
    database: 'security',
    table: 'cloudtrail_logs',
    pollInitialMs: 10,
    pollMaxMs: 40,
  };
  const day = { since: new Date('2023-07-10T00:00:00Z'), until: new Date('2023-07-11T00:00:00Z') };
  const drain = async (source: ReturnType<typeof createAthenaSource>, signal?: AbortSignal) => {
    for await (const _ of source.read(day, signal ? { signal } : {})) {
      // reading
    }
  };

  it('refuses queries once the daily byte budget is spent, and says what to do', async () => {
    endpoint = await startAwsEndpoint({ records: fixtureRecords });
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const source = createAthenaSource({ ...base, workgroup: 'budget-test', dailyByteBudget: 1000 });
    await drain(source);
    const err = await drain(source).catch((e) => e);
    expect(err).toMatchObject({ kind: 'budget' });
    expect(err.message).toMatch(/daily Athena byte budget of 1000 B is reached/);
    expect(err.hint).toContain('CARTOGRAPHER_ATHENA_DAILY_BUDGET_GB');
    expect(endpoint.calls('StartQueryExecution')).toHaveLength(1);
  });

  it('runs at most the configured number of queries at once', async () => {
    endpoint = await startAwsEndpoint({ records: fixtureRecords, athena: { hang: true } });
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const source = createAthenaSource({ ...base, workgroup: 'concurrency-test', maxConcurrentQueries: 2 });
    const stop = new AbortController();
    const runs = [1, 2, 3, 4].map(() => drain(source, stop.signal).catch((e) => e));
    await vi.waitFor(() => expect(endpoint!.calls('GetQueryExecution').length).toBeGreaterThan(4));
    expect(endpoint.calls('StartQueryExecution')).toHaveLength(2);
    stop.abort(new Error('test over'));
    await Promise.all(runs);
    expect(endpoint.calls('StartQueryExecution')).toHaveLength(2);
    expect(endpoint.calls('StopQueryExecution')).toHaveLength(2);
  });

  it('a scheduler that stops cancels the scan’s running query', async () => {
    endpoint = await startAwsEndpoint({ records: fixtureRecords, athena: { hang: true } });
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const source = createAthenaSource({ ...base, workgroup: 'shutdown-test' });
    const state = openSchedulerState(':memory:');
    const scheduler = createScheduler({
      config: loadSchedulerConfig({ CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS', CARTOGRAPHER_SCHEDULE: 'off' }),
      state,
      sourceName: 'athena',
      source: async () => source,
      stages: async () => ({}),
      outbox: { post: async () => '1.0', find: async () => undefined },
      logger: pino({ level: 'silent' }),
      clock: manualClock(Date.parse('2023-07-10T12:30:00Z')),
    });
    const scan = scheduler.scanNow('test');
    await vi.waitFor(() => expect(endpoint!.calls('GetQueryExecution').length).toBeGreaterThan(1));
    await scheduler.stop();
    await scan;
    const started = endpoint.calls('StartQueryExecution');
    expect(started).toHaveLength(1);
    const id = endpoint.calls('GetQueryExecution')[0]!.body.QueryExecutionId;
    expect(endpoint.calls('StopQueryExecution').map((c) => c.body.QueryExecutionId)).toEqual([id]);
    expect(await state.getWatermark('athena/all')).toBeUndefined();
    await state.close();
  });
});
