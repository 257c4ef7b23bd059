import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  asString,
  asText,
  compilePath,
  eventFieldGetter,
  readAll,
  type Step,
  valuesAt,
} from '../../engine/field-path.ts';
import type { EngineEvent } from '../../engine/model.ts';

const record = {
  eventSource: 'ec2.amazonaws.com',
  requestParameters: {
    ipPermissions: {
      items: [
        { ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }, { cidrIp: '10.0.0.0/8' }] } },
        { ipRanges: { items: [{ cidrIp: '192.168.0.0/16' }] } },
      ],
    },
    tags: ['a', 'b'],
    empty: null,
  },
};
const event = { record, enrichment: { policy: { fullAdmin: true } } } as unknown as EngineEvent;

describe('one field-path language', () => {
  it('parses keys, indexes and [] once', () => {
    const p = compilePath('a.items[0][].name');
    expect(p.steps).toEqual([{ key: 'a' }, { key: 'items' }, { index: 0 }, { each: true }, { key: 'name' }]);
    expect(compilePath('a.items[0][].name')).toBe(p);
  });

  it('detections: every reached value, arrays walked with or without [], leaves flattened, null absent', () => {
    const cidrs = ['0.0.0.0/0', '10.0.0.0/8', '192.168.0.0/16'];
    expect(
      eventFieldGetter('requestParameters.ipPermissions.items[].ipRanges.items[].cidrIp')(event),
    ).toEqual(cidrs);
    expect(eventFieldGetter('requestParameters.ipPermissions.items.ipRanges.items.cidrIp')(event)).toEqual(
      cidrs,
    );
    expect(eventFieldGetter('requestParameters.ipPermissions.items[1].ipRanges.items.cidrIp')(event)).toEqual(
      ['192.168.0.0/16'],
    );
    expect(eventFieldGetter('requestParameters.tags')(event)).toEqual(['a', 'b']);
    expect(eventFieldGetter('requestParameters.empty')(event)).toEqual([]);
    expect(eventFieldGetter('enrichment.policy.fullAdmin')(event)).toEqual([true]);
    expect(asText({ a: 1 })).toBe('{"a":1}');
  });

  it('detections: an event enriched after a getter read it is read afresh (the memo cannot go stale)', () => {
    const kind = eventFieldGetter('enrichment.sourceKind');
    const walkedKind = eventFieldGetter('enrichment.sourceKind[]');
    const e = { record: { eventName: 'GetObject' } } as unknown as EngineEvent;
    expect(kind(e)).toEqual([]);
    expect(walkedKind(e)).toEqual([]);
    e.enrichment = { sourceKind: 'aws-service' } as EngineEvent['enrichment'];
    expect(kind(e)).toEqual(['aws-service']);
    expect(walkedKind(e)).toEqual(['aws-service']);
    // Enriched again (a new object, as the enricher sets it): the new value.
    e.enrichment = { sourceKind: 'public' } as EngineEvent['enrichment'];
    expect(kind(e)).toEqual(['public']);
    expect(walkedKind(e)).toEqual(['public']);
    // Another event with no enrichment in between: nothing, then the first event's value again.
    expect(kind({ record: {} } as unknown as EngineEvent)).toEqual([]);
    expect(kind(e)).toEqual(['public']);
  });

  it('signals: values as they are, member enumeration, a present null counts', () => {
    const params = record.requestParameters;
    expect(valuesAt(params, 'tags')).toEqual([['a', 'b']]);
    expect(valuesAt(params, 'tags[]')).toEqual(['a', 'b']);
    expect(valuesAt(params, 'ipPermissions.items.ipRanges')).toHaveLength(2);
    expect(valuesAt(params, 'ipPermissions.items[1].ipRanges.items[].cidrIp')).toEqual(['192.168.0.0/16']);
    expect(valuesAt(params, 'empty')).toEqual([null]);
    expect(valuesAt(params, 'missing')).toEqual([]);
    expect(asString(null)).toBe('null');
    expect(asString(undefined)).toBe('');
  });

  // The fast paths (keys only, no array on the way) against the general walk, on any shape of value.
  it('fast paths give what the general walk gives, for any value and path', () => {
    /** valuesAt as the general step-by-step walk (no fast path). */
    const general = (root: unknown, steps: readonly Step[]): unknown[] => {
      let current: unknown[] = [root];
      for (const step of steps) {
        const next: unknown[] = [];
        for (const v of current) {
          if (v === null || v === undefined) continue;
          if ('key' in step) {
            if (typeof v === 'object' && !Array.isArray(v) && step.key in v)
              next.push((v as Record<string, unknown>)[step.key]);
            else if (Array.isArray(v))
              for (const el of v)
                if (el && typeof el === 'object' && step.key in el)
                  next.push((el as Record<string, unknown>)[step.key]);
          } else if ('index' in step) {
            if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
          } else if (Array.isArray(v)) next.push(...v);
        }
        current = next;
      }
      return current;
    };
    const key = fc.constantFrom('a', 'b', 'c');
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(null, 'x', 0, true, ''),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(key, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    const part = fc.tuple(key, fc.constantFrom('', '[]', '[0]', '[1]'));
    fc.assert(
      fc.property(
        fc.dictionary(key, value, { maxKeys: 3 }),
        fc.array(part, { minLength: 1, maxLength: 4 }),
        (root, parts) => {
          const text = parts.map(([k, br]) => `${k}${br}`).join('.');
          const steps = compilePath(text).steps;
          expect(valuesAt(root, text)).toEqual(general(root, steps));
          const walked: unknown[] = [];
          readAll(root, steps, 0, walked);
          const e = { record: root } as unknown as EngineEvent;
          expect([...eventFieldGetter(text)(e)]).toEqual(walked);
        },
      ),
      { numRuns: 2000, seed: 19 },
    );
  });
});
