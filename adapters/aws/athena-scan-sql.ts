/**
 * The statements of an org-scale scan (athena-scan.ts), all over one scope (accounts × regions × time range):
 *
 * 1. `scanStatement`: ONE table scan answering everything at once with GROUP BY GROUPING SETS:
 *      'e' rows   the whole events the rules' prefilter keeps (deduplicated by eventID)
 *      'b' rows   session buckets: per identity (the fields the session key is made of) and time bucket shorter
 *                 than the idle gap, the event and error counts and first/last time, from which Node rebuilds every
 *                 session exactly as the local pipeline groups it (engine/scan/buckets.ts)
 *      'f…' rows  the digest's facts: regions, services, /24 networks, user agents
 *      't…' rows  per threshold rule, group and window-sized bucket: how many matching events ('u' rows: distinct
 *                 values, per pair of adjacent buckets)
 *      'h' rows   the counted event rules (EventPushdown.countable): per session bucket and set of counted rules an
 *                 event matches, how many events, how many did not fail, the first MAX_EVIDENCE_IDS events' order
 *                 keys, each event name's first key and the first event whole; their events are not returned
 * 2. `groupRowsStatement`: the events of threshold groups that could reach their count (only when some can).
 * 3. `sessionRowsStatement`: the whole events of given sessions (by their identities and time range).
 * 4. `baselineStatement`: the facts of the baseline days, grouped, never row by row.
 *
 * Values go into parameters; the SQL text holds only identifiers from configuration, column names and numbers.
 */
import { and, type EventFilter, field, not, or, simplify } from '../../engine/detections/event-filter.ts';
import { MAX_EVIDENCE_IDS } from '../../engine/detections/finding.ts';
import {
  asciiOnlyFields,
  type EventPushdown,
  existsFields,
  type RulePushdown,
} from '../../engine/detections/pushdown.ts';
import { burstRules, paddedEvents, sessionKeySql, unsafeExpr } from './athena-burst-sql.ts';
import { CLOUDTRAIL_COLUMNS, type ColumnRef, columnFor, selectList } from './athena-columns.ts';
import {
  concatAll,
  type FilterContext,
  joinKey,
  over,
  param,
  Sql,
  sql,
  toSql,
  undecidedJson,
  valueExpr,
} from './athena-filter-sql.ts';
import { type AthenaTable, type Scope, scopeWhere, tableName } from './athena-sql.ts';

/** The identity columns of a session bucket, in output order (athena-scan.ts reads them back by these names). */
export const IDENTITY_COLUMNS: readonly (readonly [string, string])[] = [
  ['k_type', 'useridentity.type'],
  ['k_principalid', 'useridentity.principalid'],
  ['k_arn', 'useridentity.arn'],
  ['k_accountid', 'useridentity.accountid'],
  ['k_username', 'useridentity.username'],
  ['k_invokedby', 'useridentity.invokedby'],
  ['k_accesskeyid', KEY_WHEN_NEEDED()],
  ['k_created', 'useridentity.sessioncontext.attributes.creationdate'],
  ['k_mfa', 'useridentity.sessioncontext.attributes.mfaauthenticated'],
  ['k_issuer_arn', 'useridentity.sessioncontext.sessionissuer.arn'],
  ['k_issuer_username', 'useridentity.sessioncontext.sessionissuer.username'],
  ['k_issuer_accountid', 'useridentity.sessioncontext.sessionissuer.accountid'],
  ['k_console', 'sessioncredentialfromconsole'],
  [
    'k_service_source',
    "CASE WHEN sourceipaddress = 'AWS Internal' OR (length(sourceipaddress) >= 14 AND substr(sourceipaddress, length(sourceipaddress) - 13) = '.amazonaws.com') THEN 'true' END",
  ],
  [
    'k_login_at',
    "CASE WHEN eventname = 'ConsoleLogin' AND eventsource = 'signin.amazonaws.com' AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success' THEN eventtime END",
  ],
];

/**
 * The access key is part of the session key only when the session's sign-in time cannot key it (session-key.ts):
 * a console sign-in rotates dozens of keys under one creationDate, and leaving them out keeps one bucket per
 * sign-in instead of one per key. Kept whenever the record could be keyed by it.
 */
function KEY_WHEN_NEEDED(): string {
  const u = 'useridentity';
  const created = `${u}.sessioncontext.attributes.creationdate`;
  const who = `(COALESCE(${u}.arn, '') <> '' OR COALESCE(${u}.principalid, '') <> '' OR COALESCE(${u}.username, '') <> '' OR (${u}.type = 'Root' AND COALESCE(${u}.accountid, '') <> ''))`;
  const notServiceShape = `(COALESCE(${u}.type, '') <> '' OR COALESCE(${u}.arn, '') <> '' OR COALESCE(${u}.invokedby, '') = '')`;
  const wellFormed = `regexp_like(COALESCE(${created}, ''), '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$')`;
  return `CASE WHEN ${wellFormed} AND ${who} AND ${notServiceShape} THEN NULL ELSE ${u}.accesskeyid END`;
}

const EPOCH = 'to_unixtime(from_iso8601_timestamp(eventtime))';
const STRICT_IPV4 =
  "'^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'";

export interface ScanStatementOptions {
  table: AthenaTable;
  scope: Scope;
  /** Whole events to return (the prefilter); threshold and sequence rules come back as counted groups instead. */
  pushdown?: EventPushdown;
  /** Session buckets of this many seconds (shorter than the idle gap), chained into runs (`idleGapSeconds`). */
  bucketSeconds?: number;
  idleGapSeconds?: number;
  facts?: boolean;
  /** Within-session threshold findings computed by the second statement (athena-burst-sql.ts); default yes. */
  bursts?: boolean;
}

export interface Statement {
  sql: string;
  /** Raw values, in `?` order (the caller quotes them as Athena literals). */
  params: string[];
}

/** A threshold or sequence rule whose groups the scan counts, with its index in the 't' / 's' rows. */
export interface CountedThreshold {
  index: number;
  rule: RulePushdown;
}

/** The parts of the GROUPING SETS query, filled by each kind of row. */
interface Parts {
  derived: Sql[];
  /** Window functions over the derived columns: layers between them and the grouping, each over the one before. */
  ranked: string[][];
  sets: string[][];
  outputs: Sql[];
  having: string[];
  kinds: string[];
}

/** A semi-join whose values the scan collects ('j' rows), so later statements need no subquery for it. */
export interface CollectedJoin {
  index: number;
  key: string;
}

export function scanStatement(o: ScanStatementOptions): {
  statement: Statement;
  thresholds: CountedThreshold[];
  sequences: CountedThreshold[];
  joins: CollectedJoin[];
  /** The event rules counted in 'h' rows (their index in `h_set`); their events are not among the 'e' rows. */
  counted: RulePushdown[];
  /** Within-session thresholds whose findings the second statement computes (athena-burst-sql.ts; 'z' rows). */
  bursts: RulePushdown[];
} {
  const rows = sql`FROM ${tableName(o.table)} WHERE ${scopeWhere(o.table, o.scope)}`;
  const ctx: FilterContext = { rows };
  const parts: Parts = { derived: [], ranked: [], sets: [], outputs: [], having: [], kinds: [] };
  const thresholds: CountedThreshold[] = [];
  const sequences: CountedThreshold[] = [];
  let joins: CollectedJoin[] = [];
  const counted = o.pushdown && o.bucketSeconds ? countedRules(o.pushdown) : [];
  const bursts = o.pushdown && o.bucketSeconds && o.bursts !== false ? burstRules(o.pushdown) : [];
  const burstIds = new Set(bursts.map((r) => r.id));
  if (o.pushdown) {
    eventParts(parts, o.pushdown, ctx, counted);
    for (const rule of o.pushdown.rules) {
      if (burstIds.has(rule.id)) continue;
      if (groupable(rule)) thresholds.push({ index: thresholds.length, rule });
      else if (rule.sequence) sequences.push({ index: sequences.length, rule });
    }
    thresholdParts(parts, thresholds, ctx);
    sequenceParts(parts, sequences, ctx);
    joins = joinParts(parts, deferredFilters(o.pushdown), ctx);
  }
  if (o.bucketSeconds) {
    hitParts(parts, counted, ctx, o.idleGapSeconds ?? 1800);
    bucketParts(parts, o.bucketSeconds, counted.length > 0, bursts.length > 0);
    unsafeParts(parts, bursts, ctx);
  }
  if (o.facts) factParts(parts);
  if (parts.sets.length === 0) throw new Error('a scan statement needs events, buckets or facts');
  let source = sql`(SELECT *, ${Sql.join(parts.derived, ',\n    ')}\n  ${rows})`;
  parts.ranked.forEach((layer, i) => {
    source = sql`(SELECT *, ${new Sql(layer.join(', '))} FROM ${source} AS x${new Sql(String(i))})`;
  });
  const grouped = Sql.join(
    [
      sql`SELECT CASE ${parts.kinds.join(' ')} END AS row_kind, ${Sql.join(parts.outputs, ',\n  ')}`,
      sql`FROM ${source} AS x`,
      `GROUP BY GROUPING SETS (${parts.sets.map((s) => `(${s.join(', ')})`).join(', ')})`,
      `HAVING ${parts.having.join(' OR ')}`,
    ],
    '\n',
  );
  const statement = windows(grouped, o, thresholds, bursts.length > 0);
  return {
    statement: { sql: statement.text, params: [...statement.params] },
    thresholds,
    sequences,
    joins,
    counted,
    bursts,
  };
}

/**
 * The pushdown's countable event rules this statement can count: SQL decides them exactly (no test widened to JSON
 * text or to a regular expression Trino runs differently) and without a semi-join (its values come later).
 */
export function countedRules(p: EventPushdown): RulePushdown[] {
  const countable = new Set(p.countable ?? []);
  return p.rules.filter((r) => {
    if (!countable.has(r.id) || r.kind !== 'event' || r.notes.length > 0) return false;
    if (groupable(r) || r.sequence || joinsIn(r.filter).length > 0) return false;
    const widened = new Set<string>();
    over(r.filter, { rows: new Sql('FROM cloudtrail WHERE TRUE'), widened, exactJsonExists: true });
    const ascii = [...asciiOnlyFields(r.filter)];
    const present = [...existsFields(r.filter)];
    return (
      widened.size === 0 &&
      ascii.every((f) => columnFor(f)?.kind === 'scalar') &&
      present.every((f) => columnFor(f)?.kind === 'scalar' || undecidedJson(f) !== undefined)
    );
  });
}

/**
 * The events of counted rule `r` SQL does not count: a key tested for presence in JSON text holds an array or an
 * object there (engine/grouped-analysis.ts leaves the same events to Cartographer), as SQL text.
 */
function undecided(r: RulePushdown): string {
  const parts = [...existsFields(r.filter)].flatMap((f) => undecidedJson(f) ?? []);
  return parts.length ? `(${parts.join(' OR ')})` : 'FALSE';
}

const NOT_PLAIN = '[^\\x20-\\x7E]';

/** The rule's case-folded and regular-expression fields are printable ASCII (or absent): SQL decides it exactly. */
function plainSql(r: RulePushdown): string {
  const cols = [...asciiOnlyFields(r.filter)].map((f) => (columnFor(f) as { sql: string }).sql);
  if (cols.length === 0) return 'TRUE';
  return cols.map((c) => `NOT COALESCE(regexp_like(${c}, '${NOT_PLAIN}'), FALSE)`).join(' AND ');
}

/** The events of a counted rule the scan does not count (no eventID, or text SQL cannot decide exactly). */
function uncounted(r: RulePushdown): EventFilter {
  const noId = not(field('eventID', 'exists', [], { nonEmpty: true }));
  const notPlain = [...asciiOnlyFields(r.filter)].map((f) => field(f, 'regex', [NOT_PLAIN]));
  return and([r.filter, or([noId, ...notPlain])]);
}

/** The event's order key (engine/order.ts: time, source, name, id) as an array Trino orders element by element. */
const ORDER_KEY = `ARRAY[lpad(CAST(CAST(round(${EPOCH} * 1000) AS bigint) AS varchar), 15, '0'), COALESCE(eventsource, ''), COALESCE(eventname, ''), eventid]`;

/**
 * Whether the call failed (detections/finding.ts failedCall): an error code or message, or a sign-in style outcome
 * `responseElements.<eventName> = "Failure"` (read for event names that are plain words, which CloudTrail's are).
 */
const FAILED = `(COALESCE(errorcode, '') <> '' OR COALESCE(errormessage, '') <> '' OR COALESCE(CASE WHEN regexp_like(COALESCE(eventname, ''), '^[A-Za-z0-9_]+$') THEN json_extract_scalar(responseelements, concat('$.', eventname)) END, '') = 'Failure')`;

/**
 * 'h' rows: the counted event rules' matches per session (identity columns and h_run, the identity's stretch of events
 * no more than the idle gap apart, as the 'b' rows chain their buckets) and the set of counted rules the event
 * matches (',0,7': one group however many rules share the event). Not counted, and
 * returned as 'e' rows instead: events without an eventID (their id is derived in Cartographer) and events whose
 * case-folded or regular-expression fields are not printable ASCII (where Trino and JavaScript may disagree).
 */
function hitParts(p: Parts, counted: RulePushdown[], ctx: FilterContext, idleGapSeconds: number): void {
  if (counted.length === 0) return;
  const set = concatAll(
    counted.map(
      (r, i) =>
        sql`(CASE WHEN (${toSql(over(r.filter, { ...ctx, exactJsonExists: true }))}) AND (${new Sql(plainSql(r))}) AND NOT ${new Sql(undecided(r))} THEN ',${new Sql(String(i))}' ELSE '' END)`,
    ),
  );
  p.derived.push(
    sql`CASE WHEN COALESCE(eventid, '') <> '' THEN NULLIF(${set}, '') END AS h_set`,
    new Sql(`CASE WHEN COALESCE(eventid, '') <> '' THEN ${ORDER_KEY} END AS h_key`),
    new Sql(`CASE WHEN NOT ${FAILED} THEN eventid END AS h_okid`),
  );
  // The identity's runs over all its events (a run starts after more than the idle gap): within one session of
  // Cartographer's (which chains the runs of identities sharing a session key), so its groups add up per session.
  const who = IDENTITY_COLUMNS.map(([n]) => n).join(', ');
  p.ranked.push(
    [`lag(${EPOCH}) OVER (PARTITION BY ${who} ORDER BY ${EPOCH}) AS h_prev`],
    [
      `sum(CASE WHEN h_prev IS NULL OR ${EPOCH} - h_prev > ${num(idleGapSeconds)} THEN 1 ELSE 0 END) OVER (PARTITION BY ${who} ORDER BY ${EPOCH} ROWS UNBOUNDED PRECEDING) AS h_run`,
    ],
  );
  // The first event of each name in its group: the finding lists names in the order of their first event.
  const group = [...IDENTITY_COLUMNS.map(([n]) => n), 'h_run', 'h_set'];
  p.ranked.push([
    `CASE WHEN h_set IS NOT NULL THEN row_number() OVER (PARTITION BY ${group.join(', ')}, eventname ORDER BY h_key) END AS h_nr`,
  ]);
  p.sets.push(group);
  p.having.push('(grouping(h_set) = 0 AND h_set IS NOT NULL)');
  // Before the buckets' kind: an 'h' row groups by the identity columns too.
  p.kinds.push("WHEN grouping(h_set) = 0 THEN 'h'");
  const inH = 'grouping(h_set) = 0';
  p.outputs.push(
    new Sql('h_set'),
    new Sql(
      `CASE WHEN ${inH} THEN json_format(CAST(array_sort(array_agg(concat(h_key, ARRAY[COALESCE(eventname, '')])) FILTER (WHERE h_nr = 1)) AS JSON)) END AS h_names`,
    ),
    new Sql(`CASE WHEN ${inH} THEN count(DISTINCT eventid) END AS h_n`),
    new Sql(`CASE WHEN ${inH} THEN count(DISTINCT h_okid) END AS h_ok`),
    new Sql(
      `CASE WHEN ${inH} THEN json_format(CAST(slice(array_sort(array_distinct(array_agg(h_key) FILTER (WHERE h_set IS NOT NULL))), 1, ${num(MAX_EVIDENCE_IDS)}) AS JSON)) END AS h_keys`,
    ),
  );
}

type JoinNode = Extract<EventFilter, { kind: 'sameValueAs' }>;

/** The semi-joins in a filter. */
function joinsIn(f: EventFilter, out: JoinNode[] = []): JoinNode[] {
  if (f.kind === 'sameValueAs') out.push(f);
  else if (f.kind === 'and' || f.kind === 'or') for (const p of f.parts) joinsIn(p, out);
  else if (f.kind === 'not') joinsIn(f.part, out);
  else if (f.kind === 'within') joinsIn(f.filter, out);
  return out;
}

/**
 * Filters (rules, context events) that depend on a semi-join: the scan collects the join's values and their events
 * come with the second statement, so the table is read once per statement instead of once more per join.
 */
export function deferredFilters(p: EventPushdown): EventFilter[] {
  const out: EventFilter[] = [];
  for (const r of p.rules) if (!groupable(r) && !r.sequence && joinsIn(r.filter).length) out.push(r.filter);
  for (const c of p.context) if (joinsIn(c.filter).length) out.push(c.filter);
  return out;
}

function joinParts(p: Parts, deferred: EventFilter[], ctx: FilterContext): CollectedJoin[] {
  const nodes = new Map<string, JoinNode>();
  for (const f of deferred) for (const j of joinsIn(f)) nodes.set(joinKey(j), j);
  const joins: CollectedJoin[] = [];
  for (const [key, j] of nodes) {
    const value = valueExpr(j.otherField ?? j.field);
    if (!value) continue;
    const i = joins.length;
    joins.push({ index: i, key });
    p.derived.push(sql`CASE WHEN ${toSql(over(j.of, ctx))} THEN ${value} END AS j${String(i)}_v`);
    p.sets.push([`j${i}_v`]);
    p.having.push(`(grouping(j${i}_v) = 0 AND j${i}_v IS NOT NULL)`);
    p.kinds.push(`WHEN grouping(j${i}_v) = 0 THEN 'j'`);
  }
  if (joins.length) {
    const which = joins.map((j) => `WHEN grouping(j${j.index}_v) = 0 THEN ${j.index}`).join(' ');
    const v = joins.length === 1 ? 'j0_v' : `COALESCE(${joins.map((j) => `j${j.index}_v`).join(', ')})`;
    p.outputs.push(new Sql(`CASE ${which} END AS jn_rule`), new Sql(`${v} AS jn_v`));
  }
  return joins;
}

function eventParts(
  p: Parts,
  pushdown: EventPushdown,
  ctx: FilterContext,
  counted: readonly RulePushdown[],
): void {
  // Plus the counted rules' events SQL does not count for a key in JSON text (`undecided`).
  const odd = counted
    .filter((r) => undecided(r) !== 'FALSE')
    .map((r) => sql`(${toSql(over(r.filter, ctx))} AND ${new Sql(undecided(r))})`);
  const keep = Sql.join([toSql(over(eventFilter(pushdown, counted), ctx)), ...odd], ' OR ');
  // 'h' rows carry their first event whole in the same columns.
  const first = (expr: string) =>
    counted.length ? ` WHEN grouping(h_set) = 0 THEN min_by(${expr}, h_key)` : '';
  p.derived.push(
    sql`CASE WHEN ${keep} THEN COALESCE(eventid, concat('no-event-id:', eventtime, ':', eventsource, ':', eventname, ':', COALESCE(requestid, ''))) END AS x_event`,
  );
  p.sets.push(['x_event']);
  p.having.push('(grouping(x_event) = 0 AND x_event IS NOT NULL)');
  p.kinds.push("WHEN grouping(x_event) = 0 THEN 'e'");
  p.outputs.push(
    ...selectList().map((item) => {
      const [expr, name] = splitAlias(item);
      return new Sql(`CASE WHEN grouping(x_event) = 0 THEN arbitrary(${expr})${first(expr)} END AS ${name}`);
    }),
  );
}

function bucketParts(p: Parts, bucketSeconds: number, hits: boolean, keys: boolean): void {
  const names = IDENTITY_COLUMNS.map(([n]) => n);
  p.derived.push(...IDENTITY_COLUMNS.map(([n, expr]) => new Sql(`${expr} AS ${n}`)));
  if (keys) {
    // The session key as the burst statement computes it, so Node can check it is its own (athena-burst-sql.ts).
    p.derived.push(new Sql(`${sessionKeySql()} AS k_session`));
    p.outputs.push(
      new Sql("CASE WHEN grouping(k_bucket) = 0 THEN min(COALESCE(k_session, '')) END AS k_smin"),
      new Sql("CASE WHEN grouping(k_bucket) = 0 THEN max(COALESCE(k_session, '')) END AS k_smax"),
    );
  }
  p.derived.push(new Sql(`CAST(floor(${EPOCH} / ${num(bucketSeconds)}) AS bigint) AS k_bucket`));
  p.sets.push([...names, 'k_bucket']);
  // 'h' rows group by the identity columns too: only their own HAVING admits them.
  p.having.push(hits ? '(grouping(k_bucket) = 0 AND grouping(h_set) = 1)' : 'grouping(k_bucket) = 0');
  p.kinds.push("WHEN grouping(k_bucket) = 0 THEN 'b'");
  const inB = 'grouping(k_bucket) = 0';
  p.outputs.push(
    ...names.map((n) => new Sql(n)),
    new Sql(`CASE WHEN ${inB} THEN count(DISTINCT eventid) + count_if(eventid IS NULL) END AS n_events`),
    new Sql(
      `CASE WHEN ${inB} THEN count(DISTINCT CASE WHEN errorcode <> '' THEN eventid END) + count_if(eventid IS NULL AND errorcode <> '') END AS n_errors`,
    ),
    new Sql(`CASE WHEN ${inB} THEN min(eventtime) END AS t_first`),
    new Sql(`CASE WHEN ${inB} THEN max(eventtime) END AS t_last`),
  );
}

/** 'z' rows: the sets of burst rules (their index) with a matching event SQL does not judge as Node would. */
function unsafeParts(p: Parts, bursts: readonly RulePushdown[], ctx: FilterContext): void {
  if (bursts.length === 0) return;
  p.derived.push(sql`NULLIF(${unsafeExpr(bursts, ctx)}, '') AS z_set`);
  p.sets.push(['z_set']);
  p.having.push('(grouping(z_set) = 0 AND z_set IS NOT NULL)');
  p.kinds.push("WHEN grouping(z_set) = 0 THEN 'z'");
  p.outputs.push(new Sql('z_set'));
}

function thresholdParts(p: Parts, thresholds: CountedThreshold[], ctx: FilterContext): void {
  if (thresholds.length === 0) return;
  const bucketOf = new Map<number, string>();
  for (const { index: i, rule } of thresholds) {
    const t = rule.threshold!;
    const matches = toSql(over(rule.filter, ctx));
    const w = t.windowMs / 1000;
    p.derived.push(sql`CASE WHEN ${matches} THEN ${groupExpr(t.groupBy)!} END AS t${String(i)}_g`);
    const distinct = distinctColumn(rule);
    if (distinct) {
      // Distinct values of two buckets do not add up: count them over the union instead. Every window of length
      // w lies inside one bucket pair [k·w, (k+2)·w) with k = floor(start / w), which is an even pair (k even) or
      // an odd one: both alignments are counted, each row 'u' naming its pair by k.
      p.derived.push(
        sql`CASE WHEN ${matches} THEN ${distinct} END AS t${String(i)}_d`,
        new Sql(`CAST(floor(${EPOCH} / ${num(2 * w)}) AS bigint) * 2 AS t${i}_e`),
        new Sql(`CAST(floor((${EPOCH} - ${num(w)}) / ${num(2 * w)}) AS bigint) * 2 + 1 AS t${i}_o`),
      );
      p.sets.push([`t${i}_g`, `t${i}_e`], [`t${i}_g`, `t${i}_o`]);
      p.kinds.push(`WHEN grouping(t${i}_g) = 0 THEN 'u'`);
      bucketOf.set(i, `COALESCE(t${i}_e, t${i}_o)`);
    } else {
      p.derived.push(new Sql(`CAST(floor(${EPOCH} / ${num(w)}) AS bigint) AS t${i}_b`));
      p.sets.push([`t${i}_g`, `t${i}_b`]);
      p.kinds.push(`WHEN grouping(t${i}_g) = 0 THEN 't'`);
      bucketOf.set(i, `t${i}_b`);
    }
    p.having.push(`(grouping(t${i}_g) = 0 AND t${i}_g IS NOT NULL)`);
  }
  const each = (f: (i: number, r: RulePushdown) => string) =>
    thresholds.map(({ index, rule }) => `WHEN grouping(t${index}_g) = 0 THEN ${f(index, rule)}`).join(' ');
  const group =
    thresholds.length === 1 ? 't0_g' : `COALESCE(${thresholds.map((t) => `t${t.index}_g`).join(', ')})`;
  p.outputs.push(
    new Sql(`CASE ${each((i) => String(i))} END AS th_rule`),
    new Sql(`${group} AS th_g`),
    new Sql(`CASE ${each((i) => bucketOf.get(i)!)} END AS th_b`),
    new Sql(
      `CASE ${each((i, r) => (distinctColumn(r) ? `count(DISTINCT t${i}_d)` : `count(t${i}_g)`))} END AS th_n`,
    ),
  );
}

/** A sequence group counts only if it has an event for every step (HAVING); its events are fetched after. */
function sequenceParts(p: Parts, sequences: CountedThreshold[], ctx: FilterContext): void {
  if (sequences.length === 0) return;
  for (const { index: i, rule } of sequences) {
    const seq = rule.sequence!;
    const group = seq.groupBy === 'principal' ? groupExpr('principal')! : "'any'";
    const steps = seq.steps.map((step, j) => {
      p.derived.push(sql`COALESCE(${toSql(over(step, ctx))}, FALSE) AS s${String(i)}_${String(j)}`);
      return `count_if(s${i}_${j}) > 0`;
    });
    p.derived.push(
      new Sql(`CASE WHEN ${seq.steps.map((_, j) => `s${i}_${j}`).join(' OR ')} THEN ${group} END AS s${i}_g`),
    );
    p.sets.push([`s${i}_g`]);
    p.having.push(`(grouping(s${i}_g) = 0 AND s${i}_g IS NOT NULL AND ${steps.join(' AND ')})`);
    p.kinds.push(`WHEN grouping(s${i}_g) = 0 THEN 's'`);
  }
  const each = sequences.map(({ index }) => `WHEN grouping(s${index}_g) = 0 THEN ${index}`).join(' ');
  const g = sequences.length === 1 ? 's0_g' : `COALESCE(${sequences.map((x) => `s${x.index}_g`).join(', ')})`;
  p.outputs.push(new Sql(`CASE ${each} END AS sq_rule`), new Sql(`${g} AS sq_g`));
}

/**
 * Window functions over the grouped rows (no second table scan): buckets of one identity chained into runs
 * (consecutive buckets less than the idle gap apart: one row per session stretch, not per bucket), and threshold
 * buckets kept only where, with a neighbour, they reach the rule's count. Other rows pass through.
 */
function windows(grouped: Sql, o: ScanStatementOptions, thresholds: CountedThreshold[], keys: boolean): Sql {
  if (!o.bucketSeconds && thresholds.length === 0) return grouped;
  const lagged: string[] = [];
  const second: string[] = [];
  const third: string[] = [];
  const keep: string[] = ["row_kind NOT IN ('b', 't', 'u')"];
  if (o.bucketSeconds) {
    const part = ['row_kind', ...IDENTITY_COLUMNS.map(([n]) => n)].join(', ');
    const secs = (c: string) => `to_unixtime(from_iso8601_timestamp(${c}))`;
    const gap = num(o.idleGapSeconds ?? 1800);
    lagged.push(`lag(t_last) OVER (PARTITION BY ${part} ORDER BY t_first) AS prev_last`);
    second.push(
      `sum(CASE WHEN row_kind = 'b' AND (prev_last IS NULL OR ${secs('t_first')} - ${secs('prev_last')} > ${gap}) THEN 1 ELSE 0 END) OVER (PARTITION BY ${part} ORDER BY t_first ROWS UNBOUNDED PRECEDING) AS run`,
    );
    const w = `PARTITION BY ${part}, run`;
    third.push(
      `sum(n_events) OVER (${w}) AS r_events`,
      `sum(n_errors) OVER (${w}) AS r_errors`,
      `min(t_first) OVER (${w}) AS r_first`,
      `max(t_last) OVER (${w}) AS r_last`,
      `row_number() OVER (${w} ORDER BY t_first) AS r_n`,
      ...(keys ? [`min(k_smin) OVER (${w}) AS r_smin`, `max(k_smax) OVER (${w}) AS r_smax`] : []),
    );
    keep.push("(row_kind = 'b' AND r_n = 1)");
  }
  if (thresholds.length) {
    const w = 'PARTITION BY row_kind, th_rule, th_g ORDER BY th_b';
    lagged.push(
      `lag(th_b) OVER (${w}) AS t_prev_b`,
      `lag(th_n) OVER (${w}) AS t_prev_n`,
      `lead(th_b) OVER (${w}) AS t_next_b`,
      `lead(th_n) OVER (${w}) AS t_next_n`,
    );
    const need = `CASE th_rule ${thresholds.map((t) => `WHEN ${t.index} THEN ${num(t.rule.threshold!.count)}`).join(' ')} END`;
    keep.push(
      `(row_kind = 'u' AND th_n >= ${need})`,
      `(row_kind = 't' AND (th_n >= ${need} OR (t_prev_b = th_b - 1 AND th_n + t_prev_n >= ${need}) OR (t_next_b = th_b + 1 AND th_n + t_next_n >= ${need})))`,
    );
  }
  const layer = (cols: string[], inner: Sql, alias: string): Sql =>
    cols.length
      ? Sql.join([`SELECT ${alias}.*, ${cols.join(', ')} FROM (`, inner, `) AS ${alias}`], '\n')
      : inner;
  const l3 = layer(third, layer(second, layer(lagged, grouped, 'l'), 'm'), 'n');
  return Sql.join(['SELECT * FROM (', l3, `) AS q WHERE ${keep.join(' OR ')}`], '\n');
}

/**
 * The prefilter of the scan's event rows: every rule but those counted as groups ('t', 's', 'h' rows) or depending
 * on a semi-join (their events come with the second statement), plus the context events. A counted event rule
 * still returns its matching events that have no eventID (not counted: Cartographer derives their id).
 */
export function eventFilter(p: EventPushdown, counted: readonly RulePushdown[] = []): EventFilter {
  const countedIds = new Set(counted.map((r) => r.id));
  const parts: EventFilter[] = p.rules
    .filter((r) => !groupable(r) && !r.sequence && joinsIn(r.filter).length === 0)
    .map((r) => (countedIds.has(r.id) ? uncounted(r) : r.filter));
  for (const c of p.context) if (joinsIn(c.filter).length === 0) parts.push(c.filter);
  return simplify({ kind: 'or', parts });
}

/**
 * A threshold rule whose group is a plain column: counted in SQL, its events fetched after. Distinct values of a plain
 * column are counted as such; of anything else, the matching events are counted (never fewer than distinct values).
 */
export function groupable(r: RulePushdown): boolean {
  const t = r.threshold;
  return t !== undefined && groupExpr(t.groupBy) !== undefined;
}

function distinctColumn(r: RulePushdown): string | undefined {
  const d = r.threshold?.distinct;
  const c = d === undefined ? undefined : columnFor(d);
  return c?.kind === 'scalar' ? c.sql : undefined;
}

/** The SQL of a threshold's group key (compiled-rule.ts groupKeyOf), or undefined when it is no plain column. */
export function groupExpr(groupBy: string | readonly string[]): string | undefined {
  if (typeof groupBy !== 'string') {
    // groupKeyOfFields: the first value of each field as text, no group when one is missing, one group for none.
    // Keys only select events to fetch; two groups sharing a joined key only make the fetch larger.
    if (groupBy.length === 0) return "'*'";
    const cols = groupBy.map((f) => columnFor(f));
    if (!cols.every((c) => c?.kind === 'scalar')) return undefined;
    const sqls = cols.map((c) => (c as { sql: string }).sql);
    if (sqls.length === 1) return sqls[0];
    return `CASE WHEN ${sqls.map((s) => `${s} IS NOT NULL`).join(' AND ')} THEN concat(${sqls.join(", '|', ")}) END`;
  }
  if (groupBy === 'principal') {
    // principalOf: arn ?? issuer arn ?? principalId ?? userName ?? type ('' counts as a value, as with ??).
    return 'COALESCE(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, useridentity.principalid, useridentity.username, useridentity.type)';
  }
  if (groupBy === 'session') return "'session'";
  if (groupBy === 'sourceIp') return 'sourceipaddress';
  const c: ColumnRef | undefined = columnFor(groupBy);
  return c?.kind === 'scalar' ? c.sql : undefined;
}

function factParts(p: Parts): void {
  const f = factColumns();
  p.derived.push(...f.derived);
  p.sets.push(...f.sets);
  p.having.push(...f.having);
  p.outputs.push(...f.outputs);
  p.kinds.push(
    "WHEN grouping(f_region) = 0 THEN 'fr'",
    "WHEN grouping(f_service) = 0 THEN 'fs'",
    "WHEN grouping(f_net) = 0 THEN 'fn'",
    "WHEN grouping(f_ua) = 0 THEN 'fu'",
  );
}

function factColumns(): { derived: Sql[]; sets: string[][]; having: string[]; outputs: Sql[] } {
  return {
    derived: [
      new Sql('awsregion AS f_region'),
      new Sql('eventsource AS f_service'),
      new Sql(
        `CASE WHEN regexp_like(sourceipaddress, ${STRICT_IPV4}) THEN regexp_extract(sourceipaddress, '^([0-9]+\\.[0-9]+\\.[0-9]+)\\.', 1) ELSE sourceipaddress END AS f_net`,
      ),
      new Sql('useragent AS f_ua'),
      new Sql("CASE WHEN sessioncredentialfromconsole = 'true' THEN 'true' ELSE 'false' END AS f_uaconsole"),
    ],
    sets: [['f_region'], ['f_service'], ['f_net'], ['f_ua', 'f_uaconsole']],
    having: [
      '(grouping(f_region) = 0 AND f_region IS NOT NULL)',
      '(grouping(f_service) = 0 AND f_service IS NOT NULL)',
      '(grouping(f_net) = 0 AND f_net IS NOT NULL)',
      '(grouping(f_ua) = 0 AND f_ua IS NOT NULL)',
    ],
    outputs: [
      new Sql('f_region'),
      new Sql('f_service'),
      new Sql('f_net'),
      new Sql('CASE WHEN grouping(f_net) = 0 THEN arbitrary(sourceipaddress) END AS f_sample'),
      new Sql('f_ua'),
      new Sql('f_uaconsole'),
    ],
  };
}

/** Groups of a threshold or sequence rule that could fire, and (thresholds) the time ranges whose events matter. */
export interface GroupRanges {
  rule: RulePushdown;
  /** `ranges` absent: the whole scope. */
  groups: { group: string; ranges?: [string, string][] }[];
  /** Too many groups to list, or the rule's groups are the whole read: every matching event of the rule. */
  all?: boolean;
}

/**
 * The events of threshold and sequence groups that could fire (only the counted events, only in the buckets that
 * matter), or of rules whose groups are too many to list (then all their matching events of the scope).
 */
export function groupRowsStatement(
  table: AthenaTable,
  scope: Scope,
  wanted: GroupRanges[],
  deferred: { filters: EventFilter[]; joins: ReadonlyMap<string, readonly string[]> } = {
    filters: [],
    joins: new Map(),
  },
  /** The scan statement's event filter (`eventFilter`): the events it returned are not sent again. */
  returned?: EventFilter,
  /** Finding rows to add ('r' rows, athena-burst-sql.ts burstSelect): event rows then carry row_kind 'e'. */
  bursts?: Sql,
): Statement | undefined {
  const rows = sql`FROM ${tableName(table)} WHERE ${scopeWhere(table, scope)}`;
  const ctx: FilterContext = { rows, joins: deferred.joins };
  const late = deferred.filters.map((f) => over(f, ctx)).filter((p) => p !== false);
  const terms = wanted.map((w) => {
    const matches = toSql(over(w.rule.filter, ctx));
    if (w.all) return matches;
    const g = groupExpr(w.rule.threshold?.groupBy ?? 'principal')!;
    const groups = w.groups.map((x) => {
      if (!x.ranges) return sql`${g} = ${param(x.group)}`;
      const ranges = x.ranges.map(([a, b]) => sql`(eventtime >= ${param(a)} AND eventtime < ${param(b)})`);
      return sql`(${g} = ${param(x.group)} AND (${Sql.join(ranges, ' OR ')}))`;
    });
    return sql`(${matches} AND (${Sql.join(groups, ' OR ')}))`;
  });
  terms.push(...late.map(toSql));
  if (terms.length === 0) return bursts ? finish(bursts) : undefined;
  const sent = returned ? over(returned, { rows }) : false;
  const notSent = sent === false ? sql`` : sql` AND NOT COALESCE(${toSql(sent)}, FALSE)`;
  const where = sql`${rows} AND (${Sql.join(terms, ' OR ')})${notSent}`;
  if (bursts) return finish(Sql.join([paddedEvents(where), bursts], '\nUNION ALL\n'));
  return finish(sql`SELECT ${selectList().join(', ')} ${where}`);
}

/** One session to fetch whole: the identities its buckets had and its time range. */
export interface SessionRef {
  identities: Record<string, string | null>[];
  first: string;
  last: string;
}

export function sessionRowsStatement(table: AthenaTable, scope: Scope, sessions: SessionRef[]): Statement {
  const rows = sql`FROM ${tableName(table)} WHERE ${scopeWhere(table, scope)}`;
  const exprs = new Map(IDENTITY_COLUMNS);
  const terms = sessions.map((s) => {
    const who = s.identities.map((identity) => {
      const parts = IDENTITY_COLUMNS.map(([name]) => {
        const v = identity[name];
        const e = exprs.get(name)!;
        return v === null || v === undefined ? new Sql(`(${e}) IS NULL`) : sql`(${e}) = ${param(v)}`;
      });
      return Sql.join(['(', Sql.join(parts, ' AND '), ')']);
    });
    return sql`(eventtime >= ${param(s.first)} AND eventtime <= ${param(s.last)} AND (${Sql.join(who, ' OR ')}))`;
  });
  return finish(sql`SELECT ${selectList().join(', ')} ${rows} AND (${Sql.join(terms, ' OR ')})`);
}

/** The digest's baseline facts of earlier days, and which quarter hours had events (to count days with data). */
export function baselineStatement(table: AthenaTable, scope: Scope): Statement {
  const f = factColumns();
  const principal = IDENTITY_COLUMNS.filter(([n]) =>
    [
      'k_type',
      'k_principalid',
      'k_arn',
      'k_accountid',
      'k_username',
      'k_invokedby',
      'k_issuer_arn',
      'k_issuer_username',
      'k_issuer_accountid',
    ].includes(n),
  );
  const quarter =
    "concat(substr(eventtime, 1, 14), lpad(CAST(CAST(floor(CAST(substr(eventtime, 15, 2) AS integer) / 15) * 15 AS integer) AS varchar), 2, '0')) AS q_time";
  const derived = [
    ...f.derived,
    ...principal.map(([n, e]) => new Sql(`${e} AS ${n}`)),
    new Sql(
      "CASE WHEN useridentity.accesskeyid IS NOT NULL AND useridentity.accesskeyid <> '' THEN 'true' END AS k_haskey",
    ),
    new Sql(quarter),
  ];
  const names = [...principal.map(([n]) => n), 'k_haskey'];
  const rows = sql`FROM ${tableName(table)} WHERE ${scopeWhere(table, scope)}`;
  const kinds =
    "CASE WHEN grouping(f_region) = 0 THEN 'fr' WHEN grouping(f_service) = 0 THEN 'fs' WHEN grouping(f_net) = 0 THEN 'fn' WHEN grouping(f_ua) = 0 THEN 'fu' WHEN grouping(q_time) = 0 THEN 'q' ELSE 'p' END AS row_kind";
  return finish(
    Sql.join(
      [
        sql`SELECT ${kinds}, ${Sql.join(f.outputs, ', ')}, ${names.join(', ')}, q_time`,
        sql`FROM (SELECT *, ${Sql.join(derived, ',\n    ')}\n  ${rows}) AS x`,
        `GROUP BY GROUPING SETS (${[...f.sets, names, ['q_time']].map((s) => `(${s.join(', ')})`).join(', ')})`,
        `HAVING ${[...f.having, '(grouping(q_time) = 0 AND q_time IS NOT NULL)', 'grouping(k_haskey) = 0'].join(' OR ')}`,
      ],
      '\n',
    ),
  );
}

function finish(s: Sql): Statement {
  return { sql: s.text, params: [...s.params] };
}

function splitAlias(item: string): [string, string] {
  const m = /^(.*) AS (\w+)$/.exec(item);
  return m ? [m[1]!, m[2]!] : [item, item];
}

/** A number written into the SQL text (computed by Cartographer, never a value from data or a user). */
function num(n: number): string {
  if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${n}`);
  return String(n);
}

/** Every top-level column name (for readers of 'e' rows). */
export const EVENT_COLUMN_NAMES: readonly string[] = CLOUDTRAIL_COLUMNS.map((c) => c.name.toLowerCase());
