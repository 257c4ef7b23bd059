/**
 * The grouped scans of the Athena source (engine/source.ts `AggregatingSource`): statements from athena-scan-sql.ts,
 * run with athena-query.ts, rows read back into buckets, records, facts and threshold counts. Never silently partial:
 * more rows than the cap is a `capped` SourceError (the caller retries with a smaller range), and the query is stopped.
 */
import type { AthenaClient } from '@aws-sdk/client-athena';
import type { RulePushdown } from '../../engine/detections/pushdown.ts';
import { bucketRecord, GROUPED_INPUT } from '../../engine/sessions/buckets.ts';
import { sessionKeyOf } from '../../engine/sessions/session-key.ts';
import type {
  BucketIdentity,
  BurstHit,
  EvidenceKey,
  GroupedFacts,
  GroupedScan,
  GroupedScanRequest,
  GroupedScanStats,
  IdentityBucket,
  ReadOptions,
  RuleHits,
  SourceItem,
} from '../../engine/source.ts';
import { burstSelect } from './athena-burst-sql.ts';
import { type QuerySettings, startQuery } from './athena-query.ts';
import { rowToRecord } from './athena-rows.ts';
import {
  baselineStatement,
  type CollectedJoin,
  type CountedThreshold,
  deferredFilters,
  eventFilter,
  type GroupRanges,
  groupRowsStatement,
  IDENTITY_COLUMNS,
  type SessionRef,
  type Statement,
  scanStatement,
  sessionRowsStatement,
} from './athena-scan-sql.ts';
import type { AthenaTable, Scope } from './athena-sql.ts';
import { type ErrorContext, SourceError } from './errors.ts';

export interface ScanContext {
  client: () => AthenaClient;
  settings: QuerySettings;
  table: AthenaTable;
  ctx: ErrorContext;
  /** Rows a scan may bring into Node before it counts as too large (capped). */
  maxRows: number;
  /** Configured partition filters, used when a request names none. */
  accounts?: readonly string[];
  regions?: readonly string[];
}

/** What the scan statement's rows are, by `row_kind` (GroupedScanStats.rowsByKind). */
const ROW_KINDS: Record<string, string> = {
  e: 'events',
  h: 'counted',
  b: 'buckets',
  fr: 'facts',
  fs: 'facts',
  fn: 'facts',
  fu: 'facts',
  t: 'thresholds',
  u: 'thresholds',
  s: 'sequences',
  j: 'joins',
  z: 'thresholds',
};

/** A group list longer than this is not spelt out in SQL: the rule's matching events are read whole instead. */
const MAX_GROUP_PARAMS = 1000;

type Row = Record<string, string | undefined>;

interface Answer {
  rows: Row[];
  /** Whole-event rows as SourceItems (record or rejected). */
  events: SourceItem[];
  /** 'h' rows, with the first event they carry. */
  hits: { row: Row; record: SourceItem }[];
}

export async function groupedScan(
  s: ScanContext,
  request: GroupedScanRequest,
  options: ReadOptions = {},
): Promise<GroupedScan> {
  const scope = scopeOf(s, request);
  const { statement, thresholds, sequences, joins, counted, bursts } = scanStatement({
    table: s.table,
    scope,
    ...(request.pushdown ? { pushdown: request.pushdown } : {}),
    ...(request.bucketMs
      ? {
          bucketSeconds: Math.max(1, Math.floor(request.bucketMs / 1000)),
          idleGapSeconds: Math.floor((request.idleGapMs ?? 30 * 60_000) / 1000),
        }
      : {}),
    ...(request.facts ? { facts: true } : {}),
    ...(request.bursts === false ? { bursts: false } : {}),
  });
  const stats: GroupedScanStats = { queries: 0, bytesScanned: 0, costUsd: 0, rows: 0, eventRows: 0 };
  const first = await run(s, statement, stats, options, 'scan');
  const out: GroupedScan = { buckets: [], items: first.events, stats };
  for (const row of first.rows) {
    if (row.row_kind === 'b') out.buckets.push(readBucket(row));
  }
  if (counted.length) {
    out.counted = counted.map((r) => r.id);
    out.hits = first.hits.flatMap(({ row, record }) => readHits(row, record, counted, out.items));
  }
  if (request.facts) out.facts = factsOf(first.rows);
  const wanted = [...qualifyingGroups(first.rows, thresholds), ...qualifyingSequences(first.rows, sequences)];
  // Burst rules SQL cannot judge as Node would in this range: their matching events are read instead.
  const safe = safeBursts(first.rows, bursts);
  for (const rule of bursts) if (!safe.includes(rule)) wanted.push({ rule, groups: [], all: true });
  if (request.pushdown) {
    const deferred = { filters: deferredFilters(request.pushdown), joins: joinValues(first.rows, joins) };
    const returned = eventFilter(request.pushdown, counted);
    const idleGapMs = request.idleGapMs ?? 30 * 60_000;
    const findings = burstSelect(s.table, scope, safe, idleGapMs);
    const second = groupRowsStatement(s.table, scope, wanted, deferred, returned, findings);
    if (second) {
      const answer = await run(s, second, stats, options, 'group events');
      // One by one: a spread of a few hundred thousand rows overflows the call stack.
      for (const item of answer.events) out.items.push(item);
      if (safe.length) {
        out.burstRules = safe.map((r) => r.id);
        out.bursts = answer.hits.flatMap(({ row, record }) => readBurst(row, record, safe, out.items));
      }
    }
  }
  return out;
}

/**
 * The burst rules whose findings SQL computes as the detector would: every session bucket's SQL session key is
 * Node's own (else none), and no matching event of the rule lacks an eventID or has text SQL may judge otherwise.
 */
function safeBursts(rows: readonly Row[], bursts: readonly RulePushdown[]): RulePushdown[] {
  if (bursts.length === 0) return [];
  for (const r of rows) {
    if (r.row_kind !== 'b') continue;
    const key = sessionKeyOf(bucketRecord(readBucket(r)), GROUPED_INPUT);
    const min = r.r_smin ?? r.k_smin;
    const max = r.r_smax ?? r.k_smax;
    if (min !== key || max !== key) return [];
  }
  const unsafe = new Set<number>();
  for (const r of rows) {
    if (r.row_kind !== 'z') continue;
    for (const i of (r.z_set ?? '').split(',')) if (i !== '') unsafe.add(Number(i));
  }
  return bursts.filter((_, i) => !unsafe.has(i));
}

/** An 'r' row (one within-session threshold finding) as a BurstHit. */
function readBurst(
  row: Row,
  record: SourceItem,
  rules: readonly RulePushdown[],
  items: SourceItem[],
): BurstHit[] {
  if (record.kind !== 'record') {
    items.push(record);
    return [];
  }
  const rule = rules[Number(row.r_rule)];
  if (!rule) return [];
  const keys = JSON.parse(row.r_keys ?? '[]') as string[][];
  const other = Number(row.r_other ?? 0) > 0;
  return [
    {
      rule: rule.id,
      session: { key: row.r_skey ?? '', time: Number(row.r_stime) },
      ...(other
        ? { across: Number(row.r_earlier ?? 0) > 0 ? ('earlier' as const) : ('other' as const) }
        : {}),
      count: Number(row.r_n ?? 0),
      succeeded: Number(row.r_ok ?? 0),
      reached: Number(row.r_d ?? 0),
      first: keys.map(evidenceKey),
      record: record.record,
    },
  ];
}

export async function sessionEvents(
  s: ScanContext,
  sessions: { refs: unknown[]; first: number; last: number }[],
  scope: { accounts?: string[]; regions?: string[] },
  options: ReadOptions = {},
): Promise<{ items: SourceItem[]; stats: GroupedScanStats }> {
  const stats: GroupedScanStats = { queries: 0, bytesScanned: 0, costUsd: 0, rows: 0, eventRows: 0 };
  if (sessions.length === 0) return { items: [], stats };
  const since = sessions.reduce((m, x) => Math.min(m, x.first), Number.POSITIVE_INFINITY);
  const until = sessions.reduce((m, x) => Math.max(m, x.last), Number.NEGATIVE_INFINITY);
  const refs: SessionRef[] = sessions.map((x) => ({
    identities: x.refs as Record<string, string | null>[],
    first: iso(x.first),
    last: iso(x.last),
  }));
  const statement = sessionRowsStatement(
    s.table,
    scopeOf(s, { ...scope, since: new Date(since), until: new Date(until) }),
    refs,
  );
  const answer = await run(s, statement, stats, options, 'sessions');
  return { items: answer.events, stats };
}

export async function baselineScan(
  s: ScanContext,
  request: { since: Date; until: Date; accounts?: string[]; regions?: string[] },
  options: ReadOptions = {},
): Promise<{
  facts: GroupedFacts;
  identities: BucketIdentity[];
  quarters: string[];
  stats: GroupedScanStats;
}> {
  const stats: GroupedScanStats = { queries: 0, bytesScanned: 0, costUsd: 0, rows: 0, eventRows: 0 };
  const answer = await run(s, baselineStatement(s.table, scopeOf(s, request)), stats, options, 'baseline');
  const identities = answer.rows
    .filter((r) => r.row_kind === 'p')
    .map((r) => identityOf(r, r.k_haskey === 'true'));
  const quarters = answer.rows.filter((r) => r.row_kind === 'q' && r.q_time).map((r) => r.q_time!);
  return { facts: factsOf(answer.rows), identities, quarters, stats };
}

function scopeOf(
  s: ScanContext,
  r: { since: Date; until: Date; accounts?: string[]; regions?: string[] },
): Scope {
  return {
    since: r.since,
    until: r.until,
    accounts: r.accounts?.length ? r.accounts : [...(s.accounts ?? [])],
    regions: r.regions?.length ? r.regions : [...(s.regions ?? [])],
  };
}

/** Runs a statement and reads its rows, up to the cap (beyond it: the query is stopped and the range is `capped`). */
async function run(
  s: ScanContext,
  statement: Statement,
  stats: GroupedScanStats,
  options: ReadOptions,
  label: 'scan' | 'group events' | 'sessions' | 'baseline',
): Promise<Answer> {
  stats.rowsByKind ??= {};
  const byKind = stats.rowsByKind;
  const handle = await startQuery(s.client(), s.settings, s.ctx, statement, options);
  stats.queries++;
  stats.bytesScanned += handle.bytesScanned;
  stats.costUsd += handle.costUsd;
  const answer: Answer = { rows: [], events: [], hits: [] };
  let position = 0;
  for await (const page of handle.pages(options.signal)) {
    for (const values of page.rows) {
      position++;
      stats.rows++;
      if (stats.rows > s.maxRows) {
        await handle.stop();
        throw new SourceError(
          `The Athena scan of this range returned more than ${s.maxRows.toLocaleString('en-US')} rows (query ${handle.queryId}).`,
          'capped',
          'Cartographer retries with smaller time ranges; raise CARTOGRAPHER_ATHENA_MAX_EVENTS to allow more rows per query.',
          s.ctx,
        );
      }
      const row: Row = {};
      page.columns.forEach((c, i) => {
        row[c] = values[i];
      });
      const kind = row.row_kind;
      const what =
        label === 'scan' ? (ROW_KINDS[kind ?? 'e'] ?? 'other') : kind === 'r' ? 'threshold findings' : label;
      byKind[what] = (byKind[what] ?? 0) + 1;
      const item = (): SourceItem => {
        const origin = { file: `athena:${handle.queryId}`, position };
        const result = rowToRecord(page.columns, values);
        return 'reason' in result
          ? { kind: 'rejected', origin, reason: result.reason }
          : { kind: 'record', record: result.record, origin };
      };
      if (kind === undefined || kind === 'e') {
        stats.eventRows++;
        answer.events.push(item());
      } else if (kind === 'h' || kind === 'r') answer.hits.push({ row, record: item() });
      else answer.rows.push(row);
    }
  }
  options.onProgress?.({
    message: `Athena query ${handle.queryId}: ${position} rows`,
    records: stats.eventRows,
    bytesScanned: stats.bytesScanned,
  });
  return answer;
}

function identityOf(row: Row, hasKey?: boolean): BucketIdentity {
  const v = (name: string) => {
    const x = row[name];
    return x === undefined ? undefined : x;
  };
  const u: NonNullable<BucketIdentity['userIdentity']> = {};
  const set = (key: keyof typeof u, name: string) => {
    const x = v(name);
    if (x !== undefined) (u as Record<string, unknown>)[key] = x;
  };
  set('type', 'k_type');
  set('principalId', 'k_principalid');
  set('arn', 'k_arn');
  set('accountId', 'k_accountid');
  set('userName', 'k_username');
  set('invokedBy', 'k_invokedby');
  set('accessKeyId', 'k_accesskeyid');
  if (hasKey && u.accessKeyId === undefined) u.accessKeyId = 'present';
  const attributes = {
    ...(v('k_created') !== undefined ? { creationDate: v('k_created') } : {}),
    ...(v('k_mfa') !== undefined ? { mfaAuthenticated: v('k_mfa') } : {}),
  };
  const issuer = {
    ...(v('k_issuer_arn') !== undefined ? { arn: v('k_issuer_arn') } : {}),
    ...(v('k_issuer_username') !== undefined ? { userName: v('k_issuer_username') } : {}),
    ...(v('k_issuer_accountid') !== undefined ? { accountId: v('k_issuer_accountid') } : {}),
  };
  const context = {
    ...(Object.keys(attributes).length ? { attributes } : {}),
    ...(Object.keys(issuer).length ? { sessionIssuer: issuer } : {}),
  };
  if (Object.keys(context).length) u.sessionContext = context;
  const identity: BucketIdentity = { serviceSource: v('k_service_source') === 'true' };
  if (Object.keys(u).length) identity.userIdentity = u;
  if (v('k_console') !== undefined) identity.sessionCredentialFromConsole = v('k_console');
  if (v('k_login_at') !== undefined) identity.consoleLoginAt = v('k_login_at');
  return identity;
}

/**
 * An 'h' row as RuleHits. A first event that is no record is handed on as a rejected item (its rules' findings in
 * that bucket are then missing, and the digest's inputs say so).
 */
function readHits(
  row: Row,
  record: SourceItem,
  counted: readonly RulePushdown[],
  items: SourceItem[],
): RuleHits[] {
  if (record.kind !== 'record') {
    items.push(record);
    return [];
  }
  const rules = (row.h_set ?? '')
    .split(',')
    .filter((x) => x !== '')
    .map((i) => counted[Number(i)]?.id)
    .filter((id): id is string => id !== undefined);
  const keys = JSON.parse(row.h_keys ?? '[]') as string[][];
  const names = (JSON.parse(row.h_names ?? '[]') as string[][]).map((tuple) => ({
    name: tuple[4] ?? '',
    key: evidenceKey(tuple),
  }));
  return [
    {
      rules,
      identity: identityOf(row),
      names,
      count: Number(row.h_n ?? 0),
      succeeded: Number(row.h_ok ?? 0),
      first: keys.map(evidenceKey),
      record: record.record,
    },
  ];
}

/** One event's order key as SQL returns it: [time, source, name, id]. */
function evidenceKey([t, source, name, id]: string[]): EvidenceKey {
  return { time: Number(t), source: source ?? '', name: name ?? '', id: id ?? '' };
}

/** A 'b' row (a run of an identity's buckets) as an IdentityBucket. */
export function readBucket(row: Row): IdentityBucket {
  const ref: Record<string, string | null> = {};
  for (const [name] of IDENTITY_COLUMNS) ref[name] = row[name] ?? null;
  return {
    identity: identityOf(row),
    ref,
    first: Date.parse(row.r_first ?? row.t_first ?? ''),
    last: Date.parse(row.r_last ?? row.t_last ?? ''),
    events: Number(row.r_events ?? row.n_events ?? 0),
    errors: Number(row.r_errors ?? row.n_errors ?? 0),
  };
}

function factsOf(rows: Row[]): GroupedFacts {
  const facts: GroupedFacts = { regions: [], services: [], networkSamples: [], userAgents: [] };
  for (const r of rows) {
    if (r.row_kind === 'fr' && r.f_region) facts.regions.push(r.f_region);
    else if (r.row_kind === 'fs' && r.f_service) facts.services.push(r.f_service);
    else if (r.row_kind === 'fn' && r.f_sample) facts.networkSamples.push(r.f_sample);
    else if (r.row_kind === 'fu' && r.f_ua !== undefined)
      facts.userAgents.push({ userAgent: r.f_ua, console: r.f_uaconsole === 'true' });
  }
  return facts;
}

/**
 * Threshold groups that could fire: a window of the rule's length spans at most two adjacent buckets, and the scan
 * returned only buckets that reach the rule's count with a neighbour (distinct counts: pairs of buckets that reach
 * it together); their events are fetched next.
 */
export function qualifyingGroups(
  rows: readonly Row[],
  thresholds: readonly CountedThreshold[],
): GroupRanges[] {
  const out: GroupRanges[] = [];
  for (const t of thresholds) {
    const w = t.rule.threshold!.windowMs / 1000;
    const byGroup = new Map<string, number[]>();
    for (const r of rows) {
      if ((r.row_kind !== 't' && r.row_kind !== 'u') || Number(r.th_rule) !== t.index || r.th_g === undefined)
        continue;
      const list = byGroup.get(r.th_g) ?? [];
      // 'u': distinct values counted over buckets b and b + 1.
      list.push(Number(r.th_b));
      if (r.row_kind === 'u') list.push(Number(r.th_b) + 1);
      byGroup.set(r.th_g, list);
    }
    if (byGroup.size === 0) continue;
    // A burst reported at an event of bucket b reaches at most into bucket b + 1 (it runs a window from its first
    // event, which is in b - 1 or b, and a bucket with events before a qualifying one qualifies too): each run of
    // buckets is fetched with the bucket after it. That holds for counts across sessions as well: the detector's
    // history (engine/detections/cross-session.ts) counts windows by event time, and a window that reaches the count
    // lies in qualifying buckets, so the events outside them cannot change a finding.
    const groups = [...byGroup].map(([group, buckets]) => ({
      group,
      ranges: bucketRanges(
        [...new Set(buckets.flatMap((b) => [b, b + 1]))].sort((a, b) => a - b),
        w,
      ),
    }));
    out.push(withinParams(t.rule, groups));
  }
  return out;
}

/**
 * The groups as at most MAX_GROUP_PARAMS parameters: too many ranges are merged across their smallest gaps (wider,
 * never narrower); too many groups to list: every matching event of the rule in the scope (correct, only larger).
 */
function withinParams(
  rule: RulePushdown,
  groups: { group: string; ranges: [string, string][] }[],
): GroupRanges {
  const params = groups.reduce((n, g) => n + 1 + 2 * g.ranges.length, 0);
  if (params <= MAX_GROUP_PARAMS) return { rule, groups };
  const perGroup = Math.floor((MAX_GROUP_PARAMS / groups.length - 1) / 2);
  if (perGroup < 1) return { rule, groups: [], all: true };
  return { rule, groups: groups.map((g) => ({ group: g.group, ranges: mergeRanges(g.ranges, perGroup) })) };
}

/** At most `max` ranges covering `ranges` (sorted, disjoint), merging across the smallest gaps first. */
export function mergeRanges(ranges: readonly [string, string][], max: number): [string, string][] {
  const out = ranges.map(([a, b]) => [a, b] as [string, string]);
  while (out.length > max) {
    let best = 1;
    for (let i = 2; i < out.length; i++) {
      if (gapBefore(out, i) < gapBefore(out, best)) best = i;
    }
    out.splice(best - 1, 2, [out[best - 1]![0], out[best]![1]]);
  }
  return out;
}

function gapBefore(ranges: readonly [string, string][], i: number): number {
  return Date.parse(ranges[i]![0]) - Date.parse(ranges[i - 1]![1]);
}

/** Sequence groups with an event for every step (the scan's HAVING): their step events are fetched next. */
export function qualifyingSequences(
  rows: readonly Row[],
  sequences: readonly CountedThreshold[],
): GroupRanges[] {
  const out: GroupRanges[] = [];
  for (const s of sequences) {
    const groups = rows
      .filter((r) => r.row_kind === 's' && Number(r.sq_rule) === s.index && r.sq_g !== undefined)
      .map((r) => ({ group: r.sq_g! }));
    if (groups.length === 0) continue;
    const all = s.rule.sequence!.groupBy === 'any' || groups.length > MAX_GROUP_PARAMS;
    out.push(all ? { rule: s.rule, groups: [], all: true } : { rule: s.rule, groups });
  }
  return out;
}

function bucketRanges(buckets: number[], w: number): [string, string][] {
  const ranges: [string, string][] = [];
  let start = buckets[0]!;
  let prev = start;
  for (const b of [...buckets.slice(1), Number.NaN]) {
    if (b === prev + 1) {
      prev = b;
      continue;
    }
    ranges.push([iso(Math.floor(start * w) * 1000), iso(Math.ceil((prev + 1) * w) * 1000)]);
    start = b;
    prev = b;
  }
  return ranges;
}

/** The values the scan collected for each semi-join ('j' rows), by join key. */
function joinValues(rows: readonly Row[], joins: readonly CollectedJoin[]): Map<string, string[]> {
  const out = new Map<string, string[]>(joins.map((j) => [j.key, []]));
  const byIndex = new Map(joins.map((j) => [j.index, j.key]));
  for (const r of rows) {
    if (r.row_kind !== 'j' || r.jn_v === undefined) continue;
    const key = byIndex.get(Number(r.jn_rule));
    if (key) out.get(key)!.push(r.jn_v);
  }
  return out;
}

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}
