/**
 * Size: one million events through the signal engine. The input is the demo console session repeated
 * 1,000 times an hour apart (fresh event ids), plus a 100,000-call programmatic burst; the engine must
 * finish and find exactly 1,000 times what it finds in one copy, and one line for the burst.
 * (No timing assertion: a quadratic pass would not finish within the test's time-out; speed is for `npm run bench`.)
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../engine/model.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { TEST_DIR } from '../../support/paths.ts';
import { readEvents, session } from '../../support/signals-support.ts';

describe('signal engine at scale', () => {
  it('maps 1,100,000 events linearly, in batch and streaming, with the expected number of actions', {
    timeout: 600_000,
  }, async () => {
    const mapper = await createSignalMapper();
    const demo = readEvents(join(TEST_DIR, 'fixtures/cartographer/Demo/InputEvents.json'));
    const single = mapper.map(session, demo);
    const copies = 1000;
    const span = demo[demo.length - 1]!.time - demo[0]!.time + 3_600_000;
    const events: EngineEvent[] = [];
    for (let c = 0; c < copies; c++) {
      for (const e of demo)
        events.push({ record: e.record, time: e.time + c * span, id: `${e.id}#${c}`, seq: events.length });
    }
    const burstStart = events[events.length - 1]!.time + 3_600_000;
    const getObject = {
      eventTime: '',
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64',
      requestParameters: { bucketName: 'exfil-target' },
    };
    for (let i = 0; i < 100_000; i++) {
      events.push({
        record: getObject,
        time: burstStart + Math.floor(i / 50) * 1000,
        id: `burst-${i}`,
        seq: events.length,
      });
    }
    expect(events).toHaveLength(1_100_000);

    const result = mapper.map(session, events);
    expect(result.signals).toHaveLength(single.signals.length * copies + 1);
    const users = result.signals.filter((s) => s.id === 'IAM_Users');
    expect(users).toHaveLength(copies);
    expect(users.every((s) => s.eventIds.length === 484)).toBe(true);
    const burst = result.signals[result.signals.length - 1];
    expect(burst?.name).toBe('AWS CLI: Downloaded S3 objects (bucket exfil-target)');
    expect(burst?.eventIds).toHaveLength(100_000);
    const placed = result.signals.reduce((n, s) => n + s.eventIds.length, 0);
    expect(placed + result.unmappedEventIds.length).toBe(events.length);

    // The same through the stream, one piece at a time: same actions, most of them before the end.
    const stream = mapper.stream(session);
    let early = 0;
    let streamedEvents = 0;
    for (const e of events) {
      for (const s of stream.push(e)) {
        early++;
        streamedEvents += s.eventIds.length;
      }
    }
    const rest = stream.end();
    expect(early + rest.length).toBe(result.signals.length);
    expect(early).toBeGreaterThan(result.signals.length / 2);
    expect(streamedEvents + rest.reduce((n, s) => n + s.eventIds.length, 0)).toBe(placed);
  });
});
