/**
 * A backend-neutral description of which events a condition can hold for, so a store that can filter (Athena, SQL)
 * is asked only for the events that can matter. Compiled condition nodes carry one (`describe`), and
 * engine/detections/pushdown.ts combines them over the enabled rule set.
 *
 * A `field` filter has the rules' own semantics (condition.ts): it holds when ANY value reached by the dotted path
 * (arrays walked, objects compared as compact JSON) satisfies the operator. `opaque` is a part no backend can
 * decide (a closure, an unknown node kind): a backend must treat it as "could hold" when widening and "cannot be
 * shown to hold" when narrowing (under a `not`). `sameValueAs` is a semi-join: the field's value equals that field's
 * value in some event of the same read that matches `of` (e.g. "a person used this address too"). `within` wraps a
 * wider description: a backend may widen to it, never narrow to it.
 */
export type EventFilter =
  | { kind: 'const'; value: boolean }
  | { kind: 'and'; parts: EventFilter[] }
  | { kind: 'or'; parts: EventFilter[] }
  | { kind: 'not'; part: EventFilter }
  | FieldFilter
  | { kind: 'sameValueAs'; field: string; of: EventFilter }
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
  /** Read this far before the window too (credentials issued earlier are still in use). */
  lookbackMs?: number;
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
