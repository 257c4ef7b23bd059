/**
 * The query engine behind the test endpoint's Athena API: DuckDB (`@duckdb/node-api`) holding the fixture records as
 * a CloudTrail-shaped table, so the SQL Cartographer generates really runs.
 *
 * The table has the columns of adapters/aws/athena-columns.ts (structs as STRUCT, arrays of structs, maps, the JSON
 * objects as text), partitioned like the CloudTrail bucket: `account` (recipientAccountId), `region` (awsRegion) and
 * the delivery day (`timestamp` yyyy/MM/dd and year/month/day), delivery being five minutes after the event, so
 * events just before midnight land in the next day's prefix as they do in S3.
 *
 * Dialect shim (Trino → DuckDB), kept small and explicit:
 *   - parameters: each `?` outside quotes is replaced by its ExecutionParameters literal, as Athena parses them;
 *   - `"catalog"."database"."table"` → the DuckDB table (an unknown name fails like Athena's TABLE_NOT_FOUND);
 *   - macros: regexp_like → regexp_matches, json_format(x) → CAST(x AS VARCHAR), json_extract_scalar →
 *     json_extract_string, from_iso8601_timestamp → CAST(… AS TIMESTAMPTZ), to_unixtime → epoch,
 *     slice(list, start, length) → list_slice(list, start, start + length - 1);
 *   - element_at(list, i) → list_extract(list, i); cardinality(array) → len(array) (DuckDB's cardinality is for maps);
 *   - min_by(x, y) → arg_min_null(x, y): Trino returns x of the row with the least y even when that x is null,
 *     DuckDB's min_by skips rows whose x is null.
 * Everything else (GROUPING SETS, grouping(), arbitrary, count_if, array_agg … FILTER, array_sort and
 * array_distinct on arrays of arrays, strpos, starts_with, substr, lpad, regexp_extract, CAST(struct or array AS JSON),
 * window aggregates with RANGE frames over a numeric offset, array_agg as a window aggregate, filter(array, x -> …),
 * CROSS JOIN UNNEST(ARRAY[…]) AS u(c)) is the same in both.
 *
 * Engine settings (no change to the SQL that runs): the `in_clause` optimizer is off, so an IN list of constants is
 * compared in place rather than joined as a table (hundreds of such joins made each scan statement minutes slower).
 *
 * Bytes scanned are modelled as Athena bills them: the gzip size of every partition a table scan reads, where the
 * partitions read are those the scan's WHERE clause admits on partition columns alone (found with DuckDB's own parser,
 * json_serialize_sql); each table scan of a statement counts.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { CLOUDTRAIL_COLUMNS, type Column, type ColumnType } from '../../adapters/aws/athena-columns.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';

export interface TableName {
  catalog: string;
  database: string;
  table: string;
}

export interface QueryOutcome {
  columns: string[];
  rows: (string | null)[][];
  bytesScanned: number;
}

export class AthenaQueryError extends Error {}

const DELIVERY_DELAY_MS = 5 * 60_000;
const PARTITION_COLUMNS = ['account', 'region', 'timestamp', 'year', 'month', 'day'];

export class DuckAthena {
  private constructor(
    private readonly db: DuckDBInstance,
    readonly name: TableName,
    private readonly totalBytes: number,
  ) {}

  /** Loads the records (any iterable: a day of a million records is streamed to disk partition by partition). */
  static async create(records: Iterable<CloudTrailRecord>, name: TableName): Promise<DuckAthena> {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    // DuckDB rewrites an IN list of constants into a join with the list (one hash table per list): the scan's
    // hundreds of IN lists then cost seconds of set-up per statement. Compared in place instead, with the same result.
    await c.run("SET GLOBAL disabled_optimizers = 'in_clause'");
    for (const macro of MACROS) await c.run(macro);
    await c.run(`CREATE TABLE cloudtrail (${tableColumns()})`);
    await c.run(
      'CREATE TABLE partitions (account VARCHAR, region VARCHAR, "timestamp" VARCHAR, year VARCHAR, month VARCHAR, day VARCHAR, bytes BIGINT)',
    );
    const dir = mkdtempSync(join(tmpdir(), 'duck-athena-'));
    let total = 0;
    try {
      const partitions = writePartitions(records, dir);
      if (partitions.size > 0) {
        await c.run(
          `INSERT INTO cloudtrail SELECT * FROM read_json('${join(dir, '*.ndjson')}', format = 'newline_delimited', columns = {${jsonColumns()}})`,
        );
      }
      for (const [key, file] of partitions) {
        // Athena bills the gzip files CloudTrail writes: a partition's bytes are its rows, gzipped.
        const bytes = gzipSync(readFileSync(file)).length;
        total += bytes;
        await c.run(
          `INSERT INTO partitions VALUES (${key.split('\u0000').map(literal).join(', ')}, ${bytes})`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      c.closeSync();
    }
    return new DuckAthena(db, name, total);
  }

  /** Runs one Athena statement; throws AthenaQueryError with Athena-like messages for what Athena would reject. */
  async run(sql: string, parameters: readonly string[], signal?: AbortSignal): Promise<QueryOutcome> {
    const bound = bindParameters(sql, parameters);
    const translated = this.translate(bound);
    const c = await this.db.connect();
    const stop = () => c.interrupt();
    signal?.addEventListener('abort', stop);
    try {
      const bytesScanned = await this.bytesScanned(c, translated);
      const result = await c.runAndReadAll(translated);
      const columns = result.columnNames();
      const rows = result.getRowsJson().map((row) => row.map(text));
      return { columns, rows, bytesScanned };
    } catch (err) {
      if (err instanceof AthenaQueryError) throw err;
      throw new AthenaQueryError(`GENERIC_INTERNAL_ERROR: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      signal?.removeEventListener('abort', stop);
      c.closeSync();
    }
  }

  /** The columns as Glue describes them (for GetTableMetadata). */
  describe(): { Name: string; Type: string }[] {
    return CLOUDTRAIL_COLUMNS.map((c) => ({ Name: c.name.toLowerCase(), Type: glueType(c.type) }));
  }

  close(): void {
    this.db.closeSync();
  }

  private translate(sql: string): string {
    const ref = /"([^"]+)"\."([^"]+)"\."([^"]+)"/g;
    return sql
      .replace(ref, (_m, catalog: string, database: string, table: string) => {
        const n = this.name;
        if (
          catalog.toLowerCase() !== n.catalog.toLowerCase() ||
          database !== n.database ||
          table !== n.table
        ) {
          throw new AthenaQueryError(
            `TABLE_NOT_FOUND: line 1:1: Table '${catalog.toLowerCase()}.${database}.${table}' does not exist`,
          );
        }
        return 'cloudtrail';
      })
      .replace(/\belement_at\(/g, 'list_extract(')
      .replace(/\bmin_by\(/g, 'arg_min_null(')
      .replace(/\bcardinality\(/g, 'len(');
  }

  /** Σ over table scans of the gzip bytes of the partitions each scan's partition predicates admit. */
  private async bytesScanned(c: DuckDBConnection, sql: string): Promise<number> {
    const parsed = await c.runAndReadAll(`SELECT json_serialize_sql(${literal(sql)}) AS j`);
    const ast = JSON.parse(String(parsed.getRowObjectsJson()[0]?.j)) as { error?: boolean };
    if (ast.error) return this.totalBytes;
    let bytes = 0;
    for (const where of tableScans(ast)) {
      const predicate = where.map(printPartitionPredicate).filter((p): p is string => p !== undefined);
      const q = `SELECT COALESCE(sum(bytes), 0) AS b FROM partitions${predicate.length ? ` WHERE ${predicate.join(' AND ')}` : ''}`;
      const r = await c.runAndReadAll(q);
      bytes += Number(r.getRowObjectsJson()[0]?.b ?? 0);
    }
    return bytes;
  }
}

const MACROS = [
  'CREATE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
  'CREATE MACRO json_format(j) AS CAST(j AS VARCHAR)',
  'CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)',
  'CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)',
  'CREATE MACRO to_unixtime(t) AS epoch(t)',
  'CREATE MACRO slice(l, s, n) AS list_slice(l, s, s + n - 1)',
];

function literal(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** Athena renders every value as text; DuckDB's JSON rows give strings, numbers, booleans and nested values. */
function text(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}

/** Replaces each `?` outside string literals, quoted identifiers and comments by its parameter (a SQL literal). */
export function bindParameters(sql: string, parameters: readonly string[]): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"') {
      const end = closingQuote(sql, i, ch);
      out += sql.slice(i, end + 1);
      i = end;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (ch === '?') {
      const p = parameters[n++];
      if (p === undefined) throw new AthenaQueryError('INVALID_PARAMETER: more ? than ExecutionParameters');
      if (!/^'(?:[^']|'')*'$/s.test(p) && !/^-?\d+(\.\d+)?$/.test(p) && !/^(TRUE|FALSE|NULL)$/i.test(p)) {
        throw new AthenaQueryError(`INVALID_PARAMETER: ${p.slice(0, 40)} is not a literal`);
      }
      out += p;
    } else out += ch;
  }
  if (n !== parameters.length)
    throw new AthenaQueryError('INVALID_PARAMETER: more ExecutionParameters than ?');
  return out;
}

function closingQuote(sql: string, start: number, q: string): number {
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) {
        i++;
        continue;
      }
      return i;
    }
  }
  throw new AthenaQueryError('SYNTAX_ERROR: unterminated quote');
}

// ---- the table ------------------------------------------------------------------------------------------------

/** Rows appended to one NDJSON file per partition, a few thousand at a time; partition key → file. */
function writePartitions(records: Iterable<CloudTrailRecord>, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const pending = new Map<string, string[]>();
  const flush = (key: string) => {
    const lines = pending.get(key);
    if (!lines?.length) return;
    appendFileSync(files.get(key)!, `${lines.join('\n')}\n`);
    pending.set(key, []);
  };
  for (const r of records) {
    const row = athenaRow(r);
    const key = PARTITION_COLUMNS.map((k) => row[k]).join('\u0000');
    if (!files.has(key)) {
      files.set(key, join(dir, `p${files.size}.ndjson`));
      pending.set(key, []);
    }
    const lines = pending.get(key)!;
    lines.push(JSON.stringify(row));
    if (lines.length >= 5000) flush(key);
  }
  for (const key of files.keys()) flush(key);
  return files;
}

function duckType(t: ColumnType): string {
  switch (t.kind) {
    case 'string':
    case 'json':
      return 'VARCHAR';
    case 'map':
      return 'MAP(VARCHAR, VARCHAR)';
    case 'array':
      return `${duckType(t.of)}[]`;
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `"${f.name.toLowerCase()}" ${duckType(f.type)}`).join(', ')})`;
  }
}

function glueType(t: ColumnType): string {
  switch (t.kind) {
    case 'string':
    case 'json':
      return 'string';
    case 'map':
      return 'map<string,string>';
    case 'array':
      return `array<${glueType(t.of)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name.toLowerCase()}:${glueType(f.type)}`).join(',')}>`;
  }
}

function tableColumns(): string {
  const cols = CLOUDTRAIL_COLUMNS.map((c) => `"${c.name.toLowerCase()}" ${duckType(c.type)}`);
  return [...cols, ...PARTITION_COLUMNS.map((p) => `"${p}" VARCHAR`)].join(', ');
}

function jsonColumns(): string {
  const cols = CLOUDTRAIL_COLUMNS.map((c) => `"${c.name.toLowerCase()}": '${duckType(c.type)}'`);
  return [...cols, ...PARTITION_COLUMNS.map((p) => `"${p}": 'VARCHAR'`)].join(', ');
}

/** A record the way the CloudTrail SerDe presents it: lower-case names, JSON objects as text, partitions added. */
function athenaRow(r: CloudTrailRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const byLower = new Map(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
  for (const c of CLOUDTRAIL_COLUMNS) {
    const v = byLower.get(c.name.toLowerCase());
    out[c.name.toLowerCase()] = cell(c, v);
  }
  const delivered = new Date(Date.parse(r.eventTime) + DELIVERY_DELAY_MS);
  const [y, m, d] = delivered.toISOString().slice(0, 10).split('-') as [string, string, string];
  out.account = r.recipientAccountId ?? r.userIdentity?.accountId ?? '000000000000';
  out.region = r.awsRegion ?? 'us-east-1';
  out.timestamp = `${y}/${m}/${d}`;
  out.year = y;
  out.month = m;
  out.day = d;
  return out;
}

function cell(c: Column, v: unknown): unknown {
  if (v === undefined || v === null) return null;
  if (c.type.kind === 'json') return typeof v === 'string' ? v : JSON.stringify(v);
  if (c.type.kind === 'string') return typeof v === 'object' ? JSON.stringify(v) : String(v);
  return lowerKeys(v, c.type);
}

function lowerKeys(v: unknown, t: ColumnType): unknown {
  if (v === null || v === undefined) return null;
  if (t.kind === 'array') return Array.isArray(v) ? v.map((x) => lowerKeys(x, t.of)) : null;
  if (t.kind === 'map') return typeof v === 'object' ? v : null;
  if (t.kind === 'struct') {
    if (typeof v !== 'object' || Array.isArray(v)) return null;
    const byLower = new Map(Object.entries(v).map(([k, x]) => [k.toLowerCase(), x]));
    return Object.fromEntries(
      t.fields.map((f) => [f.name.toLowerCase(), lowerKeys(byLower.get(f.name.toLowerCase()), f.type)]),
    );
  }
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

// ---- bytes scanned: partition predicates of each table scan ----------------------------------------------------

type Node = Record<string, unknown>;

/** The top-level AND conjuncts of the WHERE clause of every SELECT that scans the table. */
function tableScans(ast: unknown): Node[][] {
  const out: Node[][] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
      return;
    }
    if (!v || typeof v !== 'object') return;
    const n = v as Node;
    const from = n.from_table as Node | undefined;
    if (n.type === 'SELECT_NODE' && from?.type === 'BASE_TABLE' && from.table_name === 'cloudtrail') {
      out.push(conjuncts(n.where_clause as Node | null));
    }
    for (const x of Object.values(n)) visit(x);
  };
  visit(ast);
  return out;
}

function conjuncts(n: Node | null | undefined): Node[] {
  if (!n) return [];
  if (n.type === 'CONJUNCTION_AND') return (n.children as Node[]).flatMap(conjuncts);
  return [n];
}

/** A conjunct over partition columns and constants only, as SQL for the partitions table; else undefined. */
function printPartitionPredicate(n: Node): string | undefined {
  const col = (x: Node) => {
    const names = x.column_names as string[] | undefined;
    const name = names?.at(-1);
    return x.type === 'COLUMN_REF' && name && PARTITION_COLUMNS.includes(name) ? `"${name}"` : undefined;
  };
  const constant = (x: Node) => {
    const value = x.value as { is_null?: boolean; value?: unknown } | undefined;
    return x.type === 'VALUE_CONSTANT' && value && !value.is_null ? literal(String(value.value)) : undefined;
  };
  const term = (x: Node) => col(x) ?? constant(x);
  switch (n.type) {
    case 'COMPARE_IN': {
      const [first, ...rest] = n.children as Node[];
      const c = first && col(first);
      const values = rest.map(constant);
      return c && values.every(Boolean) ? `${c} IN (${values.join(', ')})` : undefined;
    }
    case 'COMPARE_BETWEEN': {
      const [c, lo, hi] = [n.input, n.lower, n.upper].map((x) => term(x as Node));
      return c && lo && hi ? `${c} BETWEEN ${lo} AND ${hi}` : undefined;
    }
    case 'COMPARE_EQUAL': {
      const l = term(n.left as Node);
      const r = term(n.right as Node);
      return l && r ? `${l} = ${r}` : undefined;
    }
    case 'CONJUNCTION_OR':
    case 'CONJUNCTION_AND': {
      const parts = (n.children as Node[]).map(printPartitionPredicate);
      if (parts.some((p) => p === undefined)) return undefined;
      return `(${parts.join(n.type === 'CONJUNCTION_OR' ? ' OR ' : ' AND ')})`;
    }
    default:
      return undefined;
  }
}
