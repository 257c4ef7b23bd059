/**
 * The one field-path language of the engine: how detections (rules/detections, Sigma, CloudGrappler) and signals
 * (rules/signals `params` / `response` tests, templates, follow-ups) address values inside a record.
 *
 *   userIdentity.sessionContext.sessionIssuer.arn     keys, separated by dots
 *   items[0].name                                      one element of an array
 *   items[].name                                       every element (`[]`)
 *   enrichment.policy.fullAdmin                        (detections) `event.enrichment` instead of the record
 *
 * A path is parsed once into steps (`compilePath`, cached by its text) and read in one of two ways:
 * - `readAll` (detections): every value reached, walking into any array met on the way (so `[]` is optional),
 *   leaf arrays flattened, `null` counted as absent: a test holds when ANY reached value satisfies it (Sigma).
 * - `valuesAt` (signals): the values at the path as they are: an array is entered only by `[]` or `[n]`, or by a
 *   key read from each of its elements (member enumeration); a leaf array stays one value; a key that is present
 *   counts even when its value is null.
 */
import type { EngineEvent } from './model.ts';

export type Step = { key: string } | { index: number } | { each: true };

export interface CompiledPath {
  readonly text: string;
  readonly steps: readonly Step[];
}

const PART = /^([^[\]]*)((?:\[\d*\])*)$/;
const BRACKETS = /\[\d*\]/g;
const compiled = new Map<string, CompiledPath>();

/** Parses a path once (cached); a part that is not `key[…]…` is taken as a key as written. */
export function compilePath(text: string): CompiledPath {
  let path = compiled.get(text);
  if (path) return path;
  const steps: Step[] = [];
  for (const part of text.split('.')) {
    const m = PART.exec(part);
    if (!m) {
      if (part) steps.push({ key: part });
      continue;
    }
    if (m[1]) steps.push({ key: m[1] });
    for (const br of m[2]?.match(BRACKETS) ?? []) {
      steps.push(br === '[]' ? { each: true } : { index: Number(br.slice(1, -1)) });
    }
  }
  path = { text, steps };
  compiled.set(text, path);
  return path;
}

const pathOf = (p: string | CompiledPath): CompiledPath => (typeof p === 'string' ? compilePath(p) : p);

// ---- detections: every reached value --------------------------------------------------------------------

/** Every value reached from `root` along `steps` from `from` on (see the module comment), appended to `out`. */
export function readAll(root: unknown, steps: readonly Step[], from: number, out: unknown[]): void {
  walk(root, steps, from, out);
}

function walk(value: unknown, steps: readonly Step[], index: number, out: unknown[]): void {
  if (value === undefined || value === null) return;
  if (index === steps.length) {
    collect(value, out);
    return;
  }
  const step = steps[index]!;
  if ('each' in step) {
    walk(value, steps, index + 1, out);
    return;
  }
  if ('index' in step) {
    if (Array.isArray(value)) walk(value[step.index], steps, index + 1, out);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) walk(item, steps, index, out);
    return;
  }
  if (typeof value !== 'object') return;
  walk((value as Record<string, unknown>)[step.key], steps, index + 1, out);
}

/** Leaf arrays are flattened so `in`/`equals` see their elements; `null` counts as absent. */
function collect(value: unknown, out: unknown[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) collect(item, out);
    return;
  }
  out.push(value);
}

export type FieldGetter = (event: EngineEvent) => unknown[];

const getters = new Map<string, FieldGetter>();

/**
 * A getter of every value a path reaches in an event (`readAll`; `enrichment.…` reads `event.enrichment`),
 * one per path text. Getters are shared by every rule reading the same path and rules are tried event by event:
 * the values last read are remembered with the object they were read from (the event's record, or its enrichment
 * object), which saves re-walking for the next rule. Keyed by that object, not by the event, they cannot go stale
 * when an event is enriched (or enriched again) after a getter read it: the enricher sets a new object
 * (enrichment/index.ts), never changes one in place. Callers never mutate the returned array, nor keep it past their
 * next call of the same getter for another event (it may be reused).
 */
export function eventFieldGetter(text: string): FieldGetter {
  let getter = getters.get(text);
  if (!getter) {
    getter = buildGetter(compilePath(text).steps);
    getters.set(text, getter);
  }
  return getter;
}

/**
 * An empty array of V8's general element kind, the kind of an array holding strings or objects. A `[]` literal starts
 * as a small-integer array, another hidden class: code reading value lists compiled after seeing one kind is
 * deoptimised (and compiled again) the first time it meets the other. Value lists handed out here are all of this kind.
 */
export function emptyValues<T>(): T[] {
  const out: T[] = [undefined as T];
  out.pop();
  return out;
}

/** Nothing reached (never changed by callers). */
const NONE: unknown[] = emptyValues();

function buildGetter(all: readonly Step[]): FieldGetter {
  const first = all[0];
  const fromEnrichment = first !== undefined && 'key' in first && first.key === 'enrichment';
  const steps = fromEnrichment ? all.slice(1) : all;
  const keys = steps.every((s) => 'key' in s) ? steps.map((s) => (s as { key: string }).key) : undefined;
  // The usual answer is one value: one array per getter, refilled for each event (callers use the values before
  // asking the same getter about another event), instead of a new array per event and path.
  const one: unknown[] = [undefined];
  // No root (an event not enriched yet) reads as nothing, which is what the memo holds before the first read.
  let lastRoot: object | undefined;
  let lastValues: unknown[] = NONE;
  const walked = (root: object): unknown[] => {
    const out = emptyValues<unknown>();
    walk(root, steps, 0, out);
    return out;
  };
  // A path with `[]` or `[n]`: its leading keys first, as walk() would follow them; most events lack the first ones
  // (`requestParameters.launchPermission.add.items[].userId`), and then nothing is reached, without a walk.
  let lead = 0;
  while (lead < steps.length && 'key' in steps[lead]!) lead++;
  const leadKeys = steps.slice(0, lead).map((s) => (s as { key: string }).key);
  const absent = (root: object): boolean => {
    let value: unknown = root;
    for (let i = 0; i < leadKeys.length; i++) {
      if (value === undefined || value === null || typeof value !== 'object') return true;
      if (Array.isArray(value)) return false;
      value = (value as Record<string, unknown>)[leadKeys[i]!];
    }
    return value === undefined || value === null;
  };
  const read = (root: object): unknown[] => {
    if (keys === undefined) return absent(root) ? NONE : walked(root);
    // Keys only: follow them as walk() would; an array on the way or at the end is walk()'s to flatten.
    let value: unknown = root;
    for (let i = 0; i < keys.length; i++) {
      if (value === undefined || value === null || typeof value !== 'object') return NONE;
      if (Array.isArray(value)) return walked(root);
      value = (value as Record<string, unknown>)[keys[i]!];
    }
    if (value === undefined || value === null) return NONE;
    if (Array.isArray(value)) return walked(root);
    one[0] = value;
    return one;
  };
  return (event) => {
    const root = fromEnrichment ? event.enrichment : event.record;
    if (root !== lastRoot) {
      lastValues = root ? read(root) : NONE;
      lastRoot = root;
    }
    return lastValues;
  };
}

/**
 * Every value a path reaches in an event as text (asText): a threshold's distinct values. A new array per call (kept by
 * the caller, unlike a getter's), always of one element kind.
 */
export function eventTextsGetter(text: string): (event: EngineEvent) => string[] {
  const get = eventFieldGetter(text);
  return (event) => {
    const values = get(event);
    const out = emptyValues<string>();
    for (let i = 0; i < values.length; i++) out.push(asText(values[i]));
    return out;
  };
}

/** The text form a detection's string operator compares: objects as compact JSON (what Sigma's rules expect). */
export function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    // Several rules (Sigma `requestParameters|contains`, indicators) read the same object as text: serialise once.
    let text = textCache.get(value);
    if (text === undefined) {
      text = JSON.stringify(value);
      textCache.set(value, text);
    }
    return text;
  }
  return String(value);
}

const textCache = new WeakMap<object, string>();

// ---- signals: the values as they are ----------------------------------------------------------------------

/** Every value found at `path` (several when the path has `[]`, none when it does not exist). */
export function valuesAt(root: unknown, path: string | CompiledPath): unknown[] {
  const steps = pathOf(path).steps;
  // Keys only and no array on the way (the usual case): at most one value, without an array per step.
  let value = root;
  let i = 0;
  for (; i < steps.length; i++) {
    const step = steps[i]!;
    if (value === null || value === undefined || !('key' in step)) break;
    if (typeof value !== 'object') return [];
    if (Array.isArray(value)) break;
    if (!(step.key in value)) return [];
    value = (value as Record<string, unknown>)[step.key];
  }
  if (i === steps.length) return [value];
  if (value === null || value === undefined) return [];
  let current: unknown[] = [value];
  for (; i < steps.length; i++) {
    const step = steps[i]!;
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || v === undefined) continue;
      if ('key' in step) {
        if (typeof v === 'object' && !Array.isArray(v) && step.key in (v as object)) {
          next.push((v as Record<string, unknown>)[step.key]);
        } else if (Array.isArray(v)) {
          // PowerShell-style member enumeration: `items.name` reads `name` of every element.
          for (const el of v) {
            if (el && typeof el === 'object' && step.key in el)
              next.push((el as Record<string, unknown>)[step.key]);
          }
        }
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (Array.isArray(v)) {
        for (const el of v) next.push(el);
      }
    }
    current = next;
  }
  return current;
}

/** The string form signals compare: strings as-is, other scalars via JSON, objects as compact JSON. */
export function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}
