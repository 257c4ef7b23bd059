/**
 * Athena result rows back into CloudTrail records.
 *
 * Athena lower-cases every column and struct field name (`useridentity.sessioncontext.sessionissuer.username`), returns
 * struct columns as text (JSON when the query casts them, see athena-sql.ts; Hive's `{key=value, …}` otherwise),
 * keeps `requestparameters`-style columns as the original JSON strings, and returns SQL NULL for absent fields. This
 * restores CloudTrail's own field names and types so the engine cannot tell an Athena record from a file record.
 */
// CloudTrail's field names by lower-case spelling: the one list the file normaliser uses too.
import { CLOUDTRAIL_FIELD_NAMES as FIELD_NAMES } from '../../engine/ingest/normalise-record.ts';
import { type CloudTrailRecord, CloudTrailRecordSchema } from '../../engine/record.ts';

/** `resources[].arn` is spelt `ARN` in CloudTrail; elsewhere `arn`. */
const RESOURCE_FIELDS: ReadonlyMap<string, string> = new Map([
  ['arn', 'ARN'],
  ['accountid', 'accountId'],
  ['type', 'type'],
]);
/** Columns holding CloudTrail's JSON objects as strings. */
const JSON_STRING_COLUMNS = new Set([
  'requestparameters',
  'responseelements',
  'additionaleventdata',
  'serviceeventdetails',
]);
const BOOLEAN_COLUMNS = new Set(['readonly', 'managementevent']);
/** Maps whose keys are data (tags, federation attributes), not field names: keep them as they are. */
const OPAQUE_MAPS = new Set(['attributes']);

export type RowResult = { record: CloudTrailRecord } | { reason: string };

/** One row (values in column order, `undefined` for NULL) → a record, or why it cannot be one. */
export function rowToRecord(columns: readonly string[], values: readonly (string | undefined)[]): RowResult {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!.toLowerCase();
    const text = values[i];
    if (text === undefined || text === null) continue;
    const name = FIELD_NAMES.get(column) ?? column;
    try {
      const value = columnValue(column, text);
      if (value === undefined) continue;
      if (value instanceof Unparsed) {
        // Keep the text rather than lose the event: the engine reads the typed fields, analysts can read this one.
        out[`${name}Text`] = value.text;
        continue;
      }
      out[name] = value;
    } catch (err) {
      return { reason: `column ${column}: ${(err as Error).message}` };
    }
  }
  const parsed = CloudTrailRecordSchema.safeParse(out);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { reason: `not a CloudTrail record: ${issue?.path.join('.') || '(root)'}: ${issue?.message}` };
  }
  return { record: parsed.data };
}

class Unparsed {
  constructor(readonly text: string) {}
}

function columnValue(column: string, text: string): unknown {
  if (BOOLEAN_COLUMNS.has(column)) return text === 'true' ? true : text === 'false' ? false : text;
  if (JSON_STRING_COLUMNS.has(column)) {
    if (text === '' || text === 'null') return null;
    try {
      return JSON.parse(text);
    } catch {
      return new Unparsed(text);
    }
  }
  if (
    column === 'useridentity' ||
    column === 'tlsdetails' ||
    column === 'resources' ||
    column === 'addendum'
  ) {
    const structured = parseStructText(text);
    if (structured === null) return undefined;
    if (column === 'resources') {
      if (!Array.isArray(structured)) throw new Error('expected an array');
      return structured.map((r) => renameKeys(r, RESOURCE_FIELDS));
    }
    return renameKeys(structured, FIELD_NAMES);
  }
  return text;
}

/** JSON first (what our query asks for); Hive's struct notation as the fallback for hand-written queries. */
export function parseStructText(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) return new HiveStructParser(trimmed).parse();
    throw new Error(`cannot read ${JSON.stringify(trimmed.slice(0, 60))}`);
  }
}

/** Renames keys to CloudTrail's spelling and drops nulls (Athena fills every absent struct field with NULL). */
function renameKeys(value: unknown, names: ReadonlyMap<string, string>, opaque = false): unknown {
  if (Array.isArray(value)) return value.map((v) => renameKeys(v, names, opaque));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    const key = opaque ? k : (names.get(k.toLowerCase()) ?? k);
    // An empty object stays: CloudTrail writes `sessionIssuer: {}` itself, and the JSON SerDe returns a struct of
    // NULLs for it (a field the event lacks entirely comes back as NULL and is dropped above).
    out[key] = renameKeys(v, FIELD_NAMES, !opaque && OPAQUE_MAPS.has(k.toLowerCase()) && isFlatMap(v));
  }
  return out;
}

/** `sessionContext.attributes` is a struct; `webIdFederationData.attributes` is a map of claims: only rename the first. */
function isFlatMap(v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  return !Object.keys(v).every((k) => FIELD_NAMES.has(k.toLowerCase()));
}

/**
 * Best-effort reader for Hive's `{a=1, b={c=x}, d=[{…}]}` rendering. A value runs to the next `, key=` or closing
 * bracket at its own depth, so commas inside values survive unless followed by something that looks like a key.
 */
class HiveStructParser {
  private i = 0;
  constructor(private readonly s: string) {}

  parse(): unknown {
    const v = this.value();
    return v;
  }

  private value(): unknown {
    this.skipSpace();
    const c = this.s[this.i];
    if (c === '{') return this.struct();
    if (c === '[') return this.array();
    return this.scalar();
  }

  private struct(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++; // {
    this.skipSpace();
    if (this.s[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      const eq = this.s.indexOf('=', this.i);
      if (eq < 0) throw new Error('malformed struct text');
      const key = this.s.slice(this.i, eq).trim();
      this.i = eq + 1;
      out[key] = this.value();
      this.skipSpace();
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') throw new Error('malformed struct text');
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.i++; // [
    this.skipSpace();
    if (this.s[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipSpace();
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') throw new Error('malformed array text');
    }
  }

  private scalar(): string | null {
    const start = this.i;
    for (; this.i < this.s.length; this.i++) {
      const c = this.s[this.i];
      if (c === '}' || c === ']') break;
      if (c === ',' && /^,\s*([a-z0-9_]+=|\{|\[)/i.test(this.s.slice(this.i, this.i + 64))) break;
      if (c === ',' && this.s[this.i + 1] === ' ' && this.inArrayOfScalars()) break;
    }
    const text = this.s.slice(start, this.i).trim();
    return text === 'null' ? null : text;
  }

  /** Inside `[a, b]` of plain values, a comma separates elements. */
  private inArrayOfScalars(): boolean {
    const open = Math.max(this.s.lastIndexOf('[', this.i), this.s.lastIndexOf('{', this.i));
    return open >= 0 && this.s[open] === '[';
  }

  private skipSpace(): void {
    while (this.s[this.i] === ' ') this.i++;
  }
}
