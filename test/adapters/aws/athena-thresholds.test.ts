/**
 * Within-session threshold findings computed in SQL (adapters/aws/athena-burst-sql.ts), run for real in DuckDB behind
 * the local Athena endpoint: one row per finding instead of the matching events, and the same findings the detector
 * makes from the events (same ids, evidence ids, counts in words, severities). The day has the edges that matter: a
 * window reached exactly at its length, several events in the same second (the event order breaks the tie, so the
 * count reached is that of the first of them), distinct values with quotes, `%`, backslashes and Unicode, a
 * duplicated record, more burst events than a finding keeps ids of, an idle gap splitting one key into two sessions
 * (a finding in each), assumed-role sessions keyed by their creation date, distinct values read from JSON text, a
 * threshold counted across sessions (password spraying: one session per user), and groups that never qualify. A matching event without an eventID (its id is derived in Cartographer) or with a list
 * where the distinct value should be sends its rule back to reading events.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAthenaSource } from '../../../adapters/aws/athena-source.ts';
import { MAX_EVIDENCE_IDS } from '../../../engine/detections/finding.ts';
import { ThresholdRuleSchema } from '../../../engine/detections/rule-schema.ts';
import { digestJson } from '../../../engine/digest/build.ts';
import { produceDigest } from '../../../engine/digest/produce.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { type AwsEndpoint, startAwsEndpoint, TEST_ATHENA_SOURCE } from '../../support/aws-endpoint.ts';
import { ruleStages, testRule } from '../../support/detection-rules.ts';
import { s3Read } from '../../support/records.ts';

const DATE = '2026-01-05';

function event(id: string | undefined, at: string, fields: Record<string, unknown> = {}): CloudTrailRecord {
  return s3Read({ eventTime: `${DATE}T${at}Z`, ...(id === undefined ? {} : { eventID: id }), ...fields });
}

const user = (name: string) => ({
  userIdentity: {
    type: 'IAMUser',
    userName: name,
    arn: `arn:aws:iam::111111111111:user/${name}`,
    accountId: '111111111111',
    principalId: `AIDA${name.toUpperCase()}`,
    accessKeyId: `AKIA${name.toUpperCase()}`,
  },
});

const role = (session: string, created: string) => ({
  userIdentity: {
    type: 'AssumedRole',
    principalId: `AROADEPLOY:${session}`,
    arn: `arn:aws:sts::111111111111:assumed-role/deploy/${session}`,
    accountId: '111111111111',
    accessKeyId: `ASIA${session.toUpperCase()}`,
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111111111111:role/deploy', userName: 'deploy' },
      attributes: { creationDate: `${DATE}T${created}Z`, mfaAuthenticated: 'false' },
    },
  },
});

function day(): CloudTrailRecord[] {
  const out: CloudTrailRecord[] = [];
  const alice = user('alice');
  // Regions: the third distinct region exactly one window (60 s) after the first; two events in its second, the
  // first of them (event order: source, then name) a fourth region: the count reached is 3, not 4.
  out.push(
    event('a-1', '10:00:00', { ...alice, awsRegion: 'us-east-1' }),
    event('a-2', '10:00:30', { ...alice, awsRegion: 'eu-west-1' }),
    event('a-3', '10:01:00', { ...alice, awsRegion: 'us-west-2', eventSource: 'ec2.amazonaws.com' }),
    event('a-4', '10:01:00', { ...alice, awsRegion: 'ap-south-1', eventSource: 'dynamodb.amazonaws.com' }),
    event('a-5', '10:01:30', { ...alice, awsRegion: 'us-east-1' }),
    // Later in the same session: never reported again.
    event('a-6', '10:20:00', { ...alice, awsRegion: 'sa-east-1' }),
    event('a-7', '10:20:10', { ...alice, awsRegion: 'ca-central-1' }),
    event('a-8', '10:20:20', { ...alice, awsRegion: 'eu-north-1' }),
  );
  // After an idle gap (more than 30 min): a second session of the same key, with its own finding; the window here is
  // one millisecond too long (60.001 s between first and third region): it qualifies one event later.
  out.push(
    event('a2-1', '12:00:00', { ...alice, awsRegion: 'us-east-1' }),
    event('a2-2', '12:00:30', { ...alice, awsRegion: 'eu-west-1' }),
    s3Read({ ...alice, eventID: 'a2-3', eventTime: `${DATE}T12:01:00.001Z`, awsRegion: 'us-west-2' }),
    event('a2-4', '12:01:10', { ...alice, awsRegion: 'eu-central-1' }),
  );
  // Bob: two regions only, never qualifies.
  const bob = user('bob');
  out.push(
    event('b-1', '10:00:00', { ...bob, awsRegion: 'us-east-1' }),
    event('b-2', '10:00:10', { ...bob, awsRegion: 'eu-west-1' }),
  );
  // Carol: hostile user agents as distinct values (four needed within five minutes), one duplicated record.
  const carol = user('carol');
  const agents = ["O'Brien/1.0", '50%_off/2', 'tool C:\\temp\\', 'クライアント/3', '"quoted" agent'];
  agents.forEach((ua, i) => {
    out.push(
      event(`c-${i}`, `10:1${i}:00`, {
        ...carol,
        userAgent: ua,
        eventName: 'ListBuckets',
        awsRegion: 'eu-west-1',
      }),
    );
  });
  out.push(
    event('c-1', '10:11:00', {
      ...carol,
      userAgent: agents[1],
      eventName: 'ListBuckets',
      awsRegion: 'eu-west-1',
    }),
  );
  // Deploy role: two assumed-role sessions (creation dates), many writes: 130 PutObject in two minutes in the first
  // (more than a finding keeps ids of), three in the second (below the count).
  const first = role('run-1', '09:59:00');
  for (let i = 0; i < MAX_EVIDENCE_IDS + 30; i++) {
    const s = String(i % 60).padStart(2, '0');
    out.push(
      event(`d-${String(i).padStart(3, '0')}`, `10:0${Math.floor(i / 60)}:${s}`, {
        ...first,
        eventName: 'PutObject',
        ...(i % 9 === 0 ? { errorCode: 'AccessDenied' } : {}),
      }),
    );
  }
  // Erin: distinct bucket names read from the JSON text of requestParameters, hostile ones among them.
  const erin = user('erin');
  ["acme'logs", 'données-ü', '50%_bucket', 'back\\slash'].forEach((bucketName, i) => {
    out.push(
      event(`f-${i}`, `10:4${i}:00`, {
        ...erin,
        eventName: 'GetBucketAcl',
        requestParameters: { bucketName },
      }),
    );
  });
  // Password spraying from one address: one session per user, counted across sessions; u3 and u4 in one second.
  const login = (name: string) => ({
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    sourceIPAddress: '198.51.100.7',
    errorMessage: 'Failed authentication',
    responseElements: { ConsoleLogin: 'Failure' },
    userIdentity: { type: 'IAMUser', userName: name, accountId: '111111111111', principalId: `AIDA${name}` },
  });
  out.push(
    event('s-1', '11:00:00', login('u1')),
    event('s-2', '11:01:00', login('u2')),
    event('s-3', '11:02:00', login('u3')),
    event('s-4', '11:02:00', { ...login('u4'), eventSource: 'signin.amazonaws.com', requestID: 'r4' }),
    // u3's session goes on (no match): its burst reaches to here.
    event('s-3b', '11:04:00', { ...login('u3'), eventName: 'GetSigninToken', errorMessage: undefined }),
    event('s-5', '11:20:00', login('u5')),
  );
  const second = role('run-2', '10:29:00');
  for (let i = 0; i < 3; i++) out.push(event(`e-${i}`, `10:30:0${i}`, { ...second, eventName: 'PutObject' }));
  return out.sort((a, b) => a.eventTime.localeCompare(b.eventTime));
}

const rule = (id: string, body: Record<string, unknown>) =>
  testRule(ThresholdRuleSchema, id, { type: 'threshold', ...body });

const RULES = [
  rule('test.regions', {
    count: 3,
    windowMinutes: 1,
    distinct: 'awsRegion',
    where: { field: 'eventSource', exists: true },
  }),
  rule('test.agents', {
    count: 4,
    windowMinutes: 5,
    distinct: 'userAgent',
    where: { field: 'eventName', regex: '^(List|Describe)' },
  }),
  rule('test.writes', { count: 20, windowMinutes: 2, match: { eventName: 'PutObject' } }),
  rule('test.spray', {
    count: 3,
    windowMinutes: 5,
    groupBy: 'sourceIp',
    distinct: 'userIdentity.userName',
    acrossSessions: true,
    match: { eventName: 'ConsoleLogin' },
  }),
  rule('test.buckets', {
    count: 3,
    windowMinutes: 5,
    distinct: 'requestParameters.bucketName',
    match: { eventName: 'GetBucketAcl' },
  }),
];

const stages = () => ruleStages(RULES);

const options = { date: DATE, defaultDate: DATE, timeZone: 'UTC', baselineDays: 0 };
const athena = () => createAthenaSource(TEST_ATHENA_SOURCE);

async function compare(records: CloudTrailRecord[]) {
  const dir = mkdtempSync(join(tmpdir(), 'cartographer-thresholds-'));
  const endpoint: AwsEndpoint = await startAwsEndpoint({ records });
  try {
    writeFileSync(join(dir, 'day.json'), JSON.stringify({ Records: records }));
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const local = await produceDigest(createLocalSource([dir]), stages(), options);
    const grouped = await produceDigest(athena(), stages(), options);
    const queries = endpoint.calls('StartQueryExecution').map((c) => String(c.body.QueryString));
    return {
      local: digestJson(local.digest),
      grouped: digestJson(grouped.digest),
      stats: grouped.stats,
      queries,
    };
  } finally {
    vi.unstubAllEnvs();
    await endpoint.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

let records: CloudTrailRecord[];
beforeAll(() => {
  records = day();
});
afterAll(() => vi.unstubAllEnvs());

describe('within-session thresholds computed in SQL', () => {
  it('give the detector’s findings, one row each, without the matching events travelling', async () => {
    const { local, grouped, stats, queries } = await compare(records);
    expect(grouped).toEqual(local);
    const findings = local.sessions.flatMap((s) => s.findings);
    const regions = findings.filter((f) => f.ruleId === 'test.regions');
    // Alice's two sessions, one finding each; Bob none. The first: reached at a-4 (first of its second), count 3.
    expect(regions.map((f) => f.eventIds)).toEqual([
      ['a-1', 'a-2', 'a-4', 'a-3'],
      ['a2-2', 'a2-3', 'a2-4'],
    ]);
    expect(regions[0]!.explanation).toMatch(/^3\+ distinct awsRegion within 1 min \(threshold 3\)/);
    const agents = findings.find((f) => f.ruleId === 'test.agents')!;
    expect(agents.eventIds).toEqual(['c-0', 'c-1', 'c-2', 'c-3', 'c-4']);
    expect(agents.explanation).toMatch(/^4\+ distinct userAgent within 5 min/);
    const buckets = findings.find((f) => f.ruleId === 'test.buckets')!;
    expect(buckets.eventIds).toEqual(['f-0', 'f-1', 'f-2', 'f-3']);
    expect(buckets.explanation).toMatch(/^3\+ distinct requestParameters.bucketName within 5 min/);
    // Across sessions: u3's and u4's sessions (the count reached at their own events), not u1, u2 or u5.
    const spray = findings.filter((f) => f.ruleId === 'test.spray');
    expect(spray.map((f) => f.eventIds)).toEqual([
      ['s-1', 's-2', 's-3', 's-4'],
      ['s-1', 's-2', 's-3', 's-4'],
    ]);
    expect(spray[0]!.explanation).toMatch(
      /^3\+ distinct userIdentity.userName within 5 min \(threshold 3, counting earlier sessions\)/,
    );
    const writes = findings.filter((f) => f.ruleId === 'test.writes');
    expect(writes).toHaveLength(1);
    expect(writes[0]!.eventIds).toHaveLength(MAX_EVIDENCE_IDS);
    expect(writes[0]!.explanation).toMatch(/^121 matching events within 2 min \(threshold 20\)/);
    // One row per finding; no matching event read.
    const kinds = stats?.rowsByKind ?? {};
    expect(kinds['threshold findings']).toBe(findings.length);
    expect(kinds['group events'] ?? 0).toBe(0);
    expect(kinds.events ?? 0).toBe(0);
    // Values are parameters, never SQL text.
    for (const q of queries)
      for (const v of ["O'Brien", 'クライアント', 'PutObject']) expect(q).not.toContain(v);
  });

  it('read the matching events instead for a rule with a match SQL cannot judge (no eventID, a list as distinct value)', async () => {
    const more = [
      ...records,
      // Bob's, in no finding: its derived id differs between a file and an Athena row (key order).
      event(undefined, '10:00:20', { ...user('bob'), awsRegion: 'us-east-1', requestID: 'no-id' }),
      // A list where a bucket name should be: the detector counts each element, SQL reads strings only.
      event('b-list', '10:00:30', {
        ...user('bob'),
        eventName: 'GetBucketAcl',
        requestParameters: { bucketName: ['one', 'two'] },
      }),
    ];
    const { local, grouped, stats } = await compare(
      more.sort((a, b) => a.eventTime.localeCompare(b.eventTime)),
    );
    expect(grouped).toEqual(local);
    const kinds = stats?.rowsByKind ?? {};
    // test.regions and test.buckets fell back to their events; the others are still one row per finding.
    expect(kinds['group events']).toBeGreaterThan(0);
    expect(kinds['threshold findings']).toBe(4);
  });
});
