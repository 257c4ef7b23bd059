/**
 * The one YAML rule-file loader (signals, detections, tuning, context, rule tests): parses with the `yaml`
 * document API and validates with a zod schema, turning every problem (bad YAML, unknown key, wrong type) into
 * `{file, line, message}` so `rules check` and the loaders can say exactly where a definition is wrong. Rule
 * authors edit these files by hand at odd hours: the line number is the whole point.
 *
 * Two entry points: `readYamlFile`/`parseYamlText` (signal rules: every problem, unknown keys at their own line)
 * and `parseYaml`/`validate` (detection rules: data first, `path: message` problems).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { type Document, isNode, LineCounter, parse, parseAllDocuments, parseDocument } from 'yaml';
import type { z } from 'zod';

export interface RuleProblem {
  file: string;
  /** 1-based line; 0 when the problem concerns the whole file. */
  line: number;
  message: string;
  /** Warnings (e.g. an unsupported Sigma rule, reported and skipped) do not make `rules check` fail. */
  severity?: 'error' | 'warning';
}

export interface ParsedYaml<T> {
  value?: T;
  problems: RuleProblem[];
  /** Line of the node at a path inside the document (for checks made after validation). */
  lineOf(path: readonly (string | number)[]): number;
}

export async function readYamlFile<T>(file: string, schema: z.ZodType<T>): Promise<ParsedYaml<T>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return {
      problems: [{ file, line: 0, message: `cannot read: ${(err as Error).message}` }],
      lineOf: () => 0,
    };
  }
  return parseYamlText(file, text, schema);
}

/*
 * The build's snapshot of the bundled rules (`bin/build.js` writes dist/rules-snapshot.json through
 * compose/rule-snapshot.ts): the data of every YAML text the default stages load, keyed by a hash of the text,
 * with the lines the loaders asked for. A text found there is not parsed again (YAML parsing was most of the
 * start-up); any other text (an edited rule, a user's own folder, running from the sources) goes the normal way,
 * and a line the snapshot does not hold parses the text when asked.
 */
const SNAPSHOT_VERSION = 1;
const SNAPSHOT_FILE = new URL('../rules-snapshot.json', import.meta.url);

/** One text's data as JSON text (parsed per use: nothing shared between loaders) and the lines asked for. */
interface SnapshotEntry {
  data: string;
  lines?: Record<string, number>;
  /** What a named schema made of the data (or of a part of it, `name@path`), as JSON text. */
  valid?: Record<string, string>;
}

/** undefined: not read yet; null: none (or unreadable). */
let snapshot: Record<string, SnapshotEntry> | null | undefined;
let recording: Map<string, SnapshotEntry> | undefined;

function snapshotEntries(): Record<string, SnapshotEntry> | null {
  if (snapshot === undefined) {
    try {
      useRuleSnapshot(readFileSync(SNAPSHOT_FILE, 'utf8'));
    } catch {
      // No snapshot (sources, tests) or a broken one: parse everything.
      snapshot = null;
    }
  }
  return snapshot ?? null;
}

/** Uses a snapshot's text (from `recordRuleSnapshot`) from now on instead of the build's; null: none. */
export function useRuleSnapshot(text: string | null): void {
  snapshot = null;
  if (text === null) return;
  const read = JSON.parse(text) as { version?: number; entries?: Record<string, SnapshotEntry> };
  if (read.version === SNAPSHOT_VERSION && read.entries) snapshot = read.entries;
}

function contentKey(kind: 'doc' | 'docs', text: string): string | undefined {
  if (!recording && !snapshotEntries()) return undefined;
  return `${kind}:${createHash('sha256').update(text).digest('base64')}`;
}

function fromSnapshot(key: string | undefined): SnapshotEntry | undefined {
  return key && !recording ? snapshot?.[key] : undefined;
}

/** The value's JSON text when JSON gives it back unchanged (no NaN, Infinity, undefined, -0, Set, Date …). */
function exactJson(value: unknown): string | undefined {
  const json = JSON.stringify(value);
  return json !== undefined && isDeepStrictEqual(JSON.parse(json), value) ? json : undefined;
}

/** Remembers parsed data for the snapshot. */
function record(key: string | undefined, data: unknown): SnapshotEntry | undefined {
  if (!key || !recording) return undefined;
  // The same text read again (user-agents.yaml by three loaders) adds to its entry.
  const seen = recording.get(key);
  if (seen) return seen;
  const json = exactJson(data);
  if (json === undefined) return undefined;
  const entry: SnapshotEntry = { data: json };
  recording.set(key, entry);
  return entry;
}

const schemaNames = new WeakMap<object, string>();

/**
 * Names a schema for the snapshot: what it makes of a snapshot text's data is recorded under the name, and read
 * back instead of validating again (validation was the next largest part of the start-up). Give each schema its
 * own name; an unnamed schema always validates.
 */
export function snapshotSchema<S extends z.ZodType>(name: string, schema: S): S {
  schemaNames.set(schema, name);
  return schema;
}

/** A check of (part of) a text's data: `schema.safeParse(value)`, from the snapshot when it holds the result. */
export type CheckPart = <T>(
  path: readonly (string | number)[],
  schema: z.ZodType<T>,
  value: unknown,
) => z.ZodSafeParseResult<T>;

function checkerOf(entry: SnapshotEntry | undefined): CheckPart {
  return (path, schema, value) => {
    const name = entry && schemaNames.get(schema);
    if (!entry || !name) return schema.safeParse(value);
    const at = path.length > 0 ? `${name}@${JSON.stringify(path)}` : name;
    const known = recording ? undefined : entry.valid?.[at];
    if (known !== undefined) return { success: true, data: JSON.parse(known) };
    const result = schema.safeParse(value);
    const json = recording && result.success ? exactJson(result.data) : undefined;
    if (json !== undefined) {
      entry.valid ??= {};
      entry.valid[at] = json;
    }
    return result;
  };
}

/** Starts recording every YAML text parsed from now on; `finish` gives the snapshot file's text and stops. */
export function recordRuleSnapshot(): { finish(): string } {
  recording = new Map();
  return {
    finish() {
      const entries = Object.fromEntries([...(recording ?? [])].sort(([a], [b]) => (a < b ? -1 : 1)));
      recording = undefined;
      return `${JSON.stringify({ version: SNAPSHOT_VERSION, entries })}\n`;
    },
  };
}

/** The text's document with its line counter, parsed on first use. */
function lazyDocument(text: string): () => { doc: Document; lineCounter: LineCounter } {
  let parsed: { doc: Document; lineCounter: LineCounter } | undefined;
  return () => {
    if (!parsed) {
      const lineCounter = new LineCounter();
      parsed = {
        doc: parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true }),
        lineCounter,
      };
    }
    return parsed;
  };
}

type LineOf = (path: readonly (string | number)[]) => number;

/** Line of a path: from the snapshot's entry when it holds it, else from the document (recorded if recording). */
function linesOf(document: ReturnType<typeof lazyDocument>, entry: SnapshotEntry | undefined): LineOf {
  return (path) => {
    const at = entry ? JSON.stringify(path) : '';
    const known = entry?.lines?.[at];
    if (known !== undefined && !recording) return known;
    const { doc, lineCounter } = document();
    const line = lineAt(doc, lineCounter, path);
    if (entry && recording) {
      entry.lines ??= {};
      entry.lines[at] = line;
    }
    return line;
  };
}

type DocumentData =
  | { ok: true; data: unknown; document: ReturnType<typeof lazyDocument>; lineOf: LineOf; check: CheckPart }
  | { ok: false; errors: { line: number; message: string }[]; document: ReturnType<typeof lazyDocument> };

/** One YAML document's data, or its syntax errors (with lines); data from the snapshot when it holds the text. */
function documentData(text: string): DocumentData {
  const document = lazyDocument(text);
  const key = contentKey('doc', text);
  const known = fromSnapshot(key);
  if (known) {
    const data = JSON.parse(known.data);
    return { ok: true, data, document, lineOf: linesOf(document, known), check: checkerOf(known) };
  }
  const { doc, lineCounter } = document();
  if (doc.errors.length > 0) {
    return {
      ok: false,
      document,
      errors: doc.errors.map((e) => ({
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
        message: e.message,
      })),
    };
  }
  const data = doc.toJS({ maxAliasCount: 100 });
  const entry = record(key, data);
  return { ok: true, data, document, lineOf: linesOf(document, entry), check: checkerOf(entry) };
}

/**
 * Every document of a multi-document text (Sigma files: rules and their correlations): each one's data, or the
 * first line of its first error. From the snapshot when it holds the text.
 */
export function parseYamlDocuments(text: string): ({ data: unknown } | { error: string })[] {
  const key = contentKey('docs', text);
  const known = fromSnapshot(key);
  if (known) return (JSON.parse(known.data) as unknown[]).map((data) => ({ data }));
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const out = list.map((d) =>
    d.errors.length
      ? { error: d.errors[0]!.message.split('\n')[0]! }
      : { data: d.toJS({ maxAliasCount: 100 }) as unknown },
  );
  if (out.every((d) => 'data' in d))
    record(
      key,
      out.map((d) => (d as { data: unknown }).data),
    );
  return out;
}

/**
 * `schema.safeParse` of a YAML text's data, throwing `yaml`'s `parse` error on bad syntax (its message shows the
 * line): enrichment tables.
 */
export function checkYamlData<T>(text: string, schema: z.ZodType<T>): z.ZodSafeParseResult<T> {
  const r = documentData(text);
  return r.ok ? r.check([], schema, r.data) : schema.safeParse(parse(text));
}

export function parseYamlText<T>(file: string, text: string, schema: z.ZodType<T>): ParsedYaml<T> {
  const parsed = documentData(text);
  if (!parsed.ok) {
    const { doc, lineCounter } = parsed.document();
    return {
      problems: parsed.errors.map((e) => ({
        file,
        line: e.line,
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
      lineOf: (path) => lineAt(doc, lineCounter, path),
    };
  }
  const { document, lineOf } = parsed;
  const result = parsed.check([], schema, parsed.data ?? {});
  if (result.success) return { value: result.data, problems: [], lineOf };
  const { doc, lineCounter } = document();
  const problems = result.error.issues.map((raw) => {
    const issue = resolveUnion(raw);
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown key(s): ${issue.keys.join(', ')}`;
    if (issue.code === 'invalid_union' && 'errors' in issue) {
      const alternatives = issue.errors
        .map((list) => list[0]?.message.replace(/^Invalid input: /, ''))
        .filter(Boolean);
      message =
        alternatives.length > 0 ? `Invalid input: ${[...new Set(alternatives)].join(' or ')}` : message;
    }
    const where = path.length > 0 ? ` at ${path.join('.')}` : '';
    const keyPath = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0] as string] : path;
    return {
      file,
      line: lineAt(doc, lineCounter, keyPath, issue.code === 'unrecognized_keys'),
      message: `${message}${where}`,
    };
  });
  return { problems, lineOf };
}

type Issue = z.core.$ZodIssue;

/**
 * "Invalid input" for a union says nothing; report the branch that got furthest instead (the deepest
 * path, then the fewest problems), e.g. the misspelt key inside a `rename` follow-up.
 */
function resolveUnion(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || issue.errors.length === 0) return issue;
  const depth = (list: Issue[]) => Math.max(...list.map((i) => i.path.length));
  const best = [...issue.errors]
    .filter((list) => list.length > 0)
    .sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0];
  const first = best?.[0];
  if (!first || depth(best) === 0) return issue;
  return resolveUnion({ ...first, path: [...issue.path, ...first.path] } as Issue);
}

/** Line of the deepest existing node on `path` (a missing key reports its parent's line). */
function lineAt(doc: Document, lc: LineCounter, path: readonly (string | number)[], wantKey = false): number {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    if (wantKey && n === path.length && n > 0) {
      const parent = sub.length > 1 ? doc.getIn(sub.slice(0, -1), true) : doc.contents;
      const line = keyLine(parent, String(sub[sub.length - 1]), lc);
      if (line) return line;
      continue;
    }
    const node = n === 0 ? doc.contents : doc.getIn(sub, true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return 1;
}

function keyLine(parent: unknown, key: string, lc: LineCounter): number | undefined {
  const items = (parent as { items?: { key?: unknown }[] } | undefined)?.items;
  if (!items) return undefined;
  for (const item of items) {
    const k = item.key;
    if (isNode(k) && String((k as { value?: unknown }).value) === key && k.range)
      return lc.linePos(k.range[0]).line;
  }
  return undefined;
}

export type Parsed<T> =
  | { ok: true; value: T; lineOf: (path: (string | number)[]) => number; check: CheckPart }
  | { ok: false; problems: RuleProblem[] };

export function parseYaml(
  file: string,
  text: string,
):
  | { ok: true; data: unknown; lineOf: (path: (string | number)[]) => number; check: CheckPart }
  | { ok: false; problems: RuleProblem[] } {
  const parsed = documentData(text);
  if (!parsed.ok) {
    return {
      ok: false,
      // The first few errors are the real ones; the rest are the parser losing its footing after them.
      problems: parsed.errors.slice(0, 3).map((e) => ({
        file,
        line: e.line,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    };
  }
  // The nearest path that exists in the document (zod points at missing keys too).
  return { ok: true, data: parsed.data, lineOf: parsed.lineOf, check: parsed.check };
}

export function validate<T>(file: string, text: string, schema: z.ZodType<T>): Parsed<T> {
  const parsed = parseYaml(file, text);
  if (!parsed.ok) return parsed;
  const result = parsed.check([], schema, parsed.data);
  if (!result.success) {
    return {
      ok: false,
      problems: result.error.issues.map((issue) => ({
        file,
        line: parsed.lineOf(issue.path as (string | number)[]),
        message: `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`,
      })),
    };
  }
  return { ok: true, value: result.data, lineOf: parsed.lineOf, check: parsed.check };
}

export function formatProblem(p: RuleProblem): string {
  return `${p.file}:${p.line}: ${p.message}`;
}
