import type { EngineEvent } from './model.ts';

/**
 * The one event order used everywhere. CloudTrail times have one-second resolution and many
 * events share a second, so ties are broken by values that mean something (source, name)
 * before the random eventID; ingestion order is never used, so shuffled input gives the same result.
 */
export function compareEvents(a: EngineEvent, b: EngineEvent): number {
  return (
    a.time - b.time ||
    cmp(a.record.eventSource, b.record.eventSource) ||
    cmp(a.record.eventName, b.record.eventName) ||
    cmp(a.id, b.id)
  );
}

function cmp(a: string, b: string): number {
  // Equal first: ties (one source, one name) are the common case, and `<` then `>` would compare them twice.
  return a === b ? 0 : a < b ? -1 : 1;
}
