/**
 * Native Sigma evaluation for CloudTrail rules (`logsource: {product: aws, service: cloudtrail}`).
 *
 * Rules are compiled unchanged into the same condition tree as Cartographer's own rules. Supported:
 * field maps and lists of maps, keyword lists, value lists, `null`, wildcards `*` `?` (with `\` escapes),
 * case-insensitive matching, modifiers contains / startswith / endswith / all / re (with i, m, s) / cidr /
 * exists / fieldref / cased / base64 / base64offset / lt / lte / gt / gte, and conditions with and / or / not / parentheses /
 * `1 of x*` / `all of x*` / `1 of them` / `all of them`, and `| count([field]) [by field] >|>= N` aggregations with a
 * `timeframe` (sigma-aggregation.ts; correlation rules are in sigma-correlation.ts). Anything else (`near`,
 * windash / expand / utf16 modifiers, other log sources) makes the rule *unsupported*: it is reported by
 * name at load, never silently dropped.
 */

import { parse } from 'yaml';
import type { AttackTable } from '../attack.ts';
import { asText, eventFieldGetter } from '../field-path.ts';
import { cidrContains, parseCidr } from '../ip-address.ts';
import type { EngineEvent, Severity } from '../model.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { type CondNode, remembered, requiredEventNames, toPredicate } from './condition.ts';
import {
  and,
  type EventFilter,
  type FilterDescription,
  field as fieldFilter,
  not,
  or,
} from './event-filter.ts';
import { fastRegexTest } from './regex-literal.ts';
import {
  aggregationThreshold,
  parseAggregation,
  parseTimespan,
  splitAggregation,
} from './sigma-aggregation.ts';
import { SigmaUnsupported } from './sigma-unsupported.ts';

export { SigmaUnsupported };

const LEVELS: Record<string, Severity> = {
  informational: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

/** What a Sigma rule needs of the ATT&CK table (engine/attack.ts): tactics of techniques and of tags. */
export type SigmaAttack = Pick<AttackTable, 'tacticsOf' | 'tactic'>;

export interface SigmaRuleMeta {
  id: string;
  title: string;
  author?: string;
  status?: string;
  level: Severity;
  techniques: string[];
  tactics: string[];
  fields: string[];
}

/** Compiles one Sigma YAML text; throws SigmaUnsupported (with the reason) or Error (malformed). */
export function compileSigmaRule(
  text: string,
  file: string,
  attack: SigmaAttack,
): CompiledRule & { sigma: SigmaRuleMeta } {
  return compileSigmaDoc(parse(text) as Record<string, unknown> | null, file, attack);
}

/** One parsed Sigma rule document (a file may hold several, e.g. base rules and their correlation). */
export function compileSigmaDoc(
  doc: Record<string, unknown> | null,
  file: string,
  attack: SigmaAttack,
): CompiledRule & { sigma: SigmaRuleMeta } {
  if (!doc || typeof doc !== 'object') throw new Error('not a YAML mapping');
  const title = str(doc.title);
  const id = str(doc.id);
  if (!title || !id) throw new Error('a Sigma rule needs `title` and `id`');
  const logsource = (doc.logsource ?? {}) as Record<string, unknown>;
  if (
    String(logsource.product ?? '').toLowerCase() !== 'aws' ||
    String(logsource.service ?? '').toLowerCase() !== 'cloudtrail'
  ) {
    throw new SigmaUnsupported(`logsource is not {product: aws, service: cloudtrail}`);
  }
  const detection = doc.detection as Record<string, unknown> | undefined;
  if (!detection || typeof detection !== 'object') throw new Error('missing `detection`');
  const condition = detection.condition;
  if (Array.isArray(condition)) throw new SigmaUnsupported('a list of conditions is not supported');
  if (typeof condition !== 'string') throw new Error('missing `detection.condition`');
  const [searchPart, aggregationPart] = splitAggregation(condition);
  const aggregation =
    aggregationPart === undefined ? undefined : parseAggregation(aggregationPart, condition);
  if (detection.timeframe !== undefined && !aggregation)
    throw new SigmaUnsupported(
      `\`timeframe\` without an aggregation (condition '${condition}') is not supported`,
    );
  if (aggregation && detection.timeframe === undefined)
    throw new SigmaUnsupported(`aggregation '${aggregationPart}' needs a \`timeframe\``);

  const fields = new Set<string>();
  const searches = new Map<string, CondNode>();
  for (const [name, value] of Object.entries(detection)) {
    if (name === 'condition' || name === 'timeframe') continue;
    searches.set(name, compileSearch(value, fields));
  }
  const node = parseCondition(searchPart, searches);

  const tags = Array.isArray(doc.tags) ? doc.tags.map(String) : [];
  const techniques = tags
    .filter((t) => /^attack\.t\d{4}(\.\d{3})?$/i.test(t))
    .map((t) => t.slice('attack.'.length).toUpperCase());
  // Tactic tags, including the newer names seen at SigmaHQ (`attack.stealth`), by the ATT&CK table's spellings.
  const tagTactics = tags.map((t) => attack.tactic(t)).filter((t): t is string => t !== undefined);
  const tactics = [...new Set([...tagTactics, ...attack.tacticsOf(techniques)])];
  const level = LEVELS[String(doc.level ?? 'medium').toLowerCase()] ?? 'medium';
  const author = str(doc.author);
  const description = str(doc.description)?.trim() ?? title;
  const names = requiredEventNames(node);
  const meta: SigmaRuleMeta = {
    id,
    title,
    level,
    techniques,
    tactics,
    fields: [...fields],
    ...(author ? { author } : {}),
    ...(str(doc.status) ? { status: str(doc.status)! } : {}),
  };
  const rule: CompiledRule & { sigma: SigmaRuleMeta } = {
    id: `sigma:${id}`,
    title,
    description,
    severity: level,
    // Sigma rules describe the call, not its outcome: a refused attempt is context (info), as for own rules.
    severityOnError: 'info',
    techniques,
    tactics,
    show: [
      'eventSource',
      'eventName',
      ...[...fields].filter((f) => f !== 'eventSource' && f !== 'eventName'),
    ].slice(0, 6),
    source: 'sigma',
    provenance: 'sigma',
    where: file,
    ...(author ? { author } : {}),
    license: 'DRL 1.1 (https://github.com/SigmaHQ/Detection-Rule-License)',
    references: Array.isArray(doc.references) ? doc.references.map(String) : [],
    kind: 'event',
    condition: node,
    match: toPredicate(node),
    ...(names ? { eventNames: names } : {}),
    sigma: meta,
  };
  if (aggregation) {
    rule.kind = 'threshold';
    rule.threshold = aggregationThreshold(aggregation, parseTimespan(String(detection.timeframe)));
  }
  return rule;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : v === undefined || v === null ? undefined : String(v);
}

// ---- search identifiers ------------------------------------------------------------------------

function compileSearch(value: unknown, fields: Set<string>): CondNode {
  if (Array.isArray(value)) {
    if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
      return {
        kind: 'any',
        children: value.map((m) => compileFieldMap(m as Record<string, unknown>, fields)),
      };
    }
    if (value.every((v) => typeof v !== 'object' || v === null)) return keywords(value);
    throw new SigmaUnsupported('a search mixing maps and keywords is not supported');
  }
  if (value !== null && typeof value === 'object')
    return compileFieldMap(value as Record<string, unknown>, fields);
  return keywords([value]);
}

/** Keywords: matched anywhere in the record, as Sigma's full-text search does. */
function keywords(values: unknown[]): CondNode {
  const needles = values.map((v) => wildcardRegExp(`*${String(v)}*`, false));
  return {
    kind: 'test',
    field: '',
    test: (_values, event) => {
      const text = JSON.stringify(event.record);
      return needles.some((r) => r.test(text));
    },
  };
}

const KNOWN_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'i',
  'm',
  's',
  'cidr',
  'exists',
  'fieldref',
  'cased',
  'base64',
  'base64offset',
  'lt',
  'lte',
  'gt',
  'gte',
]);

function compileFieldMap(map: Record<string, unknown>, fields: Set<string>): CondNode {
  const children = Object.entries(map).map(([spec, value]) => compileFieldSpec(spec, value, fields));
  return children.length === 1 ? children[0]! : { kind: 'all', children };
}

type ValueTest = (vs: unknown[], e: EngineEvent) => boolean;

/** Value tests joined by `all` or any, with loops (no closure per event); one test is used as is. */
function combineTests(tests: ValueTest[], all: boolean): ValueTest {
  if (tests.length === 1) return tests[0]!;
  return all
    ? (vs, e) => {
        for (const t of tests) if (!t(vs, e)) return false;
        return true;
      }
    : (vs, e) => {
        for (const t of tests) if (t(vs, e)) return true;
        return false;
      };
}

/**
 * Some value equals `text` ignoring case. The events of a session repeat their values: the last value's answer
 * is kept, so a repeated value costs no lower-cased copy.
 */
function equalsIgnoringCase(text: string): (vs: unknown[]) => boolean {
  const want = text.toLowerCase();
  let lastIn: string | undefined;
  let lastOut = false;
  return (vs) => {
    for (const v of vs) {
      const s = asText(v);
      if (s !== lastIn) {
        lastOut = s.toLowerCase() === want;
        lastIn = s;
      }
      if (lastOut) return true;
    }
    return false;
  };
}

/**
 * Some value's text matches (a regular expression without state: no g or y flag). A session's events repeat their
 * caller, user agent and address: the last text's answer is kept, as condition.ts's text tests do.
 */
function anyTextMatches(matches: (s: string) => boolean): (vs: unknown[]) => boolean {
  const once = remembered(matches);
  return (vs) => {
    for (const v of vs) if (once(asText(v))) return true;
    return false;
  };
}

function compileFieldSpec(spec: string, value: unknown, fields: Set<string>): CondNode {
  const [field = '', ...mods] = spec.split('|');
  for (const m of mods) {
    if (!KNOWN_MODIFIERS.has(m))
      throw new SigmaUnsupported(`modifier '${m}' (in '${spec}') is not supported`);
  }
  if (field) fields.add(field);
  const has = (m: string) => mods.includes(m);
  const values = Array.isArray(value) ? value : [value];
  const all = has('all');
  const combine = (tests: ValueTest[]) => combineTests(tests, all);

  if (!field) throw new SigmaUnsupported(`a field name is missing in '${spec}'`);
  if (has('exists')) {
    const want = values[0] === true || String(values[0]).toLowerCase() === 'true';
    const present = fieldFilter(field, 'exists', []);
    return {
      kind: 'test',
      field,
      test: (vs) => vs.length > 0 === want,
      describe: { filter: want ? present : not(present), exact: true },
    };
  }
  // fieldref, cidr and the numeric modifiers only hold for a value that is there.
  const reached: FilterDescription = { filter: fieldFilter(field, 'exists', []), exact: false };
  if (has('fieldref')) {
    const tests = values.map((ref) => {
      const other = eventFieldGetter(String(ref));
      return (vs: unknown[], e: EngineEvent) => {
        const others = new Set(other(e).map((o) => asText(o).toLowerCase()));
        return vs.some((v) => others.has(asText(v).toLowerCase()));
      };
    });
    return { kind: 'test', field, test: combine(tests), reads: values.map(String), describe: reached };
  }
  if (has('cidr')) {
    const nets = values.map((v) => {
      const c = parseCidr(String(v));
      if (!c) throw new Error(`invalid CIDR '${String(v)}' in '${spec}'`);
      return c;
    });
    const tests = nets.map(
      (n) => (vs: unknown[]) => vs.some((v) => typeof v === 'string' && cidrContains(n, v)),
    );
    return { kind: 'test', field, test: combine(tests), describe: reached };
  }
  const numeric = ['lt', 'lte', 'gt', 'gte'].find(has);
  if (numeric) {
    const tests = values.map((b) => {
      const bound = Number(b);
      return (vs: unknown[]) =>
        vs.some((v) => {
          const n = Number(v);
          if (!Number.isFinite(n)) return false;
          return numeric === 'lt'
            ? n < bound
            : numeric === 'lte'
              ? n <= bound
              : numeric === 'gt'
                ? n > bound
                : n >= bound;
        });
    });
    return { kind: 'test', field, test: combine(tests), describe: reached };
  }
  if (has('re')) {
    const flags = `${has('i') ? 'i' : ''}${has('m') ? 'm' : ''}${has('s') ? 's' : ''}`;
    const tests = values.map((p) => anyTextMatches(fastRegexTest(new RegExp(String(p), flags))));
    const exact = !has('m') && !has('s');
    const parts = values.map((p) => fieldFilter(field, 'regex', [String(p)], { ignoreCase: has('i') }));
    const describe = exact ? { filter: all ? and(parts) : or(parts), exact } : reached;
    return { kind: 'test', field, test: combine(tests), describe };
  }
  // Plain, contains, startswith, endswith: wildcard patterns, case-insensitive unless `cased`.
  // base64 / base64offset turn each value into its encoded form(s) first; encoded text is case-sensitive.
  const encoded = has('base64') || has('base64offset');
  const cased = has('cased') || encoded;
  let exact: string[] | undefined = [];
  const testFor = (text: string) => {
    let pattern = text;
    if (has('contains')) pattern = `*${text}*`;
    else if (has('startswith')) pattern = `${text}*`;
    else if (has('endswith')) pattern = `*${text}`;
    if (!/(^|[^\\])[*?]/.test(pattern) && !pattern.includes('\\')) {
      exact?.push(text.toLowerCase());
      return cased ? (vs: unknown[]) => vs.some((v) => asText(v) === text) : equalsIgnoringCase(text);
    }
    exact = undefined;
    const re = wildcardRegExp(pattern, cased);
    return anyTextMatches((s) => re.test(s));
  };
  const tests = values.map((raw) => {
    if (raw === null) {
      exact = undefined;
      return (vs: unknown[]) => vs.length === 0;
    }
    const text = typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
    if (!encoded) return testFor(text);
    const variants = (has('base64offset') ? base64Offsets(text) : [Buffer.from(text).toString('base64')]).map(
      testFor,
    );
    return (vs: unknown[]) => variants.some((t) => t(vs));
  });
  const indexable = exact && !all && !has('contains') && !has('startswith') && !has('endswith') && !cased;
  return {
    kind: 'test',
    field,
    test: combine(tests),
    ...(indexable ? { exact } : {}),
    describe: describePatterns(field, mods, values),
  };
}

/** The plain / contains / startswith / endswith values as filters, exactly as testFor matches them. */
function describePatterns(field: string, mods: string[], values: unknown[]): FilterDescription {
  const has = (m: string) => mods.includes(m);
  const encoded = has('base64') || has('base64offset');
  const cased = has('cased') || encoded;
  const one = (text: string): EventFilter => {
    let pattern = text;
    if (has('contains')) pattern = `*${text}*`;
    else if (has('startswith')) pattern = `${text}*`;
    else if (has('endswith')) pattern = `*${text}`;
    if (!/(^|[^\\])[*?]/.test(pattern) && !pattern.includes('\\'))
      return fieldFilter(field, 'equals', [text], { ignoreCase: !cased });
    return fieldFilter(field, 'regex', [wildcardRegExp(pattern, true).source], { ignoreCase: !cased });
  };
  const parts = values.map((raw): EventFilter => {
    if (raw === null) return not(fieldFilter(field, 'exists', []));
    const text = typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
    if (!encoded) return one(text);
    const variants = has('base64offset') ? base64Offsets(text) : [Buffer.from(text).toString('base64')];
    return or(variants.map(one));
  });
  return { filter: has('all') ? and(parts) : or(parts), exact: true };
}

/** Sigma's base64offset: the value encoded at the three byte offsets it can have inside a longer string. */
export function base64Offsets(value: string): string[] {
  const starts = [0, 2, 3];
  const ends = [undefined, -3, -2];
  const length = Buffer.byteLength(value);
  return [0, 1, 2].map((i) => {
    const b64 = Buffer.from(' '.repeat(i) + value).toString('base64');
    return b64.slice(starts[i], ends[(length + i) % 3]);
  });
}

/** Sigma wildcards: `*` any run, `?` one character, `\*` `\?` `\\` literals. */
export function wildcardRegExp(pattern: string, cased: boolean): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length && '*?\\'.includes(pattern[i + 1]!)) {
      out += `\\${pattern[++i]}`;
    } else if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, cased ? '' : 'i');
}

// ---- condition expressions ---------------------------------------------------------------------

function tokenize(condition: string): string[] {
  return condition.match(/\(|\)|[^\s()]+/g) ?? [];
}

function parseCondition(condition: string, searches: Map<string, CondNode>): CondNode {
  const tokens = tokenize(condition);
  let pos = 0;
  const peek = () => tokens[pos]?.toLowerCase();
  const fail = (msg: string): never => {
    throw new Error(`condition '${condition}': ${msg}`);
  };

  const orExpr = (): CondNode => {
    const parts = [andExpr()];
    while (peek() === 'or') {
      pos++;
      parts.push(andExpr());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'any', children: parts };
  };
  const andExpr = (): CondNode => {
    const parts = [notExpr()];
    while (peek() === 'and') {
      pos++;
      parts.push(notExpr());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'all', children: parts };
  };
  const notExpr = (): CondNode => {
    if (peek() === 'not') {
      pos++;
      return { kind: 'not', child: notExpr() };
    }
    return atom();
  };
  const atom = (): CondNode => {
    const t = tokens[pos];
    if (t === undefined) return fail('unexpected end');
    if (t === '(') {
      pos++;
      const inner = orExpr();
      if (tokens[pos] !== ')') fail('missing )');
      pos++;
      return inner;
    }
    const lower = t.toLowerCase();
    if ((lower === '1' || lower === 'all' || lower === 'any') && tokens[pos + 1]?.toLowerCase() === 'of') {
      const target = tokens[pos + 2];
      if (!target) fail(`'${t} of' needs a target`);
      pos += 3;
      const chosen = [...searches.entries()]
        .filter(([name]) =>
          target === 'them' ? !name.startsWith('_') : wildcardRegExp(target!, true).test(name),
        )
        .map(([, n]) => n);
      if (chosen.length === 0) fail(`'${t} of ${target}' names no search`);
      return lower === 'all' ? { kind: 'all', children: chosen } : { kind: 'any', children: chosen };
    }
    if (/^\d+$/.test(lower) && tokens[pos + 1]?.toLowerCase() === 'of') {
      throw new SigmaUnsupported(`'${t} of' (more than one) is not supported`);
    }
    if (['and', 'or', ')'].includes(lower)) fail(`unexpected '${t}'`);
    const n = searches.get(t);
    if (!n) fail(`unknown search identifier '${t}'`);
    pos++;
    return n!;
  };

  const result = orExpr();
  if (pos !== tokens.length) fail(`unexpected '${tokens[pos]}'`);
  return result;
}
