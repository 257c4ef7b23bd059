/** Reading the real fixture records for the enrichment tests (no enrichment logic here). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EngineEvent } from '../../engine/model.ts';
import { type CloudTrailRecord, CloudTrailRecordSchema } from '../../engine/record.ts';
import { TEST_DIR } from './paths.ts';

export const FIXTURES = join(TEST_DIR, 'fixtures');

function toEvent(raw: Record<string, unknown>, seq: number, where: string): EngineEvent {
  // OTRF exports carry `@timestamp` instead of `eventTime`.
  const withTime =
    raw.eventTime === undefined && raw['@timestamp'] ? { ...raw, eventTime: raw['@timestamp'] } : raw;
  const record: CloudTrailRecord = CloudTrailRecordSchema.parse(withTime);
  return { record, time: Date.parse(record.eventTime), id: record.eventID ?? `${where}#${seq}`, seq };
}

/** Records of one file: a CloudTrail `{Records: []}` file, a JSON array, a single record or JSON Lines. */
export function readEvents(path: string, firstSeq = 0): EngineEvent[] {
  const text = readFileSync(path, 'utf8');
  let raws: Record<string, unknown>[];
  if (path.endsWith('.jsonl')) {
    raws = text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l));
  } else {
    const parsed = JSON.parse(text);
    raws = Array.isArray(parsed) ? parsed : Array.isArray(parsed.Records) ? parsed.Records : [parsed];
  }
  return raws.map((r, i) => toEvent(r, firstSeq + i, path));
}

export function stratusLog(technique: string): EngineEvent[] {
  return readEvents(join(FIXTURES, 'stratus-red-team', 'detonation-logs', `${technique}.json`));
}

export function allStratusEvents(): EngineEvent[] {
  const dir = join(FIXTURES, 'stratus-red-team', 'detonation-logs');
  const out: EngineEvent[] = [];
  for (const f of readdirSync(dir).sort()) out.push(...readEvents(join(dir, f), out.length));
  return out;
}

export function traildiscoverExamples(): { file: string; events: EngineEvent[] }[] {
  const dir = join(FIXTURES, 'traildiscover', 'log-examples');
  return readdirSync(dir)
    .sort()
    .flatMap((service) =>
      readdirSync(join(dir, service))
        .sort()
        .map((f) => ({ file: `${service}/${f}`, events: readEvents(join(dir, service, f)) })),
    );
}

export function otrfEvents(): EngineEvent[] {
  return readEvents(
    join(FIXTURES, 'otrf-security-datasets-aws', 'ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl'),
  );
}

/** A copy of a real record with some fields replaced (for variations the data sets do not contain). */
export function variant(event: EngineEvent, changes: Partial<CloudTrailRecord>, id: string): EngineEvent {
  return {
    ...event,
    id,
    record: { ...structuredClone(event.record), ...changes, eventID: id },
    enrichment: undefined,
  };
}

export function observeAndEnrich(
  enricher: { observe(e: EngineEvent): void; enrich(e: EngineEvent): void },
  events: EngineEvent[],
): EngineEvent[] {
  for (const e of events) enricher.observe(e);
  for (const e of [...events].sort((a, b) => a.time - b.time || a.seq - b.seq)) enricher.enrich(e);
  return events;
}
