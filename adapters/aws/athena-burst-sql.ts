/**
 * Within-session threshold findings computed in SQL: one row per finding instead of the matching events.
 *
 * The detector (engine/detections/detector.ts `thresholdFindings`) reports, per session and group, the FIRST event at
 * which the rule's (distinct) count within the window is reached, and as evidence the burst: the group's matching
 * events with time in [from, from + window], `from` being the earliest event still in the sliding window then.
 * Events after it never matter to that rule. The same in SQL, over the rule's matching events of the scope:
 *
 *   z_key, z_run  the session: its base key (`SESSION_KEY`, engine/sessions/session-key.ts in SQL) and the idle-gap
 *                 split over ALL events of that key (a new run where the next event is more than the gap later)
 *   z_o           the event order (engine/order.ts: time, source, name, id) as one number, unique per partition, so a
 *                 RANGE frame ends exactly at the current row (ties included) and starts `window` ms before it
 *   z_cnt, z_from the (distinct) count in that frame and the frame's earliest time, at every event
 *   z_qfrom       `from` at the first event whose count reaches the rule's (the frame start only moves forward, so
 *                 it is the least `from` among qualifying events)
 *
 * and returns per finding: the burst's size, how many of its calls did not fail, its first MAX_EVIDENCE_IDS order
 * keys, the count at the qualifying event and the burst's first event whole (in the event columns), which is the
 * EvidenceSummary the detector makes (detections/finding.ts), so Node builds the identical Finding.
 *
 * Which rules (`burstRules`): within-session thresholds SQL decides exactly (no widened test, no semi-join, no
 * allow-list, group a plain column, `distinct` a plain column or a string in JSON text). Node checks before using the rows that every session bucket's
 * SQL key is Node's own (the scan's 'b' rows carry both ends of `SESSION_KEY` per bucket) and that no matching event
 * lacks an eventID or has non-ASCII text where SQL and JavaScript may disagree ('z' rows); otherwise it reads the
 * rule's matching events as before.
 */
import { MAX_EVIDENCE_IDS } from '../../engine/detections/finding.ts';
import { asciiOnlyFields, type EventPushdown, type RulePushdown } from '../../engine/detections/pushdown.ts';
import { columnFor, selectList } from './athena-columns.ts';
import { concatAll, type FilterContext, over, Sql, sql, toSql, valueExpr } from './athena-filter-sql.ts';
import { type AthenaTable, type Scope, scopeWhere, tableName } from './athena-sql.ts';

const EPOCH_MS = 'CAST(round(to_unixtime(from_iso8601_timestamp(eventtime)) * 1000) AS bigint)';
const WELL_FORMED = "'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$'";

/** `x` when it is a non-empty string (JavaScript truthiness of a string field). */
const nz = (x: string) => `NULLIF(${x}, '')`;

/**
 * engine/sessions/session-key.ts sessionKeyOf(record, 'athena') in SQL, for the shapes it can spell exactly; NULL
 * where it cannot (a creation date or event time in another spelling), which Node treats as a disagreement.
 */
export function sessionKeySql(): string {
  const u = 'useridentity';
  const type = `${u}.type`;
  const created = `${u}.sessioncontext.attributes.creationdate`;
  const has = [type, `${u}.arn`, `${u}.principalid`, `${u}.accesskeyid`, `${u}.username`, `${u}.invokedby`]
    .map((c) => `${nz(c)} IS NOT NULL`)
    .join(' OR ');
  const service = `(${type} = 'AWSService' OR (${nz(type)} IS NULL AND ${nz(`${u}.arn`)} IS NULL AND ${nz(`${u}.accesskeyid`)} IS NULL AND ${u}.invokedby IS NOT NULL))`;
  const who = `(CASE WHEN ${nz(`${u}.arn`)} IS NOT NULL THEN ${u}.arn WHEN ${type} = 'IAMUser' AND ${nz(`${u}.accountid`)} IS NOT NULL AND ${nz(`${u}.username`)} IS NOT NULL THEN concat('arn:aws:iam::', ${u}.accountid, ':user/', ${u}.username) WHEN ${type} = 'Root' AND ${nz(`${u}.accountid`)} IS NOT NULL THEN concat('arn:aws:iam::', ${u}.accountid, ':root') ELSE COALESCE(${nz(`${u}.principalid`)}, ${nz(`${u}.username`)}) END)`;
  const key = nz(`${u}.accesskeyid`);
  const temporary = `(COALESCE(starts_with(${key}, 'ASIA'), FALSE) OR ${created} IS NOT NULL)`;
  const serviceSource = `(sourceipaddress = 'AWS Internal' OR (length(sourceipaddress) >= 14 AND substr(sourceipaddress, length(sourceipaddress) - 13) = '.amazonaws.com'))`;
  const onBehalf = `(${type} = 'IAMUser' AND COALESCE(sessioncredentialfromconsole, '') <> 'true' AND COALESCE(${u}.sessioncontext.attributes.mfaauthenticated, '') <> 'true' AND ${serviceSource})`;
  const login = `(eventname = 'ConsoleLogin' AND eventsource = 'signin.amazonaws.com' AND COALESCE(json_extract_scalar(responseelements, '$.ConsoleLogin'), '') = 'Success')`;
  const canonical = (t: string) =>
    `CASE WHEN regexp_like(${t}, ${WELL_FORMED}) THEN concat(substr(${t}, 1, 19), 'Z') END`;
  return `(CASE
    WHEN NOT (${has}) THEN 'input:athena'
    WHEN ${service} THEN concat('service:', COALESCE(${u}.invokedby, ${u}.principalid, 'unknown'))
    WHEN ${who} IS NOT NULL AND ${temporary} AND ${onBehalf} THEN concat(${who}, ' via AWS services')
    WHEN ${who} IS NOT NULL AND ${temporary} AND ${nz(created)} IS NOT NULL THEN concat(${who}, '@', ${canonical(created)})
    WHEN ${who} IS NOT NULL AND ${login} THEN concat(${who}, '@', ${canonical('eventtime')})
    WHEN ${key} IS NOT NULL THEN ${key}
    WHEN ${who} IS NOT NULL THEN ${who}
    ELSE 'unknown:athena' END)`;
}

/** The SQL of a threshold's group key when it is exact (compiled-rule.ts groupKeyOf), else undefined. */
function exactGroup(groupBy: string | readonly string[]): string | undefined {
  if (typeof groupBy !== 'string') {
    // Sigma's group-by fields (sigma-aggregation.ts groupKeyOfFields): none is one group, one is its first value.
    if (groupBy.length === 0) return "'*'";
    const c = groupBy.length === 1 ? columnFor(groupBy[0]!) : undefined;
    return c?.kind === 'scalar' ? c.sql : undefined;
  }
  if (groupBy === 'principal')
    return 'COALESCE(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, useridentity.principalid, useridentity.username, useridentity.type)';
  if (groupBy === 'session') return "'session'";
  if (groupBy === 'sourceIp') return 'sourceipaddress';
  const c = columnFor(groupBy);
  return c?.kind === 'scalar' ? c.sql : undefined;
}

/**
 * The SQL of a threshold's distinct value (detector: every value of the field, as text), when SQL reads it exactly:
 * a plain column, or a plain path into a JSON-text column whose value is a JSON string (json_extract_scalar; any
 * other JSON value there, an array or a number, makes the event one SQL does not judge: `unsafeExpr`).
 */
function distinctSql(r: RulePushdown): string | undefined {
  const d = r.threshold?.distinct;
  if (d === undefined) return 'eventid';
  const c = columnFor(d);
  if (c?.kind === 'scalar') return c.sql;
  const json = jsonPath(d);
  return json ? `CASE WHEN starts_with(json_format(${json}), '"') THEN ${valueExpr(d)} END` : undefined;
}

/** `json_extract(column, '$.a.b')` of a plain path into a JSON-text column, else undefined. */
function jsonPath(path: string): string | undefined {
  const c = columnFor(path);
  const value = valueExpr(path);
  if (c?.kind !== 'json' || !value?.startsWith('json_extract_scalar(')) return undefined;
  return value.replace(/^json_extract_scalar\(/, 'json_extract(');
}

/**
 * The threshold rules whose findings this statement can compute: counted as such by the pushdown (`countable`:
 * exact, no allow-list can silence them), decided exactly by SQL, with a plain-column group and distinct.
 */
export function burstRules(p: EventPushdown): RulePushdown[] {
  const countable = new Set(p.countable ?? []);
  return p.rules.filter((r) => {
    const t = r.threshold;
    if (!t || r.kind !== 'threshold' || !countable.has(r.id) || r.notes.length) return false;
    if (!exactGroup(t.groupBy) || !distinctSql(r)) return false;
    if (!Number.isFinite(t.windowMs) || t.windowMs <= 0 || !Number.isInteger(t.windowMs)) return false;
    const widened = new Set<string>();
    over(r.filter, { rows: new Sql('FROM cloudtrail WHERE TRUE'), widened });
    if (widened.size > 0 || hasJoin(r)) return false;
    return [...asciiOnlyFields(r.filter)].every((f) => columnFor(f)?.kind === 'scalar');
  });
}

function hasJoin(r: RulePushdown): boolean {
  return JSON.stringify(r.filter).includes('"sameValueAs"');
}

const NOT_PLAIN = '[^\\x20-\\x7E]';

/**
 * Per burst rule, whether one of its matching events is one SQL does not judge as Node would: no eventID (Node
 * derives its id) or non-printable-ASCII text in a field the rule folds case on or matches a regex against.
 */
export function unsafeExpr(rules: readonly RulePushdown[], ctx: FilterContext): Sql {
  const parts = rules.map((r, i) => {
    const cols = [...asciiOnlyFields(r.filter)].map((f) => (columnFor(f) as { sql: string }).sql);
    const json = r.threshold?.distinct ? jsonPath(r.threshold.distinct) : undefined;
    const odd = [
      "COALESCE(eventid, '') = ''",
      ...cols.map((c) => `COALESCE(regexp_like(${c}, '${NOT_PLAIN}'), FALSE)`),
      ...(json
        ? [`COALESCE(json_format(${json}) <> 'null' AND NOT starts_with(json_format(${json}), '"'), FALSE)`]
        : []),
    ].join(' OR ');
    return sql`(CASE WHEN (${toSql(over(r.filter, ctx))}) AND (${new Sql(odd)}) THEN ',${new Sql(String(i))}' ELSE '' END)`;
  });
  return concatAll(parts);
}

/** Bits of the event order's tie number: ties within one millisecond and partition stay below 2^20. */
const TIE = 1_048_576;
const SCALE = 2 * TIE;
/** A qualifying order key never reaches this. */
const NEVER = '9000000000000000000';

export const BURST_COLUMNS = [
  'r_rule',
  'r_n',
  'r_ok',
  'r_d',
  'r_keys',
  'r_skey',
  'r_stime',
  'r_other',
  'r_earlier',
] as const;

const FAILED = `(COALESCE(errorcode, '') <> '' OR COALESCE(errormessage, '') <> '' OR COALESCE(CASE WHEN regexp_like(COALESCE(eventname, ''), '^[A-Za-z0-9_]+$') THEN json_extract_scalar(responseelements, concat('$.', eventname)) END, '') = 'Failure')`;
const orderKey = (a = '') =>
  `ARRAY[lpad(CAST(${a}z_t AS varchar), 15, '0'), COALESCE(${a}eventsource, ''), COALESCE(${a}eventname, ''), ${a}eventid]`;

/** The event columns of the first row by `z_o` (min_by), each expression prefixed with `a`. */
function firstEvent(a = ''): string {
  return selectList(a)
    .map((item) => {
      const m = /^(.*) AS (\w+)$/.exec(item);
      const [expr, name] = m ? [m[1]!, m[2]!] : [item, item.slice(a.length)];
      return `min_by(${expr}, ${a}z_o) AS ${name}`;
    })
    .join(', ');
}

/**
 * The finding rows of `rules` over the scope ('r' rows: the burst's first event in the event columns, then
 * BURST_COLUMNS), or undefined for no rules. Within-session rules count per session and group; rules counted across
 * sessions (engine/detections/cross-session.ts) count per group over every session, and report per session the first
 * of its own events at which the count is reached, with the group's events from the window's start, up to one
 * window on and never past the session's last event (the one statement part that reads the matching events twice).
 */
export function burstSelect(
  table: AthenaTable,
  scope: Scope,
  rules: readonly RulePushdown[],
  idleGapMs: number,
): Sql | undefined {
  if (rules.length === 0) return undefined;
  const m = windowed(table, scope, rules, idleGapMs);
  const counts = `z_rule AS r_rule, count(*) AS r_n, count_if(NOT ${FAILED}) AS r_ok`;
  const session = 'z_rule, z_key, z_run, z_g';
  const within = Sql.join([
    `SELECT 'r' AS row_kind, ${firstEvent()}, ${counts}, min_by(z_cnt, CASE WHEN z_cnt >= z_need THEN z_o ELSE ${NEVER} END) AS r_d, json_format(CAST(slice(array_sort(array_agg(${orderKey()})), 1, ${MAX_EVIDENCE_IDS}) AS JSON)) AS r_keys, z_key AS r_skey, min(z_t) AS r_stime, 0 AS r_other, 0 AS r_earlier FROM (`,
    m,
    `) AS q WHERE z_across = 0 AND z_qfrom IS NOT NULL AND z_t >= z_qfrom AND z_t <= z_qfrom + z_w GROUP BY ${session}`,
  ]);
  if (!rules.some((r) => r.threshold?.acrossSessions)) return within;
  // Across sessions: the qualifying own event of each session and group, then the group's events of its burst.
  const f = 'f.z_rule, f.z_g, f.z_key, f.z_run, f.z_o, f.z_t, f.z_cnt';
  const own = '(e.z_key = f.z_key AND e.z_run = f.z_run)';
  const across = Sql.join([
    `SELECT 'r' AS row_kind, ${firstEvent('e.')}, f.z_rule AS r_rule, count(*) AS r_n, count_if(NOT ${FAILED.replace(/\b(errorcode|errormessage|eventname|responseelements)\b/g, 'e.$1')}) AS r_ok, f.z_cnt AS r_d, json_format(CAST(slice(array_sort(array_agg(${orderKey('e.')})), 1, ${MAX_EVIDENCE_IDS}) AS JSON)) AS r_keys, f.z_key AS r_skey, f.z_t AS r_stime, count_if(NOT ${own}) AS r_other, count_if(NOT ${own} AND e.z_o < f.z_o) AS r_earlier FROM (SELECT * FROM (`,
    m,
    ') AS a WHERE z_across = 1 AND z_o = z_qo) AS f JOIN (',
    m,
    `) AS e ON e.z_across = 1 AND e.z_rule = f.z_rule AND e.z_g = f.z_g AND e.z_t >= f.z_from AND e.z_t <= f.z_from + f.z_w AND e.z_t <= f.z_end GROUP BY ${f}`,
  ]);
  return Sql.join([within, across], '\nUNION ALL\n');
}

/**
 * The rules' matching events of the scope, one row per event and rule (duplicates once), with their session
 * (z_key, z_run, z_end: its last event), group, distinct value, place in the event order (z_o), the (distinct) count
 * and earliest time of the window ending there (z_cnt, z_from; per session for within-session rules, per group for
 * the others), and per session and group the first qualifying event of the session (z_qo) and its window start
 * (z_qfrom: the frame start only moves forward, so the least among qualifying events).
 */
function windowed(table: AthenaTable, scope: Scope, rules: readonly RulePushdown[], idleGapMs: number): Sql {
  const rows = sql`FROM ${tableName(table)} WHERE ${scopeWhere(table, scope)}`;
  const ctx: FilterContext = { rows };
  const filters = rules.map((r) => toSql(over(r.filter, ctx)));
  const base = scope.since.getTime();
  // Within-session rules count per session (z_pk, z_pr), the others per group only.
  const part = 'z_rule, z_pk, z_pr, z_g';
  // 1. Every event of the scope with its session (key, idle-gap run, last event).
  const keyed = sql`SELECT *, ${new Sql(sessionKeySql())} AS z_key, ${new Sql(EPOCH_MS)} AS z_t ${rows}`;
  const lagged = Sql.join([
    'SELECT *, lag(z_t) OVER (PARTITION BY z_key ORDER BY z_t) AS z_prev FROM (',
    keyed,
    ') AS k',
  ]);
  const runs = Sql.join([
    `SELECT *, sum(CASE WHEN z_t - z_prev > ${int(idleGapMs)} THEN 1 ELSE 0 END) OVER (PARTITION BY z_key ORDER BY z_t ROWS UNBOUNDED PRECEDING) AS z_run FROM (`,
    lagged,
    ') AS l',
  ]);
  const ended = Sql.join([
    'SELECT *, max(z_t) OVER (PARTITION BY z_key, z_run) AS z_end FROM (',
    runs,
    ') AS n',
  ]);
  // 2. One row per matching event and rule, with its group and distinct value; duplicates (same eventID) once.
  const which = Sql.join(
    filters.map((f, i) => sql`CASE WHEN ${f} THEN ${new Sql(String(i))} END`),
    ', ',
  );
  const caseOf = (f: (r: RulePushdown) => string) =>
    `CASE u.z_rule ${rules.map((r, i) => `WHEN ${i} THEN ${f(r)}`).join(' ')} END`;
  const acrossOf = caseOf((r) => (r.threshold!.acrossSessions ? '1' : '0'));
  const matched = Sql.join([
    `SELECT r.*, u.z_rule, ${caseOf((r) => exactGroup(r.threshold!.groupBy)!)} AS z_g, ${caseOf((r) => distinctSql(r)!)} AS z_d, ${acrossOf} AS z_across, CASE WHEN ${acrossOf} = 0 THEN r.z_key END AS z_pk, CASE WHEN ${acrossOf} = 0 THEN r.z_run END AS z_pr FROM (`,
    ended,
    sql`) AS r CROSS JOIN UNNEST(ARRAY[${which}]) AS u(z_rule) WHERE (${Sql.join(filters, ' OR ')})`,
  ]);
  const deduped = Sql.join([
    `SELECT *, row_number() OVER (PARTITION BY z_rule, eventid ORDER BY z_t) AS z_dup, row_number() OVER (PARTITION BY ${part}, z_t ORDER BY COALESCE(eventsource, ''), COALESCE(eventname, ''), eventid) - 1 AS z_tie FROM (`,
    matched,
    ') AS m WHERE z_rule IS NOT NULL AND z_g IS NOT NULL',
  ]);
  // 3. The (distinct) count and earliest time of the window ending at each event (its own frame per rule).
  const frame = (r: RulePushdown) =>
    `(PARTITION BY ${part} ORDER BY z_o RANGE BETWEEN ${int(r.threshold!.windowMs * SCALE + TIE - 1)} PRECEDING AND CURRENT ROW)`;
  const count = (r: RulePushdown) =>
    r.threshold!.distinct === undefined
      ? `count(*) OVER ${frame(r)}`
      : `cardinality(filter(array_distinct(array_agg(z_d) OVER ${frame(r)}), x -> x IS NOT NULL))`;
  const perRule = (f: (r: RulePushdown) => string) =>
    `CASE z_rule ${rules.map((r, i) => `WHEN ${i} THEN ${f(r)}`).join(' ')} END`;
  const counted = Sql.join([
    `SELECT *, ${perRule(count)} AS z_cnt, ${perRule((r) => `min(z_t) OVER ${frame(r)}`)} AS z_from, ${perRule((r) => int(r.threshold!.count))} AS z_need, ${perRule((r) => int(r.threshold!.windowMs))} AS z_w FROM (SELECT *, (z_t - ${int(base, true)}) * ${SCALE} + z_tie AS z_o FROM (`,
    deduped,
    ') AS d WHERE z_dup = 1) AS o',
  ]);
  const own = 'PARTITION BY z_rule, z_g, z_key, z_run';
  return Sql.join([
    `SELECT *, min(CASE WHEN z_cnt >= z_need THEN z_from END) OVER (${own}) AS z_qfrom, min(CASE WHEN z_cnt >= z_need THEN z_o END) OVER (${own}) AS z_qo FROM (`,
    counted,
    ') AS c',
  ]);
}

/** Event rows padded to the burst rows' columns (for a UNION ALL with `burstSelect`). */
export function paddedEvents(select: Sql): Sql {
  return sql`SELECT 'e' AS row_kind, ${new Sql(selectList().join(', '))}, CAST(NULL AS integer) AS r_rule, CAST(NULL AS bigint) AS r_n, CAST(NULL AS bigint) AS r_ok, CAST(NULL AS bigint) AS r_d, CAST(NULL AS varchar) AS r_keys, CAST(NULL AS varchar) AS r_skey, CAST(NULL AS bigint) AS r_stime, CAST(NULL AS bigint) AS r_other, CAST(NULL AS bigint) AS r_earlier ${select}`;
}

/** An integer written into the SQL text (computed by Cartographer, never a value from data or a user). */
function int(n: number, signed = false): string {
  if (!Number.isSafeInteger(n) || (!signed && n < 0)) throw new Error(`not an integer: ${n}`);
  return String(n);
}
