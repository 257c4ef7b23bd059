/**
 * A part's events are kept in the one event order as they arrive when they can be (a burst of one second is put
 * in place at once), or sorted when the part closes: either way, exactly the order of a stable sort.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../../engine/model.ts';
import { compareEvents } from '../../../engine/order.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { append, type Part } from '../../../engine/sessions/key-parts.ts';
import { SessionFacts } from '../../../engine/sessions/session-facts.ts';

const T0 = Date.parse('2025-05-01T08:00:00Z');
const SOURCES = ['ec2.amazonaws.com', 's3.amazonaws.com', 'iam.amazonaws.com'];
const NAMES = ['DescribeInstances', 'GetObject', 'ListUsers', 'ListRoles'];

function event(seq: number, second: number, source: number, name: number, id: string): EngineEvent {
  const record = {
    eventTime: new Date(T0 + second * 1000).toISOString(),
    eventSource: SOURCES[source]!,
    eventName: NAMES[name]!,
    eventID: id,
  } as CloudTrailRecord;
  return { record, time: T0 + second * 1000, id, seq };
}

/** The part's events as the sessionizer hands them out when it closes. */
function closed(events: EngineEvent[]): { order: EngineEvent[]; inOrder: boolean } {
  const part: Part = { facts: new SessionFacts('k', 'k'), events: [], inOrder: true };
  for (const e of events) append(part, e);
  return { order: part.inOrder ? part.events : part.events.sort(compareEvents), inOrder: part.inOrder };
}

describe('a part keeps its events in the event order', () => {
  it('gives the order of a stable sort, whatever the arrival order', () => {
    const arb = fc.array(
      fc.record({
        second: fc.integer({ min: 0, max: 6 }),
        source: fc.integer({ min: 0, max: 2 }),
        name: fc.integer({ min: 0, max: 3 }),
        id: fc.integer({ min: 0, max: 40 }),
      }),
      { maxLength: 80 },
    );
    fc.assert(
      fc.property(arb, (specs) => {
        // Ids may repeat (equal events): their arrival order must survive, as in a stable sort.
        const events = specs.map((s, i) => event(i, s.second, s.source, s.name, `id-${s.id}`));
        expect(closed(events).order).toEqual([...events].sort(compareEvents));
      }),
      { numRuns: 300 },
    );
  });

  it('puts a burst of one second in place as it arrives, and sorts what came from further back', () => {
    const burst = Array.from({ length: 12 }, (_, i) => event(i, 5, 0, 0, `id-${99 - i}`));
    const inBurst = closed([event(100, 1, 0, 0, 'a'), ...burst]);
    expect(inBurst.inOrder).toBe(true);
    expect(inBurst.order.map((e) => e.id)).toEqual(['a', ...burst.map((e) => e.id).reverse()]);

    const long = Array.from({ length: 100 }, (_, i) =>
      event(i, 5, 0, 0, `id-${String(99 - i).padStart(3, '0')}`),
    );
    const back = closed([...long, event(200, 2, 0, 0, 'late')]);
    expect(back.inOrder).toBe(false);
    expect(back.order).toEqual([...long, event(200, 2, 0, 0, 'late')].sort(compareEvents));
  });
});
