/**
 * Panther-style rule test cases (`{rule_id, test_name, expected, log}` per JSON line), each scanned ON ITS OWN
 * through the real pipeline (sessions, enrichment, detections) with a detector that has seen no other case.
 *
 *   positives: flagged when any finding is raised (any severity)
 *   negatives: alarmed when a finding above info is raised
 *
 * Used by test/engine/detections/coverage.test.ts on the shared set, and by hand on a hold-out set kept outside the
 * repository (`node bin/run-ts.js test/support/panther-eval.ts FILE.jsonl…`).
 */
import { readFileSync } from 'node:fs';
import type { CartographerDetector } from '../../engine/detections/index.ts';
import { checkRecord } from '../../engine/ingest/record-check.ts';
import type { Finding, Severity } from '../../engine/model.ts';
import { analyze } from '../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { SourceItem } from '../../engine/source.ts';
import type { Enricher } from '../../engine/stages.ts';

export interface PantherCase {
  rule_id: string;
  test_name: string;
  expected: boolean;
  log: Record<string, unknown>;
  mocks?: unknown;
}

export interface CaseResult {
  ruleId: string;
  test: string;
  expected: boolean;
  flagged: boolean;
  alarmed: boolean;
  worst?: Severity;
  /** The record needed the coercions below to be read (ingestion of such variants belongs to #16). */
  coerced?: string;
  findings: string[];
}

export const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

export function readCases(files: string[]): PantherCase[] {
  return files.flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as PantherCase),
  );
}

const STRING_FIELDS = ['sessionCredentialFromConsole', 'eventVersion', 'eventID', 'recipientAccountId'];

/** CloudTrail's key spellings, for records exported with lower-cased keys (Athena/Glue style). */
const KEYS = [
  'eventVersion',
  'userIdentity',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'requestID',
  'eventID',
  'readOnly',
  'eventType',
  'managementEvent',
  'recipientAccountId',
  'eventCategory',
  'errorCode',
  'errorMessage',
  'sessionCredentialFromConsole',
  'vpcEndpointId',
  'tlsDetails',
  'resources',
  'sharedEventID',
  'serviceEventDetails',
  // userIdentity
  'principalId',
  'accountId',
  'accessKeyId',
  'userName',
  'sessionContext',
  'invokedBy',
  'sessionIssuer',
  'identityProvider',
  'mfaAuthenticated',
  'creationDate',
  'webIdFederationData',
  'sourceIdentity',
];
const BY_LOWER = new Map(KEYS.map((k) => [k.toLowerCase(), k]));

function recase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(recase);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = BY_LOWER.get(k) ?? k;
    out[key] = key === 'requestParameters' || key === 'responseElements' ? v : recase(v);
  }
  return out;
}

/**
 * Panther's hand-written logs use variants real trails do not (boolean `sessionCredentialFromConsole`, lower-cased
 * keys, `null` where a field is absent, Panther's `p_event_time` instead of `eventTime`, `"..."` as a time). The
 * minimal change that lets ingestion read them (the variants issue #16 makes ingestion accept at the edge),
 * reported per case; nothing else about the record changes.
 */
export function readable(log: Record<string, unknown>): { record: CloudTrailRecord; coerced?: string } {
  const first = checkRecord(log);
  if (first.ok) return { record: first.record };
  const notes: string[] = [];
  const lower = 'eventsource' in log || 'eventname' in log;
  const copy = (lower ? recase(log) : { ...log }) as Record<string, unknown>;
  if (lower) notes.push('lower-case keys');
  const id = copy.userIdentity as Record<string, unknown> | undefined;
  if (id && id.invokedBy === null) {
    copy.userIdentity = Object.fromEntries(Object.entries(id).filter(([k]) => k !== 'invokedBy'));
    notes.push('null invokedBy dropped');
  }
  const time = typeof copy.eventTime === 'string' ? copy.eventTime : undefined;
  if (!time || !/^\d{4}-\d\d-\d\d/.test(time)) {
    const p = copy.p_event_time;
    copy.eventTime = typeof p === 'string' && /^\d{4}-\d\d-\d\d/.test(p) ? p : '2024-01-01T00:00:00Z';
    notes.push(`eventTime ← ${String(copy.eventTime)}`);
  }
  for (const k of STRING_FIELDS) {
    if (typeof copy[k] === 'boolean' || typeof copy[k] === 'number') {
      copy[k] = String(copy[k]);
      notes.push(`${k} as text`);
    }
  }
  if (copy.resources === null) {
    delete copy.resources;
    notes.push('null resources dropped');
  }
  const second = checkRecord(copy);
  const record = (second.ok ? second.record : copy) as CloudTrailRecord;
  return { record, coerced: second.ok ? notes.join(', ') : `unreadable: ${second.reason}` };
}

async function* itemsOf(record: CloudTrailRecord): AsyncGenerator<SourceItem> {
  yield { kind: 'record', record, origin: { file: 'case', position: 1 } };
}

export async function evaluateCase(
  c: PantherCase,
  detector: CartographerDetector,
  enricher: () => Promise<Enricher>,
): Promise<CaseResult> {
  const { record, coerced } = readable(c.log);
  if (coerced?.startsWith('unreadable')) {
    // Ingestion would refuse it: no finding, said so.
    return {
      ruleId: c.rule_id,
      test: c.test_name,
      expected: c.expected,
      flagged: false,
      alarmed: false,
      coerced,
      findings: [],
    };
  }
  const analysis = analyze(itemsOf(record), { enricher: await enricher(), detector: detector.fresh() });
  const findings: Finding[] = [];
  for await (const s of analysis.sessions) findings.push(...s.findings);
  const worst = findings.reduce<Severity | undefined>(
    (w, f) => (!w || RANK[f.severity] > RANK[w] ? f.severity : w),
    undefined,
  );
  return {
    ruleId: c.rule_id,
    test: c.test_name,
    expected: c.expected,
    flagged: findings.length > 0,
    alarmed: findings.some((f) => RANK[f.severity] > RANK.info),
    ...(worst ? { worst } : {}),
    ...(coerced ? { coerced } : {}),
    findings: [...new Set(findings.map((f) => `${f.ruleId}:${f.severity}`))],
  };
}

export interface Summary {
  positives: number;
  flagged: number;
  recall: number;
  negatives: number;
  alarmed: number;
  falseAlarmRate: number;
}

export function summarise(results: CaseResult[]): Summary {
  const pos = results.filter((r) => r.expected);
  const neg = results.filter((r) => !r.expected);
  const flagged = pos.filter((r) => r.flagged).length;
  const alarmed = neg.filter((r) => r.alarmed).length;
  return {
    positives: pos.length,
    flagged,
    recall: pos.length ? flagged / pos.length : 1,
    negatives: neg.length,
    alarmed,
    falseAlarmRate: neg.length ? alarmed / neg.length : 0,
  };
}

export function formatSummary(name: string, s: Summary): string {
  return `${name}: ${s.flagged}/${s.positives} positives flagged (${(100 * s.recall).toFixed(1)}%), ${s.alarmed}/${s.negatives} negatives alarmed above info (${(100 * s.falseAlarmRate).toFixed(1)}%)`;
}
