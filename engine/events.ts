import { createHash } from 'node:crypto';
import { parseEventTime } from './ingest/event-time.ts';
import type { EngineEvent } from './model.ts';
import type { CloudTrailRecord } from './record.ts';

/**
 * Builds the EngineEvent for a validated record: parsed time, a stable id and the ingestion sequence.
 * Records without `eventID` (hand-made or exported by other tools) get an id derived from their content,
 * so the same record read twice gets the same id and is de-duplicated.
 */
export function toEngineEvent(record: CloudTrailRecord, seq: number): EngineEvent {
  return { record, time: parseEventTime(record.eventTime), id: eventIdOf(record), seq };
}

export function eventIdOf(record: CloudTrailRecord): string {
  const id = record.eventID;
  if (typeof id === 'string' && id.length > 0) return id;
  return `synthetic-${createHash('sha256').update(JSON.stringify(record)).digest('hex').slice(0, 32)}`;
}
