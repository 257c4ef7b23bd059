import { describe, expect, it } from 'vitest';
import { EventDeduper } from '../../engine/dedupe.ts';

/** Feeds ids to a deduper and to a Set of strings: both must agree on every sighting. */
function agreeWithSet(stream: string[]): void {
  const d = new EventDeduper();
  const seen = new Set<string>();
  for (const id of stream) {
    const expected = !seen.has(id);
    seen.add(id);
    expect(d.firstSighting(id), id).toBe(expected);
  }
  expect(d.duplicates).toBe(stream.length - seen.size);
}

describe('EventDeduper on ids that are almost UUIDs', () => {
  const base = '0123abcd-4567-89ef-fedc-ba9876543210';

  it('tells apart UUIDs that differ in any one hex digit', () => {
    const ids = [base];
    for (let i = 0; i < base.length; i++) {
      if (base[i] === '-') continue;
      ids.push(`${base.slice(0, i)}${base[i] === '0' ? '1' : '0'}${base.slice(i + 1)}`);
    }
    agreeWithSet([...ids, ...ids.reverse()]);
  });

  it('keeps anything that is not a lowercase 8-4-4-4-12 UUID as its own string', () => {
    const odd = [
      base.toUpperCase(),
      base.replace('-', 'x'),
      `${base.slice(0, 35)}g`,
      `${base.slice(0, 35)}\u00e9`,
      `${base.slice(0, 8)}${base.slice(9)}-`,
      `${base.slice(0, 3)}/${base.slice(4)}`,
      `${base.slice(0, 20)}:${base.slice(21)}`,
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
      base.slice(1),
      `${base}0`,
    ];
    agreeWithSet([base, ...odd, base, ...odd, odd[0]!.toLowerCase()]);
  });
});
