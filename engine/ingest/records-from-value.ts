import type { Origin } from '../record.ts';
import type { SourceItem } from '../source.ts';
import { checkRecord } from './record-check.ts';

/** How deep containers are looked into (Lake results: object → rows → row → eventJson). */
const MAX_DEPTH = 5;

type ItemOut = Extract<SourceItem, { kind: 'record' } | { kind: 'rejected' } | { kind: 'skipped' }>;
/** Where collectRecords puts its items (an array of them, or of any SourceItem). */
export interface ItemSink {
  push(item: ItemOut): unknown;
}

/**
 * One parsed JSON value → the records in it. Besides plain records this unwraps what analysts paste or
 * export: `{"Records": […]}` (S3 delivery, e.g. one per JSON Lines line; a single record in `Records` too),
 * `{"Events": […]}` and single LookupEvents entries whose `CloudTrailEvent` is the record as a JSON *string*,
 * CloudTrail Lake query rows (`{"eventJson": "…"}`), EventBridge envelopes (`{"detail-type": …, "detail":
 * {record}}`), and arrays of any of these. `{"Records": null}` is a note of its own, not a bad record.
 */
export function* recordsFromValue(value: unknown, origin: Origin, depth = 0): Generator<ItemOut> {
  const out: ItemOut[] = [];
  collectRecords(value, origin, out, depth);
  yield* out;
}

/**
 * recordsFromValue's items pushed onto `out` (the same items in the same order), without a generator per
 * level: a delivery file's `{"Records": […]}` is one loop over its records.
 */
export function collectRecords(value: unknown, origin: Origin, out: ItemSink, depth = 0): void {
  if (Array.isArray(value)) {
    const plainOrigin = origin.line === undefined && origin.position === undefined;
    for (let i = 0; i < value.length; i++) {
      const element: unknown = value[i];
      // The same keys as `{ ...origin, position }`, built as a literal in the usual case (an origin of a file).
      const at: Origin = plainOrigin
        ? { file: origin.file, position: i + 1 }
        : { ...origin, position: i + 1 };
      // A plain record (the usual element of `Records`) is checked here, without a call of its own.
      if (isPlainRecord(element, depth + 1)) out.push(checked(element, at));
      else collectRecords(element, at, out, depth + 1);
    }
    return;
  }
  if (typeof value === 'object' && value !== null && depth < MAX_DEPTH) {
    const obj = value as Record<string, unknown>;
    if (Array.isArray(obj.Records) && obj.eventName === undefined) {
      collectRecords(obj.Records, origin, out, depth + 1);
      return;
    }
    if (Array.isArray(obj.Events) && obj.eventName === undefined) {
      collectRecords(obj.Events, origin, out, depth + 1);
      return;
    }
    if (Array.isArray(obj.QueryResultRows) && obj.eventName === undefined) {
      collectRecords(obj.QueryResultRows, origin, out, depth + 1);
      return;
    }
    const wrapped = wrappedRecord(obj);
    if (wrapped !== undefined) {
      unwrapped(wrapped, origin, out);
      return;
    }
    if (obj.Records === null && obj.eventName === undefined) {
      out.push({ kind: 'skipped', origin, reason: 'no records: "Records" is null' });
      return;
    }
  }
  out.push(checked(value, origin));
}

/** The record (object or JSON text) inside a LookupEvents entry, a Lake row, an EventBridge event or `Records`. */
function wrappedRecord(obj: Record<string, unknown>): { field: string; inner: unknown } | undefined {
  if (obj.eventName !== undefined || obj.eventname !== undefined) return undefined;
  if (typeof obj.CloudTrailEvent === 'string')
    return { field: 'CloudTrailEvent', inner: obj.CloudTrailEvent };
  const lake = obj.eventJson ?? obj.eventjson;
  if (typeof lake === 'string' || isObject(lake)) return { field: 'eventJson', inner: lake };
  if (isObject(obj.detail) && (obj['detail-type'] !== undefined || obj.source !== undefined))
    return { field: 'detail', inner: obj.detail };
  if (isObject(obj.Records)) return { field: 'Records', inner: obj.Records };
  return undefined;
}

function unwrapped(w: { field: string; inner: unknown }, origin: Origin, out: ItemSink): void {
  let inner = w.inner;
  if (typeof inner === 'string') {
    try {
      inner = JSON.parse(inner);
    } catch (e) {
      out.push({ kind: 'rejected', origin, reason: `${w.field} is not valid JSON: ${(e as Error).message}` });
      return;
    }
  }
  collectRecords(inner, origin, out, MAX_DEPTH);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object recordsFromValue would not unwrap (no `Records`, `Events` or `CloudTrailEvent` to look into). */
function isPlainRecord(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  if (depth >= MAX_DEPTH) return true;
  const o = v as Record<string, unknown>;
  return (
    o.Records === undefined &&
    o.Events === undefined &&
    o.QueryResultRows === undefined &&
    o.CloudTrailEvent === undefined &&
    o.eventJson === undefined &&
    o.eventjson === undefined &&
    o.detail === undefined
  );
}

function checked(value: unknown, origin: Origin): ItemOut {
  const result = checkRecord(value);
  return result.ok
    ? { kind: 'record', record: result.record, origin }
    : { kind: 'rejected', origin, reason: result.reason };
}
