/**
 * The SQL Cartographer sends to Athena for a SourceQuery.
 *
 * Safety: no value from a query (access key, user, IP, event names, regions, accounts, times) is ever written into the
 * SQL text. Each becomes a `?` placeholder with its value in `parameters` (Athena ExecutionParameters). Athena parses
 * each parameter as a SQL literal, so values are also validated against what AWS itself allows (an access key is
 * `[A-Z0-9]`, a user name has no quotes, semicolons or line breaks) and quoted with quotes doubled. The only things
 * written into the text are the table identifiers, which come from configuration and must match a strict pattern,
 * and the LIMIT, a number we compute.
 *
 * Cost: every query prunes partitions (account, region, date) so Athena reads only the S3 prefixes it needs.
 */
import type { SourceQuery } from '../../engine/source.ts';
import { selectList } from './athena-columns.ts';
import { param, Sql, sql } from './athena-filter-sql.ts';
import { SourceError } from './errors.ts';
import { isRegionName } from './regions.ts';

/**
 * `partitioned`: classic table partitioned by (account, region, year, month, day), partitions added by the operator.
 * `projection`: partition projection on (account, region, timestamp) with `timestamp` as `yyyy/MM/dd`.
 * `none`: no partitions (small tables only: every query reads everything).
 */
export type TableStyle = 'partitioned' | 'projection' | 'none';

export interface AthenaTable {
  catalog: string;
  database: string;
  table: string;
  style: TableStyle;
}

export interface AthenaQueryPlan {
  sql: string;
  /** ExecutionParameters: the values as SQL literals, in `?` order. */
  parameters: string[];
  /** The same values, raw. */
  values: string[];
  /** The time range actually queried (a missing `since` becomes the default look-back). */
  since: Date;
  until: Date;
}

export interface PlanOptions {
  /** Rows to ask for; the query asks for one more to know whether it was cut. */
  limit: number;
  /** Partition filters when the query names none (only explicit configuration, never a default list). */
  regions?: readonly string[];
  accounts?: readonly string[];
  /** Look-back when the query has no `since` (Athena bills per byte: never scan the whole bucket by accident). */
  defaultLookbackDays?: number;
  now?: Date;
}

/** Glue/Athena names: letters, digits, underscore, hyphen. They go into the SQL text, double-quoted. */
export const IDENTIFIER = /^[A-Za-z0-9_-]{1,255}$/;
const ACCESS_KEY = /^[A-Z0-9]{16,128}$/;
const ACCOUNT = /^\d{12}$/;
const EVENT_NAME = /^[A-Za-z0-9_]{1,128}$/;
const SOURCE_IP = /^[A-Za-z0-9:._-]{1,253}$/;
/** Principal names and ARNs never contain quotes, backslashes, semicolons, backticks or control characters. */
const UNSAFE_IN_NAME = /['"`\\;\p{Cc}]/u;

/** Every column of the table (athena-columns.ts), struct columns as JSON text. */
export const SELECT_COLUMNS: readonly string[] = selectList();

export function validateTable(table: AthenaTable): void {
  for (const [name, value] of [
    ['catalog', table.catalog],
    ['database', table.database],
    ['table', table.table],
  ] as const) {
    if (!IDENTIFIER.test(value)) {
      throw new SourceError(
        `Athena ${name} name ${JSON.stringify(value)} is not valid.`,
        'invalid-request',
        `Use letters, digits, '_' or '-' only (CARTOGRAPHER_ATHENA_${name.toUpperCase()}).`,
      );
    }
  }
}

/** A SQL string literal for an execution parameter: single quotes, inner quotes doubled. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function buildAthenaQuery(
  query: SourceQuery,
  table: AthenaTable,
  options: PlanOptions,
): AthenaQueryPlan {
  validateTable(table);
  const now = options.now ?? new Date();
  const until = query.until ?? now;
  const since = query.since ?? new Date(until.getTime() - (options.defaultLookbackDays ?? 7) * 86_400_000);
  const where: Sql[] = [
    scopeWhere(table, {
      since,
      until,
      accounts: query.accounts?.length ? query.accounts : (options.accounts ?? []),
      regions: query.regions?.length ? query.regions : (options.regions ?? []),
    }),
  ];
  if (query.accessKeyId !== undefined) {
    if (!ACCESS_KEY.test(query.accessKeyId)) {
      throw invalid(
        'access key',
        query.accessKeyId,
        'an access key ID is 16+ upper-case letters and digits, e.g. ASIA…',
      );
    }
    where.push(sql`useridentity.accesskeyid = ${param(query.accessKeyId)}`);
  }
  if (query.user !== undefined) where.push(userWhere(query.user));
  if (query.sourceIp !== undefined) {
    if (!SOURCE_IP.test(query.sourceIp))
      throw invalid('source IP', query.sourceIp, 'an IP address or AWS service name');
    where.push(sql`sourceipaddress = ${param(query.sourceIp)}`);
  }
  if (query.eventNames?.length) {
    for (const n of query.eventNames)
      if (!EVENT_NAME.test(n)) throw invalid('event name', n, 'e.g. ConsoleLogin');
    where.push(sql`eventname IN ${list(query.eventNames)}`);
  }
  if (query.readOnly !== undefined) where.push(sql`readonly = ${param(String(query.readOnly))}`);

  const limit = Math.floor(options.limit);
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw invalid('event cap', String(options.limit), 'a positive integer');
  const statement = Sql.join(
    [
      `SELECT ${SELECT_COLUMNS.join(', ')}`,
      `FROM ${tableName(table)}`,
      Sql.join(['WHERE ', Sql.join(where, '\n  AND ')]),
      // A deterministic order: records stream out in time order, ties broken by meaningful fields (engine/order.ts).
      'ORDER BY eventtime, eventsource, eventname, eventid',
      `LIMIT ${limit + 1}`,
    ],
    '\n',
  );
  const values = [...statement.params];
  return { sql: statement.text, parameters: values.map(sqlString), values, since, until };
}

/** `"catalog"."database"."table"` (validated identifiers). */
export function tableName(table: AthenaTable): string {
  validateTable(table);
  return `"${table.catalog}"."${table.database}"."${table.table}"`;
}

export interface Scope {
  since: Date;
  until: Date;
  accounts: readonly string[];
  regions: readonly string[];
  /** CloudTrail delivers up to ~15 minutes late, into the prefix of the day it delivers on (default 15 min). */
  latenessMs?: number;
}

/**
 * The rows of a scope: partition predicates first (they decide how many bytes Athena reads: the accounts, the
 * regions, and only the days from `since` to `until` plus late delivery), then the event-time range (inclusive, to
 * the second, as the local source reads it).
 */
export function scopeWhere(table: AthenaTable, scope: Scope): Sql {
  const { since, until, accounts, regions } = scope;
  if (!(since.getTime() <= until.getTime())) {
    throw invalid('since', `${since.toISOString()} is after until ${until.toISOString()}`);
  }
  for (const a of accounts) if (!ACCOUNT.test(a)) throw invalid('account', a, 'an account ID has 12 digits');
  for (const r of regions) if (!isRegionName(r)) throw invalid('region', r, 'e.g. us-east-1');
  const where: Sql[] = [];
  if (table.style !== 'none') {
    if (accounts.length) where.push(sql`account IN ${list(accounts)}`);
    if (regions.length) where.push(sql`region IN ${list(regions)}`);
    const firstDay = utcDay(since);
    const lastDay = utcDay(new Date(until.getTime() + (scope.latenessMs ?? 15 * 60_000)));
    if (table.style === 'projection') {
      where.push(sql`"timestamp" BETWEEN ${param(slashDate(firstDay))} AND ${param(slashDate(lastDay))}`);
    } else {
      const months = monthSpans(firstDay, lastDay).map(
        (m) =>
          sql`(year = ${param(m.year)} AND month = ${param(m.month)} AND day BETWEEN ${param(m.fromDay)} AND ${param(m.toDay)})`,
      );
      where.push(months.length === 1 ? months[0]! : Sql.join(['(', Sql.join(months, ' OR '), ')']));
    }
  }
  // eventtime is ISO-8601 text ("2023-07-10T12:27:45Z"), so string order is time order; times are whole seconds.
  where.push(sql`eventtime >= ${param(isoSeconds(new Date(Math.ceil(since.getTime() / 1000) * 1000)))}`);
  where.push(sql`eventtime <= ${param(isoSeconds(until))}`);
  if (accounts.length && table.style === 'none') where.push(sql`recipientaccountid IN ${list(accounts)}`);
  if (regions.length && table.style === 'none') where.push(sql`awsregion IN ${list(regions)}`);
  return Sql.join(where, '\n  AND ');
}

function list(values: readonly string[]): Sql {
  return Sql.join(['(', Sql.join(values.map(param), ', '), ')']);
}

/** The name of an IAM user, of the role behind a session, or of the session itself (last part of its ARN). */
function userWhere(user: string): Sql {
  if (!user || user.length > 512 || UNSAFE_IN_NAME.test(user)) {
    throw invalid('user', user, 'a user name or ARN has no quotes, semicolons, backslashes or line breaks');
  }
  if (user.startsWith('arn:')) {
    return sql`(useridentity.arn = ${param(user)} OR useridentity.sessioncontext.sessionissuer.arn = ${param(user)})`;
  }
  return sql`(useridentity.username = ${param(user)} OR useridentity.sessioncontext.sessionissuer.username = ${param(user)} OR element_at(split(useridentity.arn, '/'), -1) = ${param(user)})`;
}

function invalid(what: string, value: string, expected?: string): SourceError {
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return new SourceError(
    `The ${what} ${shown} is not valid${expected ? ` (${expected})` : ''}.`,
    'invalid-request',
    `Correct the ${what} and run the query again.`,
  );
}

function utcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function slashDate(d: Date): string {
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** The days from `first` to `last` (inclusive) as one span per calendar month, in CloudTrail's zero-padded form. */
export function monthSpans(
  first: Date,
  last: Date,
): { year: string; month: string; fromDay: string; toDay: string }[] {
  const spans: { year: string; month: string; fromDay: string; toDay: string }[] = [];
  let cursor = first;
  while (cursor.getTime() <= last.getTime()) {
    const y = cursor.getUTCFullYear();
    const m = cursor.getUTCMonth();
    const monthEnd = new Date(Date.UTC(y, m + 1, 0));
    const end = monthEnd.getTime() < last.getTime() ? monthEnd : last;
    spans.push({
      year: String(y),
      month: pad(m + 1),
      fromDay: pad(cursor.getUTCDate()),
      toDay: pad(end.getUTCDate()),
    });
    cursor = new Date(Date.UTC(y, m + 1, 1));
  }
  return spans;
}
