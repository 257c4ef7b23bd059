/**
 * The one YAML rule-file loader (signals, detections, tuning, context, rule tests): parses with the `yaml`
 * document API and validates with a zod schema, turning every problem (bad YAML, unknown key, wrong type) into
 * `{file, line, message}` so `rules check` and the loaders can say exactly where a definition is wrong. Rule
 * authors edit these files by hand at odd hours: the line number is the whole point.
 *
 * Two entry points: `readYamlFile`/`parseYamlText` (signal rules: every problem, unknown keys at their own line)
 * and `parseYaml`/`validate` (detection rules: data first, `path: message` problems).
 */
import { readFile } from 'node:fs/promises';
import { type Document, isNode, LineCounter, parseDocument } from 'yaml';
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

export function parseYamlText<T>(file: string, text: string, schema: z.ZodType<T>): ParsedYaml<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (path: readonly (string | number)[]) => lineAt(doc, lineCounter, path);
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => ({
        file,
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
        message: `YAML: ${e.message.split('\n')[0]}`,
      })),
      lineOf,
    };
  }
  const data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const result = schema.safeParse(data);
  if (result.success) return { value: result.data, problems: [], lineOf };
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
  | { ok: true; value: T; lineOf: (path: (string | number)[]) => number }
  | { ok: false; problems: RuleProblem[] };

export function parseYaml(
  file: string,
  text: string,
):
  | { ok: true; data: unknown; lineOf: (path: (string | number)[]) => number }
  | { ok: false; problems: RuleProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      // The first few errors are the real ones; the rest are the parser losing its footing after them.
      problems: doc.errors.slice(0, 3).map((e) => ({
        file,
        line: e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    };
  }
  // The nearest path that exists in the document (zod points at missing keys too).
  const lineOf = (path: (string | number)[]): number => lineAt(doc, lineCounter, path);
  return { ok: true, data: doc.toJS({ maxAliasCount: 100 }), lineOf };
}

export function validate<T>(file: string, text: string, schema: z.ZodType<T>): Parsed<T> {
  const parsed = parseYaml(file, text);
  if (!parsed.ok) return parsed;
  const result = schema.safeParse(parsed.data);
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
  return { ok: true, value: result.data, lineOf: parsed.lineOf };
}

export function formatProblem(p: RuleProblem): string {
  return `${p.file}:${p.line}: ${p.message}`;
}
