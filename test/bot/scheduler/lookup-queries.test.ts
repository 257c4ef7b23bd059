/**
 * What an alert scan asks LookupEvents for: write events (ReadOnly=false) plus one lookup per
 * sensitive read the detections need, never every read event; the results are merged in time order.
 * The source is the real local source over real Invictus records, presented as a `lookup` source
 * that records its queries (LookupEvents takes one attribute per call, as these queries do).
 */
import { describe, expect, it } from 'vitest';
import { SENSITIVE_READ_EVENTS, scanItems, scanScopes } from '../../../bot/scheduler/scan-source.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { RecordSource, SourceQuery } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

describe('alert scan reads through LookupEvents', () => {
  it('asks for write events and the sensitive reads only, one attribute per lookup, merged in time order', async () => {
    const local = createLocalSource(['demo/invictus']);
    const queries: SourceQuery[] = [];
    const lookup: RecordSource = {
      name: 'lookup',
      read(query, options) {
        queries.push(query);
        return local.read(query, options);
      },
    };
    const [scope] = scanScopes('lookup', ['123837392027'], ['us-east-1']);
    expect(scope?.id).toBe('lookup/123837392027/us-east-1');
    const since = Date.parse('2023-07-10T11:40:00Z');
    const until = Date.parse('2023-07-10T12:40:00Z');
    const records: CloudTrailRecord[] = [];
    for await (const item of scanItems(lookup, scope!, since, until))
      if (item.kind === 'record') records.push(item.record);

    expect(queries[0]).toMatchObject({ readOnly: false, accounts: ['123837392027'], regions: ['us-east-1'] });
    expect(queries.slice(1).map((q) => q.eventNames)).toEqual(SENSITIVE_READ_EVENTS.map((n) => [n]));
    for (const q of queries) {
      expect(q.since?.getTime()).toBe(since);
      expect(q.until?.getTime()).toBe(until);
      // One lookup attribute per call: either ReadOnly or one EventName.
      expect(Number(q.readOnly !== undefined) + Number(q.eventNames !== undefined)).toBe(1);
    }
    // Every record is a write or a sensitive read, and the reads the detections need are there.
    const sensitive = new Set<string>(SENSITIVE_READ_EVENTS);
    for (const r of records) expect(r.readOnly === false || sensitive.has(r.eventName)).toBe(true);
    expect(records.some((r) => r.eventName === 'GetSecretValue')).toBe(true);
    expect(records.some((r) => r.readOnly === true && !sensitive.has(r.eventName))).toBe(false);
    const times = records.map((r) => r.eventTime);
    expect(times).toEqual([...times].sort());
  });

  it('local files are one read per scan, with the whole window', async () => {
    const queries: SourceQuery[] = [];
    const local = createLocalSource(['demo/invictus']);
    const source: RecordSource = {
      name: 'local',
      read(query, options) {
        queries.push(query);
        return local.read(query, options);
      },
    };
    const scopes = scanScopes('local', ['123837392027'], ['us-east-1', 'eu-west-1']);
    expect(scopes.map((s) => s.id)).toEqual(['local/*/*']);
    let n = 0;
    for await (const item of scanItems(source, scopes[0]!, 0, Date.parse('2024-01-01T00:00:00Z'))) {
      if (item.kind === 'record') n++;
    }
    expect(queries).toHaveLength(1);
    expect(queries[0]?.readOnly).toBeUndefined();
    expect(n).toBeGreaterThan(2000);
  });
});
