/**
 * Name / summary / URL templates: `{{count iam:ListUsers}}`, `{{param s3:GetBucketAcl bucketName}}` …
 * (FORMAT.md §5). Templates are parsed once per text and rendered once per finished signal.
 * A value that is not there renders as `unknown`; a template never throws at render time.
 */

import { compilePath, valuesAt } from '../field-path.ts';
import type { EngineEvent } from '../model.ts';
import { eventKey } from './conditions.ts';
import { displayer } from './redact.ts';

export interface TemplateContext {
  anchor: EngineEvent;
  members: readonly EngineEvent[];
  /** Each member's event key (`iam:ListUsers`), when the caller has them: `members[i]` ↔ `keys[i]`. */
  keys?: readonly string[];
}

type Part = string | ((ctx: TemplateContext) => string);

const compiled = new Map<string, Part[]>();

/** Splits `a 'b c' d` into words, keeping quoted text whole. */
function words(expr: string): string[] {
  const out: string[] = [];
  const re = /'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(expr); m; m = re.exec(expr)) {
    if (m[1] !== undefined) out.push(m[1].replace(/\\'/g, "'"));
    else if (m[2] !== undefined) out.push(m[2].replace(/\\"/g, '"'));
    else out.push(m[3]!);
  }
  return out;
}

const UNKNOWN = 'unknown';

type Picker = (ctx: TemplateContext) => EngineEvent[];

/** Whether an event key is one of EVENT's names (`a|b` = either), decided once per expression. */
function nameTest(event: string): (key: string) => boolean {
  const names = new Set(event.split('|'));
  if (names.size > 1) return (k) => names.has(k);
  const one = event.split('|')[0];
  return (k) => k === one;
}

/** The i-th member's event key: the caller's when it gave them, else worked out. */
const memberKey = (ctx: TemplateContext, i: number): string =>
  ctx.keys ? ctx.keys[i]! : eventKey(ctx.members[i]!.record);

/** Member events named EVENT (`*` = all; `a|b` = either name). */
function picker(event: string): Picker {
  if (event === '*') return (ctx) => [...ctx.members];
  const named = nameTest(event);
  return (ctx) => {
    const out: EngineEvent[] = [];
    for (let i = 0; i < ctx.members.length; i++) if (named(memberKey(ctx, i))) out.push(ctx.members[i]!);
    return out;
  };
}

/** How many member events are named EVENT, without collecting them. */
function counter(event: string): (ctx: TemplateContext) => number {
  if (event === '*') return (ctx) => ctx.members.length;
  const named = nameTest(event);
  return (ctx) => {
    let n = 0;
    for (let i = 0; i < ctx.members.length; i++) if (named(memberKey(ctx, i))) n++;
    return n;
  };
}

type Field = 'requestParameters' | 'responseElements';

/** The distinct display texts at `path` (`a|b`: the values at either path) of the events' FIELD. */
function valueReader(field: Field, path: string): (events: EngineEvent[]) => string[] {
  const readers = path.split('|').map((p) => ({ at: compilePath(p), show: displayer(p) }));
  return (events) => {
    const seen = new Set<string>();
    for (const { at, show } of readers) {
      for (const e of events) {
        for (const v of valuesAt(e.record[field], at)) {
          if (v === null || v === undefined || v === '') continue;
          seen.add(show(v));
        }
      }
    }
    return [...seen];
  };
}

/** Keeps long lists readable in Slack: the first few values and a count of the rest. */
function joinList(values: string[], max = 5): string {
  if (values.length === 0) return UNKNOWN;
  if (values.length <= max) return values.join(', ');
  return `${values.slice(0, max).join(', ')} and ${values.length - max} more`;
}

/** Throws on an unknown expression (used by `rules check`); rendering itself never throws. */
export function compileExpression(expr: string): (ctx: TemplateContext) => string {
  const [op, ...rest] = words(expr.trim());
  const args = rest as [string, string, ...string[]];
  switch (op) {
    case 'region':
      return (c) => c.anchor.record.awsRegion ?? UNKNOWN;
    case 'eventName':
      return (c) => eventKey(c.anchor.record);
    case 'eventCount':
      return (c) => String(c.members.length);
    case 'count': {
      need(op, args, 1);
      const count = counter(args[0]);
      return (c) => String(count(c));
    }
    case 'distinctCount': {
      need(op, args, 2);
      const [pick, read] = [picker(args[0]), valueReader('requestParameters', args[1])];
      return (c) => String(read(pick(c)).length);
    }
    case 'param':
    case 'response': {
      need(op, args, 2);
      const field = op === 'param' ? 'requestParameters' : 'responseElements';
      const [pick, read] = [picker(args[0]), valueReader(field, args[1])];
      return (c) => read(pick(c))[0] ?? UNKNOWN;
    }
    case 'params':
    case 'responses': {
      need(op, args, 2);
      const field = op === 'params' ? 'requestParameters' : 'responseElements';
      const [pick, read] = [picker(args[0]), valueReader(field, args[1])];
      return (c) => joinList(read(pick(c)));
    }
    case 'ifparam':
    case 'ifparams':
    case 'ifresponses': {
      // Text plus the value(s), or nothing at all when no member event has one.
      need(op, args, 3);
      const [event, path, text] = args as unknown as [string, string, string];
      const field = op === 'ifresponses' ? 'responseElements' : 'requestParameters';
      const [pick, read] = [picker(event), valueReader(field, path)];
      return (c) => {
        const values = read(pick(c));
        if (values.length === 0) return '';
        return `${text}${op === 'ifparam' ? values[0] : joinList(values)}`;
      };
    }
    case 'ifcount': {
      need(op, args, 2);
      const count = counter(args[0]);
      return (c) => (count(c) > 0 ? args[1] : '');
    }
    default:
      throw new Error(`unknown template expression '{{${expr}}}'`);
  }
}

const EVENT_ARG = /^(\*|[a-z0-9-]+:[A-Za-z0-9_]+(\|[a-z0-9-]+:[A-Za-z0-9_]+)*)$/;

function need(op: string | undefined, args: string[], n: number): void {
  if (args.length !== n) throw new Error(`'{{${op} …}}' takes ${n} argument(s), got ${args.length}`);
  if (!EVENT_ARG.test(args[0]!)) {
    throw new Error(`'{{${op} …}}': '${args[0]}' is not an event ('source:Name', 'a:X|b:Y' or '*')`);
  }
}

export function compileTemplate(text: string): Part[] {
  const hit = compiled.get(text);
  if (hit) return hit;
  const parts: Part[] = [];
  let last = 0;
  const re = /\{\{([^}]*)\}\}/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    try {
      parts.push(compileExpression(m[1]!));
    } catch {
      parts.push(m[0]); // shown verbatim; `rules check` reports it
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  compiled.set(text, parts);
  return parts;
}

export function renderTemplate(text: string, ctx: TemplateContext): string {
  let out = '';
  for (const p of compileTemplate(text)) {
    if (typeof p === 'string') out += p;
    else {
      try {
        out += p(ctx);
      } catch {
        out += UNKNOWN;
      }
    }
  }
  return out;
}

/** Problems with a template's expressions, for `rules check`. */
export function templateProblems(text: string): string[] {
  const out: string[] = [];
  const re = /\{\{([^}]*)\}\}/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    try {
      compileExpression(m[1]!);
    } catch (err) {
      out.push((err as Error).message);
    }
  }
  return out;
}
