/**
 * Event filters (engine/detections/event-filter.ts) as Athena (Trino) SQL predicates, conservatively:
 *
 *   over(f)   holds for every row f holds for (and maybe more): what the prefilter uses
 *   under(f)  holds only for rows f holds for (and maybe fewer): what `not` needs, since over(not f) = NOT under(f)
 *
 * Every predicate is NULL-free (COALESCE(…, FALSE)), so NOT is safe. Values are never written into the SQL text:
 * each is a `?` with its value in the fragment's parameters (Athena ExecutionParameters), in text order. No LIKE
 * (so `%` and `_` in values are plain characters): equality, strpos, starts_with, substr.
 *
 * Where SQL and the rules' JavaScript semantics could part ways (case folding and regular expressions on text
 * outside printable ASCII), `over` lets the row through to Node, where the rule decides, and `under` leaves it out.
 * JSON-text columns (requestParameters …) are only searched for the value's text (a row that matches must contain
 * it), never decided exactly. A regular expression outside a small portable subset is not sent at all.
 */
import type { EventFilter, FieldFilter } from '../../engine/detections/event-filter.ts';
import { type ColumnRef, columnFor } from './athena-columns.ts';
import { portableRegex } from './athena-regex.ts';

/** A piece of SQL with its `?` parameters (raw values, in text order). */
export class Sql {
  constructor(
    readonly text: string,
    readonly params: readonly string[] = [],
  ) {}

  static join(parts: readonly (Sql | string)[], sep = ''): Sql {
    const text: string[] = [];
    const params: string[] = [];
    for (const p of parts) {
      if (typeof p === 'string') text.push(p);
      else {
        text.push(p.text);
        params.push(...p.params);
      }
    }
    return new Sql(text.join(sep), params);
  }
}

export const param = (value: string): Sql => new Sql('?', [value]);

/** Most arguments one `concat` call gets (Trino allows 254); more are split into nested calls. */
const CONCAT_ARGS = 100;

/**
 * The text of `parts` concatenated, as flat `concat(…)` calls (nested by CONCAT_ARGS) instead of an `a || b || …`
 * chain: the same string (no part may be NULL), but one call per row rather than hundreds of nested ones, which a
 * planner walks once per level (DuckDB took minutes for 260 rules' hit sets).
 */
export function concatAll(parts: readonly Sql[]): Sql {
  if (parts.length === 0) return new Sql("''");
  if (parts.length === 1) return parts[0]!;
  if (parts.length <= CONCAT_ARGS) return Sql.join(['concat(', Sql.join(parts, ', '), ')']);
  const chunks: Sql[] = [];
  const size = Math.ceil(parts.length / Math.ceil(parts.length / CONCAT_ARGS));
  for (let i = 0; i < parts.length; i += size) chunks.push(concatAll(parts.slice(i, i + size)));
  return concatAll(chunks);
}

export function sql(strings: TemplateStringsArray, ...values: (Sql | string)[]): Sql {
  const parts: (Sql | string)[] = [];
  strings.forEach((s, i) => {
    parts.push(s);
    if (i < values.length) parts.push(values[i]!);
  });
  return Sql.join(parts);
}

/** What the renderer needs besides the filter: the scanned rows, for semi-joins (`sameValueAs`). */
export interface FilterContext {
  /** `FROM … WHERE …` of the rows a semi-join may look at (same table, partitions and time range). */
  rows: Sql;
  /** Filled with why a test had to be widened (no column, JSON text, a regex SQL cannot run the same way). */
  widened?: Set<string>;
  /**
   * Semi-joins already answered (by an earlier statement of the same scan): `joinKey(node)` → the values. A known
   * join is an IN list of parameters instead of a subquery, which would read the table once more.
   */
  joins?: ReadonlyMap<string, readonly string[]>;
  /**
   * Whether a key one level into a JSON-text column is present is decided with json_extract_scalar, which is exact
   * unless the JSON there is an array or an object (`undecidedJson`): for counting, where such events are left out.
   */
  exactJsonExists?: boolean;
}

/**
 * Where `exactJsonExists` may be wrong for `path`: the JSON-text column holds an array, or the value at the key is an
 * array or an object (undefined: the path is no key one level into a JSON-text column).
 */
export function undecidedJson(path: string): string | undefined {
  const c = columnFor(path);
  const [, ...inner] = path.split('.');
  if (c?.kind !== 'json' || inner.length !== 1 || !/^[A-Za-z0-9_]+$/.test(inner[0]!)) return undefined;
  return `COALESCE(regexp_like(${c.sql}, '^\\s*\\[') OR regexp_like(json_format(json_extract(${c.sql}, '$.${inner[0]}')), '^[\\[{]'), FALSE)`;
}

/** The identity of a semi-join node (its field, other field and condition). */
export function joinKey(f: Extract<EventFilter, { kind: 'sameValueAs' }>): string {
  return JSON.stringify([f.field, f.otherField ?? f.field, f.of]);
}

/** Longest IN list written for a known semi-join; beyond it, the subquery is used. */
const MAX_JOIN_VALUES = 2000;

type Pred = Sql | boolean;

/** Text outside printable ASCII (or control characters): decided in Node, not in SQL. */
const NOT_PLAIN = "'[^\\x20-\\x7E]'";

export function over(f: EventFilter, ctx: FilterContext): Pred {
  return render(f, true, ctx);
}

export function under(f: EventFilter, ctx: FilterContext): Pred {
  return render(f, false, ctx);
}

export function toSql(p: Pred): Sql {
  return typeof p === 'boolean' ? new Sql(p ? 'TRUE' : 'FALSE') : p;
}

function render(f: EventFilter, wide: boolean, ctx: FilterContext): Pred {
  switch (f.kind) {
    case 'const':
      return f.value;
    case 'and':
      return combine(
        f.parts.map((p) => render(p, wide, ctx)),
        'AND',
      );
    case 'or':
      return combine(
        f.parts.map((p) => render(p, wide, ctx)),
        'OR',
      );
    case 'not': {
      const inner = render(f.part, !wide, ctx);
      return typeof inner === 'boolean' ? !inner : sql`(NOT ${inner})`;
    }
    case 'opaque':
      return wide;
    case 'within':
      return wide ? render(f.filter, true, ctx) : false;
    case 'sameValueAs': {
      // Collected values answer the join for widening only (they were collected with the widened condition).
      const known = wide ? ctx.joins?.get(joinKey(f)) : undefined;
      if (known && known.length <= MAX_JOIN_VALUES) return inList(f.field, known, wide, ctx);
      return semiJoin(f.field, f.otherField ?? f.field, render(f.of, wide, ctx), wide, ctx);
    }
    case 'sameAccount':
      return sameAccount(f, wide);
    case 'field':
      return fieldPred(f, wide, ctx);
  }
}

/** An account number as accountOf (detections/account.ts) reads it from a value: an ARN's fifth field, or the value. */
function accountSql(v: string): string {
  return `(CASE WHEN substr(${v}, 1, 4) = 'arn:' THEN split_part(${v}, ':', 5) ELSE ${v} END)`;
}

/**
 * Decided only where SQL is sure (one value, a twelve-digit account equal to one of the other fields' twelve-digit
 * values); elsewhere "could hold" when widening, "does not hold" when narrowing (its use: under a NOT, which widens).
 */
function sameAccount(f: Extract<EventFilter, { kind: 'sameAccount' }>, wide: boolean): Pred {
  if (wide) return true;
  const v = valueExpr(f.field);
  const others = f.as.map((a) => valueExpr(a)).filter((x): x is string => x !== undefined);
  if (!v || others.length === 0) return false;
  const a = accountSql(v);
  const same = others.map((o) => `${a} = ${o}`).join(' OR ');
  return new Sql(`COALESCE(regexp_like(${a}, '^[0-9]{12}$') AND (${same}), FALSE)`);
}

function combine(parts: Pred[], op: 'AND' | 'OR'): Pred {
  const absorbing = op === 'OR';
  const kept: Sql[] = [];
  for (const p of parts) {
    if (typeof p === 'boolean') {
      if (p === absorbing) return absorbing;
      continue;
    }
    kept.push(p);
  }
  if (kept.length === 0) return !absorbing;
  if (kept.length === 1) return kept[0]!;
  return Sql.join(['(', Sql.join(kept, ` ${op} `), ')']);
}

function semiJoin(path: string, otherPath: string, of: Pred, wide: boolean, ctx: FilterContext): Pred {
  const c = columnFor(path);
  const other = valueExpr(otherPath);
  if (c?.kind !== 'scalar' || !other) {
    ctx.widened?.add(`'${path}' cannot be joined in SQL`);
    return wide;
  }
  if (of === false) return false;
  const cond = of === true ? ctx.rows : sql`${ctx.rows} AND ${of}`;
  return sql`COALESCE(${c.sql} IN (SELECT ${other} ${cond}), FALSE)`;
}

function inList(path: string, values: readonly string[], wide: boolean, ctx: FilterContext): Pred {
  const c = columnFor(path);
  if (c?.kind !== 'scalar') {
    ctx.widened?.add(`'${path}' cannot be joined in SQL`);
    return wide;
  }
  if (values.length === 0) return false;
  return sql`COALESCE(${c.sql} IN (${Sql.join(values.map(param), ', ')}), FALSE)`;
}

/** A single value of a path: a STRING column, or a plain path into a JSON-text column (json_extract_scalar). */
export function valueExpr(path: string): string | undefined {
  const c = columnFor(path);
  if (c?.kind === 'scalar') return c.sql;
  if (c?.kind !== 'json') return undefined;
  const [, ...inner] = path.split('.');
  if (inner.length === 0 || !inner.every((p) => /^[A-Za-z0-9_]+$/.test(p))) return undefined;
  return `json_extract_scalar(${c.sql}, '$.${inner.join('.')}')`;
}

function fieldPred(f: FieldFilter, wide: boolean, ctx: FilterContext): Pred {
  const c = columnFor(f.field);
  if (!c) {
    ctx.widened?.add(`'${f.field}' is no column of the CloudTrail table`);
    return wide;
  }
  if (f.op === 'exists') return exists(c, f, wide, f.field, ctx);
  if (c.kind !== 'scalar') {
    ctx.widened?.add(`'${f.field}' is searched as JSON text`);
    return wide ? textSearch(c, f) : false;
  }
  const p = scalarPred(c.sql, f, wide);
  if (f.op === 'regex' && typeof p === 'boolean')
    ctx.widened?.add(`the regular expression on '${f.field}' is not portable to Athena`);
  return p;
}

function exists(c: ColumnRef, f: FieldFilter, wide: boolean, path: string, ctx: FilterContext): Pred {
  if (ctx.exactJsonExists && undecidedJson(path)) {
    const value = valueExpr(path)!;
    return new Sql(f.nonEmpty ? `COALESCE(${value} <> '', FALSE)` : `(${value} IS NOT NULL)`);
  }
  if (c.kind !== 'scalar') {
    // A key in JSON text is not the same as a value Cartographer reads (null and empty values, array elements).
    ctx.widened?.add(`whether '${path}' is present is read from JSON text`);
    if (!wide) return false;
    // A plain path into a JSON-text column: the key is there (a value reached implies it; null values pass too).
    const [, ...inner] = path.split('.');
    if (c.kind === 'json' && inner.length > 0 && inner.every((p) => /^[A-Za-z0-9_]+$/.test(p)))
      return new Sql(`(json_extract(${c.sql}, '$.${inner.join('.')}') IS NOT NULL)`);
    return new Sql(`(${c.sql} IS NOT NULL)`);
  }
  return new Sql(f.nonEmpty ? `COALESCE(${c.sql} <> '', FALSE)` : `(${c.sql} IS NOT NULL)`);
}

/** One test on a STRING column, exact where the engines agree (see the module comment). */
function scalarPred(column: string, f: FieldFilter, wide: boolean): Pred {
  const values = f.ignoreCase ? f.values.map((v) => v.toLowerCase()) : f.values;
  const subject = f.ignoreCase ? `lower(${column})` : column;
  let test: Sql;
  switch (f.op) {
    case 'equals':
      if (values.length === 0) return false;
      test = sql`${subject} IN (${Sql.join(values.map(param), ', ')})`;
      break;
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      if (values.some((v) => v === '')) return new Sql(`(${column} IS NOT NULL)`);
      test = Sql.join(
        values.map((v) => textOp(f.op, subject, v)),
        ' OR ',
      );
      break;
    case 'regex': {
      const re = portableRegex(f.values[0] ?? '', f.ignoreCase === true);
      if (!re) return wide;
      test = sql`regexp_like(${column}, ${param(re)})`;
      break;
    }
    default:
      return wide;
  }
  const guarded = f.ignoreCase || f.op === 'regex';
  if (!guarded) return sql`COALESCE(${test}, FALSE)`;
  // Case folding and regular expressions agree with JavaScript on printable ASCII only.
  return wide
    ? sql`COALESCE((${test}) OR regexp_like(${column}, ${NOT_PLAIN}), FALSE)`
    : sql`COALESCE((${test}) AND NOT regexp_like(${column}, ${NOT_PLAIN}), FALSE)`;
}

function textOp(op: FieldFilter['op'], subject: string, value: string): Sql {
  if (op === 'contains') return sql`strpos(${subject}, ${param(value)}) > 0`;
  if (op === 'startsWith') return sql`starts_with(${subject}, ${param(value)})`;
  const n = length(value);
  return sql`(length(${subject}) >= ${String(n)} AND substr(${subject}, length(${subject}) - ${String(n - 1)}) = ${param(value)})`;
}

/** Code points, as Trino's length() counts them. */
function length(s: string): number {
  return [...s].length;
}

/**
 * A row whose value satisfies the test contains the value's text somewhere in the column's JSON text, as long as
 * that text has no character JSON may escape: search for the longest run without one (no run: anything goes).
 */
function textSearch(c: ColumnRef, f: FieldFilter): Pred {
  if (f.op === 'regex') return true;
  const runs = f.values.map((v) => longestPlainRun(f.ignoreCase ? v.toLowerCase() : v));
  if (runs.some((r) => r === '')) return new Sql(`(${c.sql} IS NOT NULL)`);
  const subject = f.ignoreCase ? `lower(${c.sql})` : c.sql;
  const tests = runs.map((r) => sql`strpos(${subject}, ${param(r)}) > 0`);
  const any = Sql.join(tests, ' OR ');
  return f.ignoreCase
    ? sql`COALESCE((${any}) OR regexp_like(${c.sql}, ${NOT_PLAIN}), FALSE)`
    : sql`COALESCE(${any}, FALSE)`;
}

function longestPlainRun(v: string): string {
  let best = '';
  for (const run of v.split(/[^\x20-\x7E]|["\\/]/)) if (run.length > best.length) best = run;
  return best;
}
