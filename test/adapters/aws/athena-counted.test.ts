/**
 * Event rules counted in SQL ('h' rows of the scan statement, engine/grouped-findings.ts), run for real in DuckDB
 * behind the local Athena endpoint: the findings are the ones the detector makes from the events themselves (same
 * ids, evidence ids, counts, names, severities on failed calls), while the counted events do not travel. Hostile
 * values (quotes, `%`, `_`, backslashes, Unicode, case folding), events without an eventID, duplicated records and
 * more matches than a finding keeps ids of are part of the day. An allow-list that can silence a rule keeps that rule
 * out of the counting.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAthenaSource } from '../../../adapters/aws/athena-source.ts';
import { type CompiledAllowList, compileAllowList } from '../../../engine/detections/allowlist.ts';
import { MAX_EVIDENCE_IDS } from '../../../engine/detections/finding.ts';
import { pushdownOf } from '../../../engine/detections/pushdown.ts';
import { EventRuleSchema } from '../../../engine/detections/rule-schema.ts';
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

const bob = {
  userIdentity: {
    type: 'IAMUser',
    userName: "O'Brien",
    arn: "arn:aws:iam::111111111111:user/O'Brien",
    accountId: '111111111111',
    principalId: 'AIDABOB',
  },
};

/** A day of two people: a busy reader (more matches than a finding keeps), hostile values, failures, no ids. */
function day(): CloudTrailRecord[] {
  const out: CloudTrailRecord[] = [];
  for (let i = 0; i < MAX_EVIDENCE_IDS + 30; i++) {
    const s = String(i % 60).padStart(2, '0');
    const m = String(Math.floor(i / 60)).padStart(2, '0');
    out.push(
      event(
        `read-${String(i).padStart(3, '0')}`,
        `10:${m}:${s}`,
        i % 7 === 0 ? { eventName: 'HeadObject' } : {},
      ),
    );
  }
  // A record delivered twice.
  out.push(event('read-000', '10:00:00', { eventName: 'HeadObject' }));
  // No eventID: its id is derived from the record's text, which differs between a file and an Athena row (key
  // order), so it stays behind the first MAX_EVIDENCE_IDS here; it still counts.
  out.push(event(undefined, '10:02:30', { requestID: 'no-id-1' }));
  out.push(
    event('ua-percent', '10:05:00', { userAgent: '50%_off/1.0' }),
    event('ua-unicode', '10:05:01', { userAgent: 'client İSTANBUL edition' }),
    event('ua-ascii', '10:05:02', { userAgent: 'client istanbul edition' }),
    event('ua-backslash', '10:05:03', { userAgent: 'tool C:\\temp\\' }),
  );
  out.push(
    event('bob-1', '11:00:00', { ...bob, eventName: 'DeleteBucket', errorCode: 'AccessDenied' }),
    // The first event has no requestParameters, the next has: the finding shows the first one's (none).
    event('bob-2', '11:00:05', {
      ...bob,
      eventName: 'DeleteBucket',
      errorCode: 'AccessDenied',
      requestParameters: { bucketName: 'second-bucket' },
    }),
    event('bob-3', '11:30:00', { ...bob, userAgent: '日本語ユーザー', eventName: 'PutObject' }),
  );
  // Roles assumed: the role's ARN read from the JSON text of requestParameters (an empty one is none; an object
  // there is decided in Cartographer, not in SQL).
  const assume = (id: string, at: string, roleArn: unknown) =>
    event(id, at, {
      eventSource: 'sts.amazonaws.com',
      eventName: 'AssumeRole',
      requestParameters: { roleArn },
    });
  out.push(
    assume('role-1', '12:00:00', 'arn:aws:iam::111111111111:role/deploy'),
    assume('role-2', '12:00:01', ''),
    assume('role-3', '12:00:02', { arn: 'arn:aws:iam::111111111111:role/odd' }),
    assume('role-4', '12:00:03', "arn:aws:iam::111111111111:role/o'quote"),
  );
  // In time order, as CloudTrail files are (the local pipeline reads a file in order).
  return out.sort((a, b) => a.eventTime.localeCompare(b.eventTime));
}

const rule = (id: string, body: Record<string, unknown>) => testRule(EventRuleSchema, id, body);

const RULES = [
  rule('test.reads', { where: { field: 'eventName', in: ['GetObject', 'HeadObject'] } }),
  rule('test.percent', { where: { field: 'userAgent', contains: '50%_off' } }),
  rule('test.case-folding', { where: { field: 'userAgent', contains: 'ISTANBUL', ignoreCase: true } }),
  rule('test.backslash', { where: { field: 'userAgent', endsWith: 'C:\\temp\\' } }),
  rule('test.quote', { where: { field: 'userIdentity.userName', equals: "O'Brien" } }),
  rule('test.role-arn', {
    where: {
      all: [
        { field: 'eventName', equals: 'AssumeRole' },
        { field: 'requestParameters.roleArn', exists: true },
      ],
    },
    show: ['requestParameters.roleArn'],
  }),
  rule('test.denied-delete', {
    match: { eventName: 'DeleteBucket' },
    show: ['requestParameters.bucketName'],
  }),
];

const stages = (allow?: CompiledAllowList) => ruleStages(RULES, allow);

let dir: string;
let endpoint: AwsEndpoint;
const options = { date: DATE, defaultDate: DATE, timeZone: 'UTC', baselineDays: 0 };
const athena = () => createAthenaSource(TEST_ATHENA_SOURCE);

beforeAll(async () => {
  const records = day();
  dir = mkdtempSync(join(tmpdir(), 'cartographer-counted-'));
  writeFileSync(join(dir, 'day.json'), JSON.stringify({ Records: records }));
  endpoint = await startAwsEndpoint({ records });
  for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await endpoint?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('event rules counted in SQL', () => {
  it('give the findings the detector makes from the events, without the counted events travelling', async () => {
    expect(pushdownOf(stages()).countable).toEqual(RULES.map((r) => r.id));
    const local = await produceDigest(createLocalSource([dir]), stages(), options);
    const grouped = await produceDigest(athena(), stages(), options);
    const l = digestJson(local.digest);
    expect(digestJson(grouped.digest)).toEqual(l);
    const findings = l.sessions.flatMap((s) => s.findings);
    const reads = findings.find((f) => f.ruleId === 'test.reads')!;
    // More matches than a finding keeps (130 reads, the event without an id, 4 with hostile agents): the first
    // MAX_EVIDENCE_IDS ids in event order, the exact count in words.
    expect(reads.eventIds).toHaveLength(MAX_EVIDENCE_IDS);
    expect(reads.explanation).toMatch(/^135 events: HeadObject, GetObject by /);
    // Failed calls only: the rule's severity on error; the quote in the name is a value like any other.
    const denied = findings.find((f) => f.ruleId === 'test.denied-delete');
    expect(denied?.severity).toBe('low');
    expect(denied?.explanation).not.toContain('second-bucket');
    expect(findings.find((f) => f.ruleId === 'test.quote')?.explanation).toMatch(
      /^3 events: DeleteBucket, PutObject/,
    );
    for (const id of ['test.percent', 'test.backslash'])
      expect(findings.find((f) => f.ruleId === id)?.eventIds).toHaveLength(1);
    // JavaScript folds İ to i̇: only the ASCII spelling matches, decided in Cartographer for the Unicode one.
    expect(findings.find((f) => f.ruleId === 'test.case-folding')?.eventIds).toEqual(['ua-ascii']);
    // A key in JSON text: present and not empty in role-1, role-3 (an object, decided in Cartographer) and role-4.
    expect(findings.find((f) => f.ruleId === 'test.role-arn')?.eventIds).toEqual([
      'role-1',
      'role-3',
      'role-4',
    ]);
    // The counted events stayed in Athena: the event without an id, the Unicode ones and the object are all that
    // travelled.
    const kinds = grouped.stats?.rowsByKind ?? {};
    expect(kinds.counted).toBeGreaterThan(0);
    expect(kinds.events).toBeLessThanOrEqual(4);
    // Values are parameters, never SQL text.
    const scan = endpoint
      .calls('StartQueryExecution')
      .map((c) => String(c.body.QueryString))
      .find((q) => q.includes('h_set'))!;
    for (const value of ["O'Brien", '50%_off', 'ISTANBUL', 'C:\\temp']) expect(scan).not.toContain(value);
  });

  it('count per session and rule set, however many buckets the session spans', async () => {
    const carol = {
      userIdentity: {
        type: 'IAMUser',
        userName: 'carol',
        arn: 'arn:aws:iam::111111111111:user/carol',
        accountId: '111111111111',
        principalId: 'AIDACAROL',
      },
    };
    // One session of reads every 10 minutes from 13:00 to 14:30 (7 buckets of 15 minutes, gaps under the idle gap),
    // one read with a hostile agent (a second rule set), a failed one, then a second session after an hour.
    const records: CloudTrailRecord[] = [];
    for (let i = 0; i <= 9; i++) {
      const at = new Date(Date.parse(`${DATE}T13:00:00Z`) + i * 600_000).toISOString().slice(11, 19);
      records.push(event(`carol-${i}`, at, { ...carol, ...(i === 4 ? { userAgent: '50%_off/2' } : {}) }));
    }
    records.push(
      event('carol-failed', '13:21:00', { ...carol, eventName: 'HeadObject', errorCode: 'AccessDenied' }),
      event('carol-late-1', '15:30:00', carol),
      event('carol-late-2', '15:35:00', carol),
    );
    records.sort((a, b) => a.eventTime.localeCompare(b.eventTime));
    const own = mkdtempSync(join(tmpdir(), 'cartographer-counted-runs-'));
    const server = await startAwsEndpoint({ records });
    try {
      writeFileSync(join(own, 'day.json'), JSON.stringify({ Records: records }));
      for (const [k, v] of Object.entries(server.env)) vi.stubEnv(k, v);
      const local = await produceDigest(createLocalSource([own]), stages(), options);
      const grouped = await produceDigest(athena(), stages(), options);
      const l = digestJson(local.digest);
      expect(digestJson(grouped.digest)).toEqual(l);
      const reads = l.sessions.flatMap((s) => s.findings.filter((f) => f.ruleId === 'test.reads'));
      expect(reads.map((f) => f.eventIds.length)).toEqual([11, 2]);
      // Session one: {reads} and {reads, percent}; session two: {reads}. Not one group per bucket.
      expect(grouped.stats?.rowsByKind?.counted).toBe(3);
      expect(grouped.stats?.rowsByKind?.events ?? 0).toBe(0);
    } finally {
      for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
      await server.close();
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('an allow-list entry that can silence a rule keeps that rule out of the counting', async () => {
    const allow = compileAllowList({
      principals: [],
      ips: [],
      accounts: [],
      userAgents: [],
      knownAccounts: [],
      entries: [{ ruleId: 'test.reads', principal: 'alice', reason: 'known reader' }],
    });
    expect(pushdownOf(stages(allow)).countable).not.toContain('test.reads');
    const local = await produceDigest(createLocalSource([dir]), stages(allow), options);
    const grouped = await produceDigest(athena(), stages(allow), options);
    expect(digestJson(grouped.digest)).toEqual(digestJson(local.digest));
    const lists = compileAllowList({
      principals: ['bob*'],
      ips: [],
      accounts: [],
      userAgents: [],
      knownAccounts: [],
      entries: [],
    });
    expect(pushdownOf(stages(lists)).countable).toBeUndefined();
  });
});
