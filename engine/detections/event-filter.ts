/**
 * A backend-neutral description of which events a condition can hold for, so a store that can filter (Athena, SQL)
 * is asked only for the events that can matter. Compiled condition nodes carry one (`describe`), and
 * engine/detections/pushdown.ts combines them over the enabled rule set.
 *
 * A `field` filter has the rules' own semantics (condition.ts): it holds when ANY value reached by the dotted path
 * (arrays walked, objects compared as compact JSON) satisfies the operator. `opaque` is a part no backend can
 * decide (a closure, an unknown node kind): a backend must treat it as "could hold" when widening and "cannot be
 * shown to hold" when narrowing (under a `not`). `sameValueAs` is a semi-join: the field's value equals that field's
 * value (or `otherField`'s) in some event of the same read that matches `of` (e.g. "a person used this address too",
 * "this key was issued by a call in the read"). `within` wraps a
 * wider description: a backend may widen to it, never narrow to it.
 */
export type EventFilter =
  | { kind: 'const'; value: boolean }
  | { kind: 'and'; parts: EventFilter[] }
  | { kind: 'or'; parts: EventFilter[] }
  | { kind: 'not'; part: EventFilter }
  | FieldFilter
  | { kind: 'sameValueAs'; field: string; of: EventFilter; otherField?: string }
  /**
   * Some value of `field` names (as an ARN's account field or as an account number: detections/account.ts) the
   * account one of the fields `as` holds. Backends may decide it only where they are sure (a single value, twelve
   * digits on both sides) and otherwise answer "could hold" or "does not hold" as the context needs.
   */
  | { kind: 'sameAccount'; field: string; as: string[] }
  /** Holds only where `filter` holds, but not necessarily everywhere it does (a wider description). */
  | { kind: 'within'; filter: EventFilter; reason: string }
  | { kind: 'opaque'; reason: string };

export type FieldOp =
  /** The value's text is one of `values`. */
  | 'equals'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  /** `values[0]` is a JavaScript regular expression source (flag `i` when `ignoreCase`). */
  | 'regex'
  /** Some value is reached (`nonEmpty`: and its text is not ''). */
  | 'exists';

export interface FieldFilter {
  kind: 'field';
  field: string;
  op: FieldOp;
  values: string[];
  ignoreCase?: boolean;
  /** `exists` only: '' does not count. */
  nonEmpty?: boolean;
}

/**
 * What a compiled test node says about itself: `exact` when the filter holds for exactly the events the test holds
 * for, otherwise the filter is wider (holds at least whenever the test does).
 */
export interface FilterDescription {
  filter: EventFilter;
  exact: boolean;
}

/** What an enricher says about a test on one of its fields, in terms of record fields. */
export interface DerivedField {
  filter: EventFilter;
  /** Events the enricher must see (in the same read) to compute the field for the events `filter` selects. */
  context?: ContextEvents[];
}

export interface ContextEvents {
  /** A name for messages ("STS credential issuances"). */
  name: string;
  filter: EventFilter;
}

export type DescribeDerivedField = (test: FieldFilter) => DerivedField | undefined;

export const TRUE: EventFilter = { kind: 'const', value: true };
export const FALSE: EventFilter = { kind: 'const', value: false };

export function opaque(reason: string): EventFilter {
  return { kind: 'opaque', reason };
}

export function field(
  path: string,
  op: FieldOp,
  values: readonly string[],
  extra: { ignoreCase?: boolean; nonEmpty?: boolean } = {},
): FieldFilter {
  return {
    kind: 'field',
    field: path,
    op,
    values: [...values],
    ...(extra.ignoreCase ? { ignoreCase: true } : {}),
    ...(extra.nonEmpty ? { nonEmpty: true } : {}),
  };
}

/** AND with constants folded. */
export function and(parts: readonly EventFilter[]): EventFilter {
  const kept: EventFilter[] = [];
  for (const p of parts) {
    if (p.kind === 'const') {
      if (!p.value) return FALSE;
      continue;
    }
    if (p.kind === 'and') kept.push(...p.parts);
    else kept.push(p);
  }
  return kept.length === 0 ? TRUE : kept.length === 1 ? kept[0]! : { kind: 'and', parts: kept };
}

/** OR with constants folded. */
export function or(parts: readonly EventFilter[]): EventFilter {
  const kept: EventFilter[] = [];
  for (const p of parts) {
    if (p.kind === 'const') {
      if (p.value) return TRUE;
      continue;
    }
    if (p.kind === 'or') kept.push(...p.parts);
    else kept.push(p);
  }
  return kept.length === 0 ? FALSE : kept.length === 1 ? kept[0]! : { kind: 'or', parts: kept };
}

export function within(filter: EventFilter, reason: string): EventFilter {
  return filter.kind === 'const' && filter.value ? opaque(reason) : { kind: 'within', filter, reason };
}

export function not(part: EventFilter): EventFilter {
  if (part.kind === 'const') return { kind: 'const', value: !part.value };
  if (part.kind === 'not') return part.part;
  return { kind: 'not', part };
}

/** The reasons of every opaque part (what a backend could not be told). */
export function opaqueReasons(f: EventFilter, out = new Set<string>()): Set<string> {
  switch (f.kind) {
    case 'opaque':
      out.add(f.reason);
      break;
    case 'and':
    case 'or':
      for (const p of f.parts) opaqueReasons(p, out);
      break;
    case 'not':
      opaqueReasons(f.part, out);
      break;
    case 'sameValueAs':
      opaqueReasons(f.of, out);
      break;
    case 'within':
      out.add(f.reason);
      opaqueReasons(f.filter, out);
      break;
  }
  return out;
}

/**
 * A smaller equivalent filter: nested AND/OR flattened, duplicates dropped, and tests of one field with one operator
 * under an OR merged into one test with all their values (`eventName in [A] or eventName in [B]` → `in [A, B]`).
 */
export function simplify(f: EventFilter): EventFilter {
  switch (f.kind) {
    case 'and':
      return and(dedupe(f.parts.map(simplify)));
    case 'or': {
      const flat = or(f.parts.map(simplify));
      return flat.kind === 'or' ? or(mergeFields(factorSources(dedupe(flat.parts)))) : flat;
    }
    case 'not':
      return not(simplify(f.part));
    case 'within':
      return within(simplify(f.filter), f.reason);
    case 'sameValueAs':
      return { ...f, of: simplify(f.of) };
    default:
      return f;
  }
}

function dedupe(parts: EventFilter[]): EventFilter[] {
  const seen = new Set<string>();
  return parts.filter((p) => {
    const key = JSON.stringify(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * `(source = X and A) or (source = X and B)` → `source = X and (A or B)`: most rules name their event source, so
 * the rule set's filter becomes one branch per service instead of one per rule.
 */
function factorSources(parts: EventFilter[]): EventFilter[] {
  const order: (EventFilter | { group: string })[] = [];
  const groups = new Map<string, { source: EventFilter; rests: EventFilter[] }>();
  for (const p of parts) {
    const source = p.kind === 'and' ? p.parts.find(isSourceTest) : undefined;
    if (!source || p.kind !== 'and') {
      order.push(p);
      continue;
    }
    const key = JSON.stringify(source);
    const rest = and(p.parts.filter((x) => x !== source));
    const g = groups.get(key);
    if (g) g.rests.push(rest);
    else {
      groups.set(key, { source, rests: [rest] });
      order.push({ group: key });
    }
  }
  return order.map((o) => {
    if (!('group' in o)) return o;
    const g = groups.get(o.group)!;
    return g.rests.length === 1 ? and([g.source, g.rests[0]!]) : and([g.source, simplify(or(g.rests))]);
  });
}

function isSourceTest(x: EventFilter): boolean {
  return x.kind === 'field' && x.field === 'eventSource' && x.op === 'equals';
}

function mergeFields(parts: EventFilter[]): EventFilter[] {
  const merged = new Map<string, FieldFilter>();
  const out: EventFilter[] = [];
  for (const p of parts) {
    if (p.kind !== 'field' || p.op === 'regex' || p.op === 'exists') {
      out.push(p);
      continue;
    }
    const key = JSON.stringify([p.field, p.op, p.ignoreCase === true]);
    const known = merged.get(key);
    if (known) {
      for (const v of p.values) if (!known.values.includes(v)) known.values.push(v);
    } else {
      const copy: FieldFilter = { ...p, values: [...p.values] };
      merged.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}
