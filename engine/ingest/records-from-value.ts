import type { Origin } from '../record.ts';
import type { SourceItem } from '../source.ts';
import { checkRecord } from './record-check.ts';

type ItemOut = Extract<SourceItem, { kind: 'record' } | { kind: 'rejected' }>;

/**
 * One parsed JSON value → the records in it. Besides plain records this unwraps what analysts paste or
 * export: `{"Records": […]}` (S3 delivery, e.g. one per JSON Lines line), `{"Events": […]}` and single
 * LookupEvents entries whose `CloudTrailEvent` is the record as a JSON *string*, and arrays of any of these.
 */
export function* recordsFromValue(value: unknown, origin: Origin, depth = 0): Generator<ItemOut> {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      const at: Origin = { ...origin, position: i + 1 };
      // A plain record (the usual element of `Records`) is checked here, without a generator of its own.
      if (isPlainRecord(element, depth + 1)) yield checked(element, at);
      else yield* recordsFromValue(element, at, depth + 1);
    }
    return;
  }
  if (typeof value === 'object' && value !== null && depth < 3) {
    const obj = value as Record<string, unknown>;
    if (Array.isArray(obj.Records) && obj.eventName === undefined) {
      yield* recordsFromValue(obj.Records, origin, depth + 1);
      return;
    }
    if (Array.isArray(obj.Events) && obj.eventName === undefined) {
      yield* recordsFromValue(obj.Events, origin, depth + 1);
      return;
    }
    if (typeof obj.CloudTrailEvent === 'string') {
      let inner: unknown;
      try {
        inner = JSON.parse(obj.CloudTrailEvent);
      } catch (e) {
        yield {
          kind: 'rejected',
          origin,
          reason: `CloudTrailEvent is not valid JSON: ${(e as Error).message}`,
        };
        return;
      }
      yield* recordsFromValue(inner, origin, 3);
      return;
    }
  }
  yield checked(value, origin);
}

/** An object recordsFromValue would not unwrap (no `Records`, `Events` or `CloudTrailEvent` to look into). */
function isPlainRecord(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  if (depth >= 3) return true;
  const o = v as Record<string, unknown>;
  return o.Records === undefined && o.Events === undefined && o.CloudTrailEvent === undefined;
}

function checked(value: unknown, origin: Origin): ItemOut {
  const result = checkRecord(value);
  return result.ok
    ? { kind: 'record', record: result.record, origin }
    : { kind: 'rejected', origin, reason: result.reason };
}
