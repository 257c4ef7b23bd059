/**
 * Parse a YAML rule file and validate it with zod, reporting every problem as file:line.
 * Rule authors edit these files by hand at odd hours: the line number is the whole point.
 */
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

export interface RuleProblem {
  file: string;
  line: number;
  message: string;
  /** Warnings (e.g. an unsupported Sigma rule, reported and skipped) do not fail `rules check`. */
  severity?: 'error' | 'warning';
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
  const lineOf = (path: (string | number)[]): number => {
    // Walk up to the nearest path that exists in the document (zod points at missing keys too).
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return 1;
  };
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
