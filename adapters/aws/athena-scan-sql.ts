/**
 * The statements of an org-scale scan (athena-scan.ts), all over one scope (accounts × regions × time range):
 *
 * 1. `scanStatement`: ONE table scan answering everything at once with GROUP BY GROUPING SETS:
 *      'e' rows   the whole events the rules' prefilter keeps (deduplicated by eventID)
 *      'b' rows   session buckets: per identity (the fields the session key is made of) and time bucket shorter
 *                 than the idle gap, the event and error counts and first/last time, from which Node rebuilds every
 *                 session exactly as the local pipeline groups it (engine/scan/buckets.ts)
 *      'f…' rows  the digest's facts: regions, services, /24 networks, user agents
 *      't…' rows  per threshold rule, group and window-sized bucket: how many matching events (or distinct values)
 * 2. `groupRowsStatement`: the events of threshold groups that could reach their count (only when some can).
 * 3. `sessionRowsStatement`: the whole events of given sessions (by their identities and time range).
 * 4. `baselineStatement`: the facts of the baseline days, grouped, never row by row.
 *
 * Values go into parameters; the SQL text holds only identifiers from configuration, column names and numbers.
 */
import type { EventFilter } from '../../engine/detections/event-filter.ts';
import type { EventPushdown, RulePushdown } from '../../engine/detections/pushdown.ts';
import { type ColumnRef, CLOUDTRAIL_COLUMNS, columnFor, selectList } from './athena-columns.ts';
import { type FilterContext, over, param, Sql, sql, toSql } from './athena-filter-sql.ts';
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
const STRICT_IPV4 = "'^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'";

export interface ScanStatementOptions {
  table: AthenaTable;
  scope: Scope;
  /** Whole events to return (the prefilter); threshold rules come in as 't' rows instead. */
  pushdown?: EventPushdown;
  /** Session buckets of this many seconds (shorter than the idle gap). */
  bucketSeconds?: number;
  facts?: boolean;
}

export interface Statement {
  sql: string;
  /** Raw values, in `?` order (the caller quotes them as Athena literals). */
  params: string[];
}

/** A threshold rule whose groups the scan counts, with its index in the 't' rows. */
export interface CountedThreshold {
  index: number;
  rule: RulePushdown;
}

export function scanStatement(o: ScanStatementOptions): { statement: Statement; thresholds: CountedThreshold[] } {
  const rows = sql`FROM ${tableName(o.table)} WHERE ${scopeWhere(o.table, o.scope)}`;
  const ctx: FilterContext = { rows };
  const derived: Sql[] = [];
  const sets: string[][] = [];
  const outputs: Sql[] = [];
  const having: string[] = [];
  const thresholds: CountedThreshold[] = [];

  if (o.pushdown) {
    const keep = toSql(over(eventFilter(o.pushdown), ctx));
    derived.push(
      sql`CASE WHEN ${keep} THEN COALESCE(eventid, concat('no-event-id:', eventtime, ':', eventsource, ':', eventname, ':', COALESCE(requestid, ''))) END AS x_event`,
    );
    sets.push(['x_event']);
    having.push('(grouping(x_event) = 0 AND x_event IS NOT NULL)');
    outputs.push(
      ...selectList().map((item) => {
        const [expr, name] = splitAlias(item);
        return new Sql(`CASE WHEN grouping(x_event) = 0 THEN arbitrary(${expr}) END AS ${name}`);
      }),
    );
    for (const rule of o.pushdown.rules) {
      const counted = countedThreshold(rule, thresholds.length, ctx);
      if (!counted) continue;
      thresholds.push({ index: thresholds.length, rule });
      derived.push(...counted.derived);
      sets.push(counted.set);
      having.push(counted.having);
    }
  }
  if (o.bucketSeconds) {
    const names = IDENTITY_COLUMNS.map(([n]) => n);
    derived.push(...IDENTITY_COLUMNS.map(([n, expr]) => new Sql(`${expr} AS ${n}`)));
    derived.push(new Sql(`floor(${EPOCH} / ${num(o.bucketSeconds)}) AS k_bucket`));
    sets.push([...names, 'k_bucket']);
    having.push('grouping(k_bucket) = 0');
    const inB = 'grouping(k_bucket) = 0';
    outputs.push(
      ...names.map((n) => new Sql(n)),
      new Sql('k_bucket'),
      new Sql(`CASE WHEN ${inB} THEN count(DISTINCT eventid) + count_if(eventid IS NULL) END AS n_events`),
      new Sql(
        `CASE WHEN ${inB} THEN count(DISTINCT CASE WHEN errorcode <> '' THEN eventid END) + count_if(eventid IS NULL AND errorcode <> '') END AS n_errors`,
      ),
      new Sql(`CASE WHEN ${inB} THEN min(eventtime) END AS t_first`),
      new Sql(`CASE WHEN ${inB} THEN max(eventtime) END AS t_last`),
    );
  }
  if (o.facts) {
    const f = factParts();
    derived.push(...f.derived);
    sets.push(...f.sets);
    having.push(...f.having);
    outputs.push(...f.outputs);
  }
  if (thresholds.length) {
    const coalesced = (col: string) => thresholds.map((t) => `t${t.index}_${col}`).join(', ');
    const one = (col: string) =>
      thresholds.length === 1 ? `t0_${col}` : `COALESCE(${coalesced(col)})`;
    const which = thresholds.map((t) => `WHEN grouping(t${t.index}_g) = 0 THEN ${t.index}`).join(' ');
    const count = thresholds
      .map(
        (t) =>
          `WHEN grouping(t${t.index}_g) = 0 THEN ${t.rule.threshold?.distinct ? `count(DISTINCT t${t.index}_d)` : `count(t${t.index}_g)`}`,
      )
      .join(' ');
    outputs.push(
      new Sql(`CASE ${which} END AS th_rule`),
      new Sql(`${one('g')} AS th_g`),
      new Sql(`${one('b')} AS th_b`),
      new Sql(`CASE ${count} END AS th_n`),
    );
  }
  if (sets.length === 0) throw new Error('a scan statement needs events, buckets or facts');
  const kinds = rowKinds(o, thresholds.length > 0);
  const statement = Sql.join(
    [
      sql`SELECT ${kinds}, ${Sql.join(outputs, ',\n  ')}`,
      sql`FROM (SELECT *, ${Sql.join(derived, ',\n    ')}\n  ${rows}) AS x`,
      `GROUP BY GROUPING SETS (${sets.map((s) => `(${s.join(', ')})`).join(', ')})`,
      `HAVING ${having.join(' OR ')}`,
    ],
    '\n',
  );
  return { statement: { sql: statement.text, params: [...statement.params] }, thresholds };
}

function rowKinds(o: ScanStatementOptions, thresholds: boolean): string {
  const whens: string[] = [];
  if (o.pushdown) whens.push("WHEN grouping(x_event) = 0 THEN 'e'");
  if (o.bucketSeconds) whens.push("WHEN grouping(k_bucket) = 0 THEN 'b'");
  if (o.facts) {
    whens.push(
      "WHEN grouping(f_region) = 0 THEN 'fr'",
      "WHEN grouping(f_service) = 0 THEN 'fs'",
      "WHEN grouping(f_net) = 0 THEN 'fn'",
      "WHEN grouping(f_ua) = 0 THEN 'fu'",
    );
  }
  if (thresholds) whens.push("ELSE 't'");
  return `CASE ${whens.join(' ')} END AS row_kind`;
}

/** The prefilter of event rows: every rule but the threshold rules counted in 't' rows, plus context events. */
export function eventFilter(p: EventPushdown): EventFilter {
  const parts: EventFilter[] = p.rules.filter((r) => !groupable(r)).map((r) => r.filter);
  for (const c of p.context) parts.push(c.filter);
  return { kind: 'or', parts };
}

/** A threshold rule whose group and distinct field are plain columns: counted in SQL, its events fetched after. */
export function groupable(r: RulePushdown): boolean {
  const t = r.threshold;
  if (!t) return false;
  if (groupExpr(t.groupBy) === undefined) return false;
  return t.distinct === undefined || columnFor(t.distinct)?.kind === 'scalar';
}

/** The SQL of a threshold's group key (compiled-rule.ts groupKeyOf), or undefined when it is no plain column. */
export function groupExpr(groupBy: string): string | undefined {
  if (groupBy === 'principal') {
    // principalOf: arn ?? issuer arn ?? principalId ?? userName ?? type ('' counts as a value, as with ??).
    return 'COALESCE(useridentity.arn, useridentity.sessioncontext.sessionissuer.arn, useridentity.principalid, useridentity.username, useridentity.type)';
  }
  if (groupBy === 'session') return "'session'";
  if (groupBy === 'sourceIp') return 'sourceipaddress';
  const c: ColumnRef | undefined = columnFor(groupBy);
  return c?.kind === 'scalar' ? c.sql : undefined;
}

function countedThreshold(
  rule: RulePushdown,
  index: number,
  ctx: FilterContext,
): { derived: Sql[]; set: string[]; having: string } | undefined {
  if (!groupable(rule)) return undefined;
  const t = rule.threshold!;
  const matches = toSql(over(rule.filter, ctx));
  const derived = [
    sql`CASE WHEN ${matches} THEN ${groupExpr(t.groupBy)!} END AS t${String(index)}_g`,
    new Sql(`floor(${EPOCH} / ${num(t.windowMs / 1000)}) AS t${index}_b`),
  ];
  if (t.distinct) {
    derived.push(sql`CASE WHEN ${matches} THEN ${columnFor(t.distinct)!.sql} END AS t${String(index)}_d`);
  }
  return {
    derived,
    set: [`t${index}_g`, `t${index}_b`],
    having: `(grouping(t${index}_g) = 0 AND t${index}_g IS NOT NULL)`,
  };
}

function factParts(): { derived: Sql[]; sets: string[][]; having: string[]; outputs: Sql[] } {
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

/** Qualifying groups of one threshold rule: its group value and the time ranges (ISO) whose events matter. */
export interface GroupRanges {
  rule: RulePushdown;
  groups: { group: string; ranges: [string, string][] }[];
}

/**
 * The events of threshold groups that could fire, or of rules whose groups are too many to list (then all their
 * matching events of the scope): only the counted events, only in the buckets that matter.
 */
export function groupRowsStatement(table: AthenaTable, scope: Scope, wanted: GroupRanges[]): Statement {
  const rows = sql`FROM ${tableName(table)} WHERE ${scopeWhere(table, scope)}`;
  const ctx: FilterContext = { rows };
  const terms = wanted.map((w) => {
    const matches = toSql(over(w.rule.filter, ctx));
    const g = groupExpr(w.rule.threshold!.groupBy)!;
    const groups = w.groups.map((x) => {
      const ranges = x.ranges.map(([a, b]) => sql`(eventtime >= ${param(a)} AND eventtime < ${param(b)})`);
      return sql`(${g} = ${param(x.group)} AND (${Sql.join(ranges, ' OR ')}))`;
    });
    return sql`(${matches} AND (${Sql.join(groups, ' OR ')}))`;
  });
  return finish(sql`SELECT ${selectList().join(', ')} ${rows} AND (${Sql.join(terms, ' OR ')})`);
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
  const f = factParts();
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
    new Sql("CASE WHEN useridentity.accesskeyid IS NOT NULL AND useridentity.accesskeyid <> '' THEN 'true' END AS k_haskey"),
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
