import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventKey, ObjectFacts } from '../../../engine/signals/conditions.ts';

// The remembered answers (key text per key sequence, one event key per source and name) must be what the plain
// computation gives, whatever order keys arrive in and however often a shape repeats.
const keyName = fc.constantFrom(
  'a',
  'b',
  'bucketName',
  'Key',
  '0',
  '10',
  '2',
  'x-y',
  '__proto__',
  'toString',
);
const leaf = fc.oneof(
  fc.constant(''),
  fc.constant({}),
  fc.constant([]),
  fc.string(),
  fc.integer(),
  fc.constant(null),
);
const object = fc
  .array(fc.tuple(keyName, fc.oneof(leaf, fc.dictionary(keyName, leaf))), { maxLength: 6 })
  .map((entries) => {
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries)
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  });

function plainKeys(v: Record<string, unknown> | null): string {
  return v ? Object.keys(v).sort().join(',') : '';
}

function plainEmptyKeys(v: Record<string, unknown> | null): string {
  const o = v ?? {};
  return Object.keys(o)
    .filter((k) => {
      const x = o[k];
      return (
        x === '' || (x !== null && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 0)
      );
    })
    .sort()
    .join(',');
}

describe('signal condition facts', () => {
  it('keys and emptyKeys equal the plain computation for any object, shapes repeated', () => {
    fc.assert(
      fc.property(fc.array(fc.option(object), { minLength: 1, maxLength: 8 }), (objects) => {
        for (const o of [...objects, ...objects]) {
          const facts = new ObjectFacts(o);
          expect(facts.keys).toBe(plainKeys(o));
          expect(facts.emptyKeys).toBe(plainEmptyKeys(o));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('eventKey: service prefix and name, the same text when asked again', () => {
    expect(eventKey({ eventSource: 'iam.amazonaws.com', eventName: 'ListUsers' })).toBe('iam:ListUsers');
    expect(eventKey({ eventSource: 'iam.amazonaws.com', eventName: 'ListUsers' })).toBe('iam:ListUsers');
    expect(eventKey({ eventSource: 'iam.amazonaws.com', eventName: 'ListRoles' })).toBe('iam:ListRoles');
    expect(eventKey({ eventSource: 'nodot', eventName: 'X' })).toBe('nodot:X');
    expect(eventKey({ eventSource: undefined, eventName: undefined } as never)).toBe(':');
  });
});
