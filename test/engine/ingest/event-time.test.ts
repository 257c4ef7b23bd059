import { describe, expect, it } from 'vitest';
import { parseEventTime } from '../../../engine/ingest/event-time.ts';

// The fast path must give Date.parse's answer for every spelling, CloudTrail's and others'.
const spellings = [
  '2023-07-10T12:27:45Z',
  '2023-07-10T12:27:45Z', // the same text again: the remembered answer
  '2023-07-10T12:27:46Z',
  '1970-01-01T00:00:00Z',
  '2024-02-29T23:59:59Z',
  '2023-02-29T00:00:00Z', // no such day: Date.parse rolls over to 1 March
  '2023-02-31T10:00:00Z',
  '2023-04-31T00:00:00Z',
  '2023-12-31T23:59:59Z',
  '2023-13-01T00:00:00Z',
  '2023-00-10T00:00:00Z',
  '2023-01-00T00:00:00Z',
  '2023-01-32T00:00:00Z',
  '2023-01-01T24:00:00Z',
  '2023-01-01T23:60:00Z',
  '2023-01-01T23:59:60Z',
  '0099-01-01T00:00:00Z',
  '1969-12-31T23:59:59Z',
  '2023-07-10T12:27:45.123Z',
  '2023-07-10T12:27:45+02:00',
  '2023-07-10 12:27:45Z',
  '2023-07-10T12:27:4xZ',
  '2023-07-1OT12:27:45Z',
  '2023/07/10T12:27:45Z',
  '2023-07-10T12:27:45z',
  'Mon, 10 Jul 2023 12:27:45 GMT',
  '2023-07-10',
  '',
  'not a time at all, 20',
];

describe('parseEventTime', () => {
  it.each(spellings)('agrees with Date.parse on %j', (text) => {
    expect(parseEventTime(text)).toEqual(Date.parse(text));
  });

  it('agrees with Date.parse on every second of a day and across month ends', () => {
    const mismatches: string[] = [];
    const starts = [Date.UTC(2023, 6, 10), Date.UTC(2024, 1, 28, 12), Date.UTC(2023, 11, 31, 12)];
    for (const start of starts) {
      for (let ms = start; ms < start + 86_400_000; ms += 997_000) {
        const text = `${new Date(ms).toISOString().slice(0, 19)}Z`;
        if (parseEventTime(text) !== Date.parse(text)) mismatches.push(text);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
