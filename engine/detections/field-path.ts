/**
 * Dotted field paths into an event, compiled once per rule.
 *
 * `requestParameters.ipPermissions.items[].ipRanges.items[].cidrIp` walks into arrays; `[]` is optional
 * because arrays met on the way are always walked (a condition holds when any reached value satisfies it,
 * as in Sigma); `items[1]` picks one element. Paths starting with `enrichment.` read `event.enrichment`;
 * everything else reads the record.
 */
import type { EngineEvent } from '../model.ts';

export type FieldGetter = (event: EngineEvent) => unknown[];

const cache = new Map<string, FieldGetter>();

export function compileFieldPath(path: string): FieldGetter {
  let getter = cache.get(path);
  if (!getter) {
    getter = buildGetter(path);
    cache.set(path, getter);
  }
  return getter;
}

function buildGetter(path: string): FieldGetter {
  const segments: string[] = [];
  for (const part of path.split('.')) {
    const m = part.match(/^(.*?)\[(\d*)\]$/);
    if (!m) {
      if (part) segments.push(part);
      continue;
    }
    if (m[1]) segments.push(m[1]);
    if (m[2]) segments.push(`[${m[2]}]`);
  }
  const fromEnrichment = segments[0] === 'enrichment';
  const rest = fromEnrichment ? segments.slice(1) : segments;
  const NONE: unknown[] = [];
  let read: (event: EngineEvent) => unknown[];
  if (rest.length === 1 && !rest[0]!.startsWith('[')) {
    const key = rest[0]!;
    read = (event) => {
      const root = fromEnrichment ? event.enrichment : event.record;
      if (!root) return NONE;
      const value = (root as Record<string, unknown>)[key];
      if (value === undefined || value === null) return NONE;
      if (!Array.isArray(value)) return [value];
      const out: unknown[] = [];
      collect(value, out);
      return out;
    };
  } else {
    read = (event) => {
      const root = fromEnrichment ? event.enrichment : event.record;
      if (!root) return NONE;
      const out: unknown[] = [];
      walk(root, rest, 0, out);
      return out;
    };
  }
  // Getters are shared by every rule reading the same path, and rules are tried event by event: remembering
  // the last event's values saves re-walking for the next rule. Callers never mutate the returned array.
  let lastEvent: EngineEvent | undefined;
  let lastValues: unknown[] = NONE;
  return (event) => {
    if (event !== lastEvent) {
      lastValues = read(event);
      lastEvent = event;
    }
    return lastValues;
  };
}

function walk(value: unknown, segments: string[], index: number, out: unknown[]): void {
  if (value === undefined || value === null) return;
  if (index === segments.length) {
    collect(value, out);
    return;
  }
  const segment = segments[index]!;
  if (segment.startsWith('[')) {
    if (Array.isArray(value)) walk(value[Number(segment.slice(1, -1))], segments, index + 1, out);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) walk(item, segments, index, out);
    return;
  }
  if (typeof value !== 'object') return;
  walk((value as Record<string, unknown>)[segment], segments, index + 1, out);
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

/** The text form a string operator compares: objects as compact JSON (what Sigma's CloudTrail rules expect). */
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
