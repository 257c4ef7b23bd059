import { createHash } from 'node:crypto';
import { parseEventTime } from './ingest/event-time.ts';
import type { EngineEvent } from './model.ts';
import type { CloudTrailRecord } from './record.ts';

/**
 * Builds the EngineEvent for a validated record: parsed time, a stable id and the ingestion sequence.
 * Records without `eventID` (hand-made or exported by other tools) get an id derived from their content,
 * so the same record read twice gets the same id and is de-duplicated, whichever source wrote it: the content is
 * hashed in one canonical form (keys sorted at every level, absent and null fields alike left out), so a file's
 * record and the same record as an Athena row, whose columns come in another order, get one id.
 */
export function toEngineEvent(record: CloudTrailRecord, seq: number): EngineEvent {
  // `enrichment` is there from the start (filled in when the session closes), so adding it later does not
  // give every held event a second property store.
  return {
    record,
    time: parseEventTime(record.eventTime),
    id: eventIdOf(record),
    seq,
    enrichment: undefined,
  };
}

export function eventIdOf(record: CloudTrailRecord): string {
  const id = record.eventID;
  if (typeof id === 'string' && id.length > 0) return id;
  return `synthetic-${createHash('sha256').update(canonicalJson(record)).digest('hex').slice(0, 32)}`;
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
