import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import {
  readInput,
  readSmallFileSync,
  wholeFileItemList,
  wholeFileItems,
} from '../../../engine/ingest/read-input.ts';
import { collectRecords, recordsFromValue } from '../../../engine/ingest/records-from-value.ts';
import type { SourceItem } from '../../../engine/source.ts';

const dir = mkdtempSync(join(tmpdir(), 'cartographer-read-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record = (i: number, pad = '') => ({
  eventTime: '2024-03-01T10:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName: `Get${i}`,
  eventID: `id-${i}`,
  userAgent: `agent ${pad}`,
});

describe('small files read whole into one reused buffer', () => {
  it('gives every file its own text, whatever the sizes before it (large, small, gzip, non-ASCII)', () => {
    const texts = [
      JSON.stringify({ Records: [record(1, 'x'.repeat(200_000))] }),
      JSON.stringify({ Records: [record(2)] }),
      JSON.stringify({ Records: [record(3, 'é ü — 日本'.repeat(5_000))] }),
      '',
      JSON.stringify({ Records: [record(4, 'y'.repeat(70_000)), record(5)] }),
      JSON.stringify({ Records: [record(6)] }),
    ];
    texts.forEach((text, i) => {
      const file = join(dir, `f${i}.json`);
      writeFileSync(file, i === 4 ? gzipSync(text) : text);
      expect(readSmallFileSync(file)).toBe(text);
    });
    // The files again in another order: the buffer kept from a larger file holds none of its bytes in a smaller one's text.
    for (const i of [0, 5, 2, 1, 3, 4]) {
      expect(readSmallFileSync(join(dir, `f${i}.json`))).toBe(texts[i]);
    }
  });

  it('leaves files over the limit to the streaming path', () => {
    const file = join(dir, 'big.json');
    writeFileSync(file, JSON.stringify({ Records: [record(1, 'z'.repeat(5000))] }));
    expect(readSmallFileSync(file, 1000)).toBeUndefined();
    expect(readSmallFileSync(join(dir, 'missing.json'))).toBeUndefined();
  });
});

describe('items of a whole file, collected without generators', () => {
  const cases: [string, string][] = [
    ['delivery file', JSON.stringify({ Records: [record(1), { eventName: 'x' }, 7, record(2)] })],
    [
      'array of wrappers',
      JSON.stringify([{ Records: [record(1)] }, [record(2), record(3)], { Records: null }]),
    ],
    [
      'LookupEvents',
      JSON.stringify({ Events: [{ CloudTrailEvent: JSON.stringify(record(4)) }, { CloudTrailEvent: '{' }] }),
    ],
    ['single record', JSON.stringify(record(5))],
    ['JSON Lines', `${JSON.stringify(record(6))}\n{bad\n${JSON.stringify({ Records: [record(7)] })}\n`],
    ['whitespace', '  \n'],
  ];
  it.each(cases)('%s: the same items, in the same order, as the streaming reader', async (_, text) => {
    const file = join(dir, `${_.replace(/ /g, '-')}.json`);
    writeFileSync(file, text);
    const streamed: SourceItem[] = [];
    for await (const item of readInput(file)) streamed.push(item);
    const list = wholeFileItemList(readFileSync(file, 'utf8'), file);
    expect(list).toEqual(streamed);
    expect([...wholeFileItems(readFileSync(file, 'utf8'), file)]).toEqual(list);
  });

  it('numbers records by their place in the innermost array, keeping a JSON Lines line', () => {
    const value = [
      { Records: [record(1), record(2)] },
      record(3),
      [[record(4)]],
      { detail: record(5), source: 'aws' },
    ];
    const where = (origin: { file: string; line?: number; position?: number }) => {
      const out: SourceItem[] = [];
      collectRecords(value, origin, out);
      expect([...recordsFromValue(value, origin)]).toEqual(out);
      return out.map((i) => (i.kind === 'record' ? [i.record.eventName, i.origin] : i.kind));
    };
    expect(where({ file: 'a' })).toEqual([
      ['Get1', { file: 'a', position: 1 }],
      ['Get2', { file: 'a', position: 2 }],
      ['Get3', { file: 'a', position: 2 }],
      ['Get4', { file: 'a', position: 1 }],
      ['Get5', { file: 'a', position: 4 }],
    ]);
    expect(where({ file: 'a', line: 3 })).toEqual([
      ['Get1', { file: 'a', line: 3, position: 1 }],
      ['Get2', { file: 'a', line: 3, position: 2 }],
      ['Get3', { file: 'a', line: 3, position: 2 }],
      ['Get4', { file: 'a', line: 3, position: 1 }],
      ['Get5', { file: 'a', line: 3, position: 4 }],
    ]);
  });
});
