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
import { concatAll, over, param, Sql, toSql, under } from '../../../adapters/aws/athena-filter-sql.ts';
import { mergeRanges, qualifyingGroups } from '../../../adapters/aws/athena-scan.ts';
import { groupable, groupExpr, scanStatement } from '../../../adapters/aws/athena-scan-sql.ts';
import { createAthenaSource } from '../../../adapters/aws/athena-source.ts';
import { sqlString } from '../../../adapters/aws/athena-sql.ts';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { EMPTY_ATTACK_TABLE } from '../../../engine/attack.ts';
import { compileAllowList } from '../../../engine/detections/allowlist.ts';
import type { CompiledRule } from '../../../engine/detections/compiled-rule.ts';
import type { CompileContext } from '../../../engine/detections/condition.ts';
import { ContextListSchema, compileList } from '../../../engine/detections/context.ts';
import { createRuleDetector } from '../../../engine/detections/detector.ts';
import { eventPushdown } from '../../../engine/detections/pushdown.ts';
import { EventRuleSchema, ThresholdRuleSchema } from '../../../engine/detections/rule-schema.ts';
import { compileSigmaRule } from '../../../engine/detections/sigma.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { createEnricherFactory } from '../../../enrichment/index.ts';
import { DuckAthena } from '../../support/athena-duckdb.ts';
import { type AwsEndpoint, startAwsEndpoint, TEST_ATHENA_SOURCE } from '../../support/aws-endpoint.ts';
import { fixtureRecords } from '../../support/aws-fixtures.ts';
import { testRule } from '../../support/detection-rules.ts';
import { s3Read } from '../../support/records.ts';

const TABLE = { catalog: 'AwsDataCatalog', database: 'security', table: 'cloudtrail_logs' };

function event(id: string, fields: Partial<CloudTrailRecord> & Record<string, unknown>): CloudTrailRecord {
  return s3Read({ eventID: id, ...fields });
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

/** The Athena push-down cases: low rules with no failure severity and nothing shown, ids made from their names. */
const PLAIN = { description: 'test rule', severity: 'low' };
const ownRule = (name: string, body: Record<string, unknown>, ctx?: CompileContext): CompiledRule =>
  testRule(EventRuleSchema, `test.${name.replace(/[^a-z]+/g, '-')}`, body, {
    title: name,
    defaults: PLAIN,
    ctx,
  });

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
    ['sigma wildcards', compileSigmaRule(SIGMA, 'sigma.yml', EMPTY_ATTACK_TABLE)] as const,
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

/** Roles assumed by a service, named in the JSON text of requestParameters: own account, others, odd shapes. */
function assumed(id: string, roleArn: unknown, fields: Record<string, unknown> = {}): CloudTrailRecord {
  const r = event(id, {
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com', accountId: '111111111111' },
    requestParameters: { roleArn, roleSessionName: 's' },
    ...fields,
  });
  if (fields.recipientAccountId === null) delete (r as Record<string, unknown>).recipientAccountId;
  return r;
}

const ACCOUNT_EVENTS: CloudTrailRecord[] = [
  assumed('own', 'arn:aws:iam::111111111111:role/app'),
  assumed('own-quote', "arn:aws:iam::111111111111:role/o'quote%_\\"),
  assumed('own-number', '111111111111'),
  assumed('other', 'arn:aws:iam::222222222222:role/app'),
  assumed('other-number', '222222222222'),
  // accountOf pads short account numbers: the same account for Node, not sure for SQL (kept, decided in Node).
  assumed('padded', 'arn:aws:iam::12345678901:role/app', { recipientAccountId: '012345678901' }),
  assumed('array', ['arn:aws:iam::111111111111:role/a', 'arn:aws:iam::222222222222:role/b']),
  assumed('object', { arn: 'arn:aws:iam::222222222222:role/app' }),
  assumed('fullwidth', 'arn:aws:iam::１１１１１１１１１１１１:role/app'),
  // No recipientAccountId: Node reads the caller's account for otherAccountThan.
  assumed('no-recipient', 'arn:aws:iam::111111111111:role/app', { recipientAccountId: null }),
  // The caller's account differs from the recipient's: another account than the recipient, but not unknown.
  assumed('caller-account', 'arn:aws:iam::222222222222:role/app', {
    userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com', accountId: '222222222222' },
  }),
];

describe('accounts named in a field, as SQL', async () => {
  const duck = await DuckAthena.create(ACCOUNT_EVENTS, TABLE);
  const rows = new Sql('FROM cloudtrail WHERE TRUE');
  const ids = async (pred: Sql) => {
    const out = await duck.run(`SELECT eventid ${rows.text} AND (${pred.text})`, pred.params.map(sqlString));
    return out.rows.map((r) => r[0]).sort();
  };
  const base = [
    { field: 'eventName', equals: 'AssumeRole' },
    { field: 'userIdentity.type', equals: 'AWSService' },
  ];
  const rules = [
    [
      'other account',
      ownRule('other', {
        where: {
          all: [...base, { field: 'requestParameters.roleArn', otherAccountThan: 'recipientAccountId' }],
        },
      }),
    ],
    [
      'unknown account',
      ownRule('unknown', {
        where: { all: [...base, { field: 'requestParameters.roleArn', unknownAccount: true }] },
      }),
    ],
    [
      'not another account',
      ownRule('not-other', {
        where: {
          all: [
            ...base,
            { not: { field: 'requestParameters.roleArn', otherAccountThan: 'recipientAccountId' } },
          ],
        },
      }),
    ],
  ] as const;
  const matching = (rule: CompiledRule) =>
    ACCOUNT_EVENTS.filter((r) => rule.match!(toEngineEvent(r, 0)))
      .map((r) => r.eventID)
      .sort();

  it.each(rules)('%s: keeps every matching event', async (_name, rule) => {
    const [pushed] = eventPushdown([rule]).rules;
    const wide = toSql(over(pushed!.filter, { rows }));
    const kept = await ids(wide);
    for (const id of matching(rule)) expect(kept, `kept ${id}`).toContain(id);
    for (const id of await ids(toSql(under(pushed!.filter, { rows })))) expect(matching(rule)).toContain(id);
    expect(wide.text).not.toContain('111111111111');
  });

  it('leaves out the roles SQL is sure are in the event’s own account', async () => {
    const [other, unknown] = [rules[0][1], rules[1][1]];
    expect(matching(other)).toEqual(['array', 'caller-account', 'other', 'other-number']);
    expect(matching(unknown)).toEqual(['array', 'other', 'other-number']);
    const kept = async (rule: CompiledRule) =>
      ids(toSql(over(eventPushdown([rule]).rules[0]!.filter, { rows })));
    // Sure (one value, twelve digits on both sides, the same): out. Unsure (padded, array, object, no recipient): in.
    expect(await kept(other)).toEqual(
      [
        'array',
        'caller-account',
        'fullwidth',
        'no-recipient',
        'object',
        'other',
        'other-number',
        'padded',
      ].sort(),
    );
    expect(await kept(unknown)).toEqual(
      ['array', 'fullwidth', 'object', 'other', 'other-number', 'padded'].sort(),
    );
  });
});

const LIST_EVENTS: CloudTrailRecord[] = [
  event('v4-in', { sourceIPAddress: '10.1.16.5' }),
  event('v4-in-edge', { sourceIPAddress: '10.1.31.255' }),
  event('v4-out', { sourceIPAddress: '10.1.32.5' }),
  event('v4-prefix-trap', { sourceIPAddress: '10.1.160.5' }),
  event('v4-leading-zero', { sourceIPAddress: '010.1.16.5' }),
  event('v4-bad-octet', { sourceIPAddress: '10.1.16.500' }),
  event('v4-host', { sourceIPAddress: '192.0.2.66' }),
  event('v6-in', { sourceIPAddress: '2001:DB8:0:0::1' }),
  event('v6-mapped', { sourceIPAddress: '::ffff:10.1.16.5' }),
  event('not-an-address', { sourceIPAddress: 'AWS Internal' }),
  event('expired-ioc', { sourceIPAddress: '198.51.100.7' }),
  event('live-ioc', { sourceIPAddress: '198.51.100.8' }),
  event('region-approved', { awsRegion: 'eu-west-1' }),
  event('region-other', { awsRegion: 'ap-east-2' }),
  event('region-upper', { awsRegion: 'EU-WEST-1' }),
  event('role-glass', {
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    requestParameters: { roleArn: 'arn:aws:iam::111111111111:role/team-Break-Glass-1' },
  }),
  event('role-other', {
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    requestParameters: { roleArn: 'arn:aws:iam::111111111111:role/breakglass' },
  }),
  event('role-quote', {
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    requestParameters: { roleArn: "arn:aws:iam::111111111111:role/o'break-glass" },
  }),
  event('acct-bare', { userIdentity: { type: 'IAMUser', accountId: '000000000000', userName: 'x' } }),
  event('acct-arn', {
    eventSource: 'rds.amazonaws.com',
    eventName: 'ModifyDBSnapshotAttribute',
    requestParameters: { attributeName: 'restore', valuesToAdd: ['arn:aws:iam::000000000000:root'] },
  }),
  event('acct-arn-later-segment', {
    eventSource: 'rds.amazonaws.com',
    eventName: 'ModifyDBSnapshotAttribute',
    requestParameters: {
      attributeName: 'restore',
      valuesToAdd: ['arn:aws:iam::111111111111:role/000000000000'],
    },
  }),
  event('acct-policy', {
    eventSource: 'iam.amazonaws.com',
    eventName: 'UpdateAssumeRolePolicy',
    requestParameters: {
      roleName: 'r',
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    },
  }),
  event('acct-policy-escaped', {
    eventSource: 'iam.amazonaws.com',
    eventName: 'UpdateAssumeRolePolicy',
    requestParameters: {
      roleName: 'r',
      policyDocument:
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::\\u0030\\u0030\\u0030000000000:root"},"Action":"sts:AssumeRole"}]}',
    },
  }),
];

function contextList(name: string, body: Record<string, unknown>) {
  return [
    name,
    compileList(name, ContextListSchema.parse({ description: name, owner: 'test', ...body })),
  ] as const;
}

const LISTS = new Map([
  contextList('nets', { kind: 'cidr', entries: ['10.1.16.0/20', '192.0.2.66', '2001:db8::/32'] }),
  contextList('iocs', {
    kind: 'cidr',
    entries: [
      { value: '198.51.100.7', expires: '2026-01-05T09:00:00Z' },
      { value: '198.51.100.8', expires: '2030-01-01' },
    ],
  }),
  contextList('regions', { kind: 'text', entries: ['us-east-1', 'eu-west-1'] }),
  contextList('none', { kind: 'text', entries: [] }),
  contextList('roles', { kind: 'glob', entries: ['arn:aws:iam::*:role/*break-glass*'] }),
  contextList('accounts', { kind: 'account', entries: ['000000000000'] }),
]);

const LIST_RULES: [string, Record<string, unknown>][] = [
  ['cidr', { where: { field: 'sourceIPAddress', inList: 'nets' } }],
  ['not in cidr', { where: { not: { field: 'sourceIPAddress', inList: 'nets' } } }],
  ['expiring entries', { where: { field: 'sourceIPAddress', inList: 'iocs' } }],
  ['not in expiring', { where: { not: { field: 'sourceIPAddress', inList: 'iocs' } } }],
  ['notInList text', { where: { field: 'awsRegion', notInList: 'regions' } }],
  ['notInList empty', { where: { field: 'awsRegion', notInList: 'none' } }],
  ['glob on a JSON path', { where: { field: 'requestParameters.roleArn', inList: 'roles' } }],
  ['account on a column', { where: { field: 'userIdentity.accountId', inList: 'accounts' } }],
  ['account on a JSON path', { where: { field: 'requestParameters.valuesToAdd', inList: 'accounts' } }],
  [
    'account in a policy',
    { where: { field: 'enrichment.policy.crossAccountPrincipals', inList: 'accounts' } },
  ],
];

describe('org-context lists as SQL', async () => {
  const duck = await DuckAthena.create(LIST_EVENTS, TABLE);
  const rows = new Sql('FROM cloudtrail WHERE TRUE');
  const ids = async (pred: Sql) => {
    const out = await duck.run(`SELECT eventid ${rows.text} AND (${pred.text})`, pred.params.map(sqlString));
    return out.rows.map((r) => r[0]).sort();
  };
  const enrichers = await createEnricherFactory();
  const ctx = { knownAccounts: new Set<string>(), lists: LISTS };
  const matchOf = (rule: CompiledRule) => {
    const enricher = enrichers();
    return LIST_EVENTS.filter((r) => {
      const e = toEngineEvent(r, 0);
      enricher.enrich(e);
      return rule.match!(e);
    })
      .map((r) => r.eventID)
      .sort();
  };
  const rules = LIST_RULES.map(([id, body]) => [id, ownRule(id, body, ctx)] as const);

  it.each(rules)(
    '%s: keeps every matching event, and only them where the list is exact',
    async (_n, rule) => {
      const [pushed] = eventPushdown([rule], enrichers().describeField).rules;
      const matching = matchOf(rule);
      const widened = new Set<string>();
      const kept = await ids(toSql(over(pushed!.filter, { rows, widened })));
      for (const id of matching) expect(kept, `kept ${id}`).toContain(id);
      for (const id of await ids(toSql(under(pushed!.filter, { rows }))))
        expect(matching, `under ${id}`).toContain(id);
      if (pushed!.notes.length === 0 && widened.size === 0) expect(kept).toEqual(matching);
    },
  );

  it('the lists hold where they should', () => {
    const m = (name: string) => matchOf(rules.find(([n]) => n === name)![1]);
    expect(m('cidr')).toEqual(['v4-host', 'v4-in', 'v4-in-edge', 'v6-in']);
    expect(m('expiring entries')).toEqual(['live-ioc']);
    expect(m('notInList text')).toEqual(['region-other']);
    expect(m('notInList empty')).toEqual([]);
    expect(m('glob on a JSON path')).toEqual(['role-glass', 'role-quote']);
    expect(m('account on a column')).toEqual(['acct-bare']);
    expect(m('account on a JSON path')).toEqual(['acct-arn']);
    expect(m('account in a policy')).toEqual(['acct-policy', 'acct-policy-escaped']);
  });

  it('exact lists are pushed down exactly; expiring entries, IPv6 ranges and enrichment facts are wider', () => {
    const notes = (name: string) =>
      eventPushdown([rules.find(([n]) => n === name)![1]], enrichers().describeField).rules[0]!.notes;
    expect(notes('notInList text')).toEqual([]);
    expect(notes('account on a column')).toEqual([]);
    expect(notes('expiring entries').join(' ')).toMatch(/expire/);
    expect(notes('cidr').join(' ')).toMatch(/IPv6/);
    expect(notes('account in a policy').join(' ')).toMatch(/policy facts/);
  });
});

describe('Sigma aggregations as SQL groups', () => {
  const sigma = (condition: string) => `title: listing burst
id: 9c6c1f5a-0000-4000-8000-00000000000${condition.includes(' by ') ? 2 : 3}
logsource: { product: aws, service: cloudtrail }
detection:
  selection:
    eventName|startswith: 'List'
  timeframe: 10m
  condition: ${condition}
level: low
`;
  it('group-by fields (or none: one group) are counted in SQL, not fetched event by event', () => {
    for (const [condition, expr] of [
      ['selection | count() by sourceIPAddress > 5', 'sourceipaddress'],
      ['selection | count() > 50', "'*'"],
    ] as const) {
      const [pushed] = eventPushdown([
        compileSigmaRule(sigma(condition), 'sigma.yml', EMPTY_ATTACK_TABLE),
      ]).rules;
      expect(groupable(pushed!)).toBe(true);
      expect(groupExpr(pushed!.threshold!.groupBy)).toBe(expr);
      expect(pushed!.threshold!.acrossSessions).toBe(true);
    }
  });
});

describe('distinct thresholds counted in SQL', async () => {
  // 25 distinct List calls within 10 min. alice repeats the same 15 names in two adjacent 10-minute buckets (30 if
  // the buckets were added up, 15 in any window); bob makes 13 names and then 13 others, 26 within 10 minutes.
  const at = (minute: number, second = 0) =>
    `${new Date(Date.parse('2026-01-05T10:00:00Z') + minute * 60_000 + second * 1000).toISOString().slice(0, 19)}Z`;
  const list = (who: string, n: number, time: string, name: string) =>
    event(`${who}-${n}`, {
      ...user(who),
      eventSource: 'iam.amazonaws.com',
      eventName: name,
      eventTime: time,
    });
  const records = [
    ...Array.from({ length: 15 }, (_, i) => list('alice', i, at(1, i * 30), `ListThing${i}`)),
    ...Array.from({ length: 15 }, (_, i) => list('alice', 15 + i, at(11, i * 30), `ListThing${i}`)),
    ...Array.from({ length: 13 }, (_, i) =>
      list('bob', i, at(5 + Math.floor(i / 3), (i % 3) * 15), `ListA${i}`),
    ),
    ...Array.from({ length: 13 }, (_, i) =>
      list('bob', 13 + i, at(10 + Math.floor(i / 3), (i % 3) * 15), `ListB${i}`),
    ),
  ];
  const rule = testRule(
    ThresholdRuleSchema,
    'test.broad',
    {
      type: 'threshold',
      count: 25,
      windowMinutes: 10,
      distinct: 'eventName',
      where: { field: 'eventName', regex: '^List' },
    },
    { title: 'broad', defaults: PLAIN },
  );
  const duck = await DuckAthena.create(records, TABLE);

  it('qualify only groups whose values reach the count within two adjacent buckets together', async () => {
    const pushdown = eventPushdown([rule]);
    const { statement, thresholds } = scanStatement({
      table: { ...TABLE, style: 'projection' },
      scope: { since: new Date(at(0)), until: new Date(at(30)), accounts: [], regions: [] },
      pushdown,
    });
    const out = await duck.run(statement.sql, statement.params.map(sqlString));
    const rows = out.rows.map((r) => Object.fromEntries(out.columns.map((c, i) => [c, r[i] ?? undefined])));
    const [wanted] = qualifyingGroups(rows, thresholds);
    expect(wanted?.groups.map((g) => g.group)).toEqual(['arn:aws:iam::111111111111:user/bob']);
    // Every event of bob's burst lies in the ranges fetched next.
    const ranges = wanted!.groups[0]!.ranges!;
    for (const r of records.filter((x) => x.eventID!.startsWith('bob')))
      expect(
        ranges.some(([from, to]) => r.eventTime >= from && r.eventTime < to),
        r.eventTime,
      ).toBe(true);
    // The detector agrees: bob fires, alice does not.
    const detector = createRuleDetector([rule], compileAllowList());
    const fired = (who: string) => {
      const events = records.filter((x) => x.eventID!.startsWith(who)).map((x, i) => toEngineEvent(x, i));
      const ctx = {
        key: who,
        kind: 'unknown' as const,
        principal: {},
        accessKeyIds: [],
        sourceIps: [],
        userAgents: [],
        regions: [],
      };
      return detector.detect(ctx, events, []).length;
    };
    expect([fired('alice'), fired('bob')]).toEqual([0, 1]);
  });
});

describe('group ranges past the parameter limit', () => {
  it('are merged across their smallest gaps: wider, never narrower', () => {
    const r = (a: string, b: string): [string, string] => [`2026-01-05T${a}:00Z`, `2026-01-05T${b}:00Z`];
    const ranges = [
      r('01:00', '01:20'),
      r('01:30', '01:50'),
      r('05:00', '05:20'),
      r('05:25', '05:40'),
      r('09:00', '09:10'),
    ];
    expect(mergeRanges(ranges, 5)).toEqual(ranges);
    expect(mergeRanges(ranges, 3)).toEqual([r('01:00', '01:50'), r('05:00', '05:40'), r('09:00', '09:10')]);
    expect(mergeRanges(ranges, 1)).toEqual([r('01:00', '09:10')]);
  });
});

describe('many counted rules’ hit sets', () => {
  it('are one string of flat concat calls, each within Trino’s 254 arguments, equal to the parts in order', async () => {
    const parts = Array.from({ length: 260 }, (_, i) =>
      Sql.join(['(CASE WHEN ', param(`v${i}`), ` <> '' THEN ',${i}' ELSE '' END)`]),
    );
    const joined = concatAll(parts);
    expect(joined.params).toEqual(parts.map((p) => p.params[0]));
    expect(joined.text).not.toContain('||');
    // Top-level arguments of every concat call.
    const calls: number[] = [];
    const stack: number[] = [];
    for (let i = 0; i < joined.text.length; i++) {
      if (joined.text.startsWith('concat(', i)) {
        stack.push(calls.length);
        calls.push(1);
        i += 'concat('.length - 1;
        stack.push(-1);
      } else if (joined.text[i] === '(') stack.push(-2);
      else if (joined.text[i] === ')') {
        if (stack.pop() === -1) stack.pop();
      } else if (joined.text[i] === ',' && stack.at(-1) === -1) calls[stack.at(-2)!]! += 1;
    }
    expect(calls.length).toBeGreaterThan(1);
    expect(Math.max(...calls)).toBeLessThanOrEqual(254);
    const duck = await DuckAthena.create([], TABLE);
    try {
      const out = await duck.run(
        `SELECT ${joined.text} AS s`,
        joined.params.map((v) => `'${v}'`),
      );
      expect(out.rows[0]?.[0]).toBe(parts.map((_, i) => `,${i}`).join(''));
    } finally {
      duck.close();
    }
  });
});

describe('Athena source limits', () => {
  let endpoint: AwsEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    vi.unstubAllEnvs();
  });
  const base = { ...TEST_ATHENA_SOURCE, pollMaxMs: 40 };
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
