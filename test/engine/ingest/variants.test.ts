/**
 * The 2,900 real Invictus records re-written the way exporters write them (Athena and CloudTrail Lake
 * exports, EventBridge, Panther's normalised logs, SIEM forwarders, JSON Lines of `{"Records": …}`): every
 * record is kept, and the sessions and findings are exactly those of the originals.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStageFactory } from '../../../compose/stages.ts';
import { checkRecord } from '../../../engine/ingest/record-check.ts';
import { analyze, type SessionReport } from '../../../engine/pipeline.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import type { PipelineStages } from '../../../engine/stages.ts';

type Obj = Record<string, unknown>;
const DEMO = 'demo/invictus';
const originals: Obj[] = readdirSync(DEMO)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(readFileSync(join(DEMO, f), 'utf8')).Records);

/** Every column of Athena's CloudTrail table: an export has each one, NULL where the event lacks it. */
const ATHENA_COLUMNS = [
  'eventVersion',
  'userIdentity',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'requestID',
  'eventID',
  'readOnly',
  'resources',
  'eventType',
  'apiVersion',
  'managementEvent',
  'recipientAccountId',
  'serviceEventDetails',
  'sharedEventID',
  'vpcEndpointId',
  'eventCategory',
  'sessionCredentialFromConsole',
  'tlsDetails',
];
const JSON_TEXT_COLUMNS = new Set([
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'serviceEventDetails',
]);
const OPTIONAL_NULLS = ['errorCode', 'errorMessage', 'additionalEventData', 'resources', 'vpcEndpointId'];

function lowerKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(lowerKeys);
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase(), lowerKeys(x)]));
}

/** Athena (JSON export of `SELECT *`): lower-case keys, structs lower-cased, JSON columns as text, NULLs. */
function athena(r: Obj): Obj {
  const out: Obj = {};
  for (const c of ATHENA_COLUMNS) {
    const v = r[c];
    const text =
      v === undefined || v === null
        ? null
        : JSON_TEXT_COLUMNS.has(c)
          ? JSON.stringify(v)
          : typeof v === 'boolean'
            ? String(v)
            : lowerKeys(v);
    out[c.toLowerCase()] = text;
  }
  const u = out.useridentity as Obj;
  u.invokedby ??= null;
  u.username ??= null;
  return out;
}

/** Panther: its p_ fields, its timestamp spelling, booleans where CloudTrail has strings, nulls. */
function panther(r: Obj, i: number): Obj {
  const time = String(r.eventTime).replace('T', ' ').replace('Z', '.000000000');
  const out: Obj = { ...r, p_event_time: time, p_log_type: 'AWS.CloudTrail', p_row_id: `row${i}` };
  out.p_any_ip_addresses = [r.sourceIPAddress];
  if (i % 2 === 0) out.eventTime = undefined;
  else out.eventTime = time;
  if (r.sessionCredentialFromConsole !== undefined) out.sessionCredentialFromConsole = true;
  for (const k of OPTIONAL_NULLS) out[k] ??= null;
  const u = { ...(r.userIdentity as Obj) };
  u.invokedBy ??= null;
  out.userIdentity = u;
  return JSON.parse(JSON.stringify(out));
}

/** A SIEM forwarder: numbers for account ids and versions, booleans as text and back, epoch times. */
function siem(r: Obj, i: number): Obj {
  const out: Obj = JSON.parse(JSON.stringify(r));
  out.readOnly = String(r.readOnly);
  out.managementEvent = String(r.managementEvent).toUpperCase();
  out.recipientAccountId = Number(r.recipientAccountId);
  out.eventVersion = Number(r.eventVersion);
  if (i % 2 === 0) out.eventTime = Date.parse(String(r.eventTime)) / 1000;
  else {
    out['@timestamp'] = r.eventTime;
    out.eventTime = undefined;
  }
  const u = out.userIdentity as Obj;
  if (u.accountId) u.accountId = Number(u.accountId);
  const attrs = (u.sessionContext as Obj | undefined)?.attributes as Obj | undefined;
  if (attrs?.mfaAuthenticated) attrs.mfaAuthenticated = attrs.mfaAuthenticated === 'true';
  for (const k of OPTIONAL_NULLS) out[k] ??= null;
  return JSON.parse(JSON.stringify(out));
}

const eventBridge = (r: Obj, i: number): Obj => ({
  version: '0',
  id: `eb-${i}`,
  'detail-type': 'AWS API Call via CloudTrail',
  source: `aws.${String(r.eventSource).split('.')[0]}`,
  account: r.recipientAccountId,
  time: r.eventTime,
  region: r.awsRegion,
  resources: [],
  detail: r,
});

const lines = (values: unknown[]) => `${values.map((v) => JSON.stringify(v)).join('\n')}\n`;
/** Lines of 40 records, every fifth line a single record (`{"Records": {…}}`, not an array). */
function chunks<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; ) {
    const n = out.length % 5 === 4 ? 1 : 40;
    out.push(xs.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Each variant as a file of all 2,900 records, in the layout that exporter writes. */
const VARIANTS: Record<string, (rs: Obj[]) => string> = {
  'athena.jsonl': (rs) => lines(rs.map(athena)),
  'lake.json': (rs) =>
    JSON.stringify({
      QueryResultRows: rs.map((r) => [{ eventJson: JSON.stringify(r) }]),
      QueryStatus: 'FINISHED',
    }),
  'lake-rows.jsonl': (rs) => lines(rs.map((r) => ({ eventJson: JSON.stringify(r) }))),
  'eventbridge.jsonl': (rs) => lines(rs.map(eventBridge)),
  'panther.jsonl': (rs) => lines(rs.map(panther)),
  'siem.json': (rs) => JSON.stringify(rs.map(siem)),
  'records-lines.jsonl': (rs) =>
    lines(
      chunks(rs.map((r, i) => (i % 3 === 0 ? { ...r, errorCode: r.errorCode ?? null } : r))).map((b) =>
        b.length === 1 ? { Records: b[0] } : { Records: b },
      ),
    ),
};

const tmp = mkdtempSync(join(tmpdir(), 'cartographer-variants-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let stages: () => PipelineStages;
let baseline: { sessions: string[]; findings: string[] };

async function run(path: string) {
  const analysis = analyze(createLocalSource([path]).read({}), stages());
  const sessions: SessionReport[] = [];
  for await (const s of analysis.sessions) sessions.push(s);
  return {
    inputs: analysis.inputs,
    sessions: sessions.map((s) => JSON.stringify({ ...s, findings: undefined })),
    findings: sessions.flatMap((s) => s.findings.map((f) => JSON.stringify(f))).sort(),
  };
}

beforeAll(async () => {
  stages = await loadStageFactory();
  const b = await run(DEMO);
  baseline = { sessions: b.sessions, findings: b.findings };
}, 60_000);

describe('every real record shape is kept and analysed as the original', () => {
  it('the originals: 2,900 records, their sessions and findings', () => {
    expect(originals).toHaveLength(2900);
    expect(baseline.sessions.length).toBeGreaterThan(10);
    expect(baseline.findings.length).toBeGreaterThan(20);
  });

  it.each(Object.keys(VARIANTS))('%s: all 2,900 kept, same sessions and findings', async (name) => {
    const path = join(tmp, name);
    writeFileSync(path, VARIANTS[name]!(originals));
    const got = await run(path);
    expect(got.inputs.rejected).toEqual([]);
    expect(got.inputs.records).toBe(2900);
    expect(got.sessions).toEqual(baseline.sessions);
    expect(got.findings).toEqual(baseline.findings);
  });

  it('keeps every Panther CloudTrail rule test event that has a time and a name', () => {
    const rejected: string[] = [];
    let kept = 0;
    for (const f of ['panther_aws_cloudtrail_rules.jsonl', 'panther_standard_rules_cloudtrail.jsonl']) {
      const text = readFileSync(join('test/fixtures/panther-analysis-cloudtrail', f), 'utf8');
      for (const line of text.split('\n').filter(Boolean)) {
        const c = JSON.parse(line) as { test_name: string; log: Obj };
        const res = checkRecord(c.log);
        if (res.ok) kept++;
        else rejected.push(res.reason);
      }
    }
    // Hand-written test events without any time ("…", "redacted" or none at all) or name: the only ones
    // refused (55 of the 380 were refused before the normaliser, 29 of them expected to raise a finding).
    expect(kept).toBe(362);
    expect(rejected).toHaveLength(18);
    for (const reason of rejected)
      expect(reason).toMatch(
        /^(missing eventTime|missing eventName|eventTime is not a valid time|valid JSON but not CloudTrail)/,
      );
  });
});
