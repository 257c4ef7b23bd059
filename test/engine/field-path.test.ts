import { describe, expect, it } from 'vitest';
import { asString, asText, compilePath, eventFieldGetter, valuesAt } from '../../engine/field-path.ts';
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
});
