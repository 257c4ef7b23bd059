/**
 * Turns the text after `/cartographer` into words and `--option value` pairs, then validates them
 * with a zod schema. Problems become UsageError with a short sentence naming what was wrong.
 */
import { z } from 'zod';
import { UsageError } from '../../engine/errors.ts';
import { parseTimeText } from '../../engine/time-range.ts';

export interface ParsedWords {
  positionals: string[];
  options: Record<string, string>;
}

/** Splits on whitespace, honouring "double" and 'single' quotes; Slack sends smart quotes from phones too. */
export function tokenize(text: string): string[] {
  const normalised = text.replace(/[\u201c\u201d]/g, '"').replace(/[\u2018\u2019]/g, "'");
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of normalised.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

export function splitOptions(words: string[], known: readonly string[], usage: string): ParsedWords {
  const positionals: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i] ?? '';
    // Slack on macOS turns `--` into an em dash.
    const normal = w.replace(/^[\u2014\u2013]/, '--');
    if (!normal.startsWith('--')) {
      positionals.push(w);
      continue;
    }
    const eq = normal.indexOf('=');
    const name = normal.slice(2, eq >= 0 ? eq : undefined);
    if (!known.includes(name)) throw new UsageError(`unknown option --${name}`, usage);
    let value: string | undefined = eq >= 0 ? normal.slice(eq + 1) : words[i + 1];
    if (eq < 0) i++;
    if (value === undefined || value === '' || value.startsWith('--')) {
      throw new UsageError(`--${name} needs a value`, usage);
    }
    value = value.trim();
    options[name] = value;
  }
  return { positionals, options };
}

/** `30m`, `24h`, `7d`, `2w`, or an ISO date/time, relative to `now` (the one grammar: engine/time-range.ts). */
export function parseSince(value: string, now = new Date()): Date | undefined {
  return parseTimeText(value, now);
}

export const SinceSchema = z
  .string()
  .transform((v, ctx) => {
    const d = parseSince(v);
    if (!d) {
      ctx.addIssue({
        code: 'custom',
        message: `--since '${v}' is not a duration like 24h, 7d, 30m or an ISO time`,
      });
      return z.NEVER;
    }
    return d;
  })
  .optional();

export const SourceSchema = z
  .enum(['local', 'lookup', 'athena'], { message: '--source must be local, lookup or athena' })
  .optional();

/** Validates with zod and converts the first issue into a UsageError. */
export function validate<T extends z.ZodType>(schema: T, input: unknown, usage: string): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new UsageError(issue?.message ?? 'invalid arguments', usage);
}
