import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isoSecond } from '../../../engine/ingest/event-time.ts';

// The remembered date part must give exactly what Date's own ISO text gives (without `.000`), whatever order
// the times come in: whole seconds, milliseconds, the edges of days and years, out-of-range and invalid times.
const plain = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');

describe('isoSecond', () => {
  it('matches toISOString for whole seconds and everything else', () => {
    const time = fc.oneof(
      fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => s * 1000),
      fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 }),
      fc.constantFrom(0, -0, 86_399_000, 86_400_000, 253_402_300_799_000, 253_402_300_800_000, -1000, 1000.5),
    );
    fc.assert(
      fc.property(fc.array(time, { maxLength: 20 }), (times) => {
        for (const t of times) expect(isoSecond(t)).toBe(plain(t));
      }),
      { numRuns: 300 },
    );
  });

  it('throws on an invalid time as Date does', () => {
    expect(() => isoSecond(Number.NaN)).toThrow(RangeError);
  });
});
