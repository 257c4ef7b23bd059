/** Shared helpers for the signal-engine tests: fixture sessions → EngineEvents, and a dummy session. */
import { readFileSync } from 'node:fs';
import type { EngineEvent } from '../../engine/model.ts';
import { compareEvents } from '../../engine/order.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { SessionContext } from '../../engine/stages.ts';

export const session: SessionContext = {
  key: 'test',
  kind: 'console',
  principal: {},
  accessKeyIds: [],
  sourceIps: [],
  userAgents: [],
  regions: [],
};

export function toEvents(records: readonly Record<string, unknown>[]): EngineEvent[] {
  const events = records.map((r, seq) => {
    const record = r as unknown as CloudTrailRecord;
    return { record, time: Date.parse(record.eventTime), id: record.eventID ?? `e${seq}`, seq };
  });
  return events.sort(compareEvents);
}

export function readEvents(file: string): EngineEvent[] {
  return toEvents(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[]);
}

export interface ExpectedSignal {
  Label: string;
  AllEventIdArr: string;
  FirstEventTime: string;
  Name: string;
}

export function readExpected(file: string): ExpectedSignal[] {
  return Object.values(JSON.parse(readFileSync(file, 'utf8')) as Record<string, ExpectedSignal>);
}

/** A hand-made event for rule-feature tests. */
export function ev(
  name: string,
  second: number,
  extra: Partial<Record<keyof CloudTrailRecord, unknown>> = {},
  id?: string,
): Record<string, unknown> {
  const [prefix, eventName] = name.split(':') as [string, string];
  return {
    eventTime: new Date(Date.UTC(2024, 0, 1, 0, 0, 0) + second * 1000).toISOString().replace('.000Z', 'Z'),
    eventID: id ?? `${name}@${second}`,
    eventSource: `${prefix}.amazonaws.com`,
    eventName,
    awsRegion: 'us-east-1',
    userAgent: 'AWS Internal',
    requestParameters: null,
    ...extra,
  };
}
