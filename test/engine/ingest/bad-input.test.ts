import {
  createReadStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JsonSplitter } from '../../../engine/ingest/json-splitter.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SourceItem } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

const FIX = 'test/fixtures/invictus';

async function collect(paths: string[], stdin?: NodeJS.ReadableStream): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of createLocalSource(paths, stdin).read({})) out.push(item);
  return out;
}
const only = <K extends SourceItem['kind']>(items: SourceItem[], kind: K) =>
  items.filter((i): i is Extract<SourceItem, { kind: K }> => i.kind === kind);

const demoRecords: CloudTrailRecord[] = readdirSync('demo/invictus')
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(readFileSync(join('demo/invictus', f), 'utf8')).Records);

const tmp = mkdtempSync(join(tmpdir(), 'cartographer-ingest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('bad input is reported with its place and costs nothing else', () => {
  it('truncated gzip: keeps the records before the cut and names the file', async () => {
    const items = await collect([`${FIX}/bad/truncated.json.gz`]);
    const rejected = only(items, 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.origin.file).toBe(`${FIX}/bad/truncated.json.gz`);
    expect(rejected[0]!.reason).toMatch(/truncated gzip/);
    const records = only(items, 'record');
    expect(records.length).toBeGreaterThan(0);
    expect(records.length).toBeLessThan(63);
    // The reported position is the record after the last good one.
    expect(rejected[0]!.origin.position).toBe(records.length + 1);
  });

  it('a non-JSON line in the middle of JSON Lines: that line only, with its number', async () => {
    const lines = readFileSync(`${FIX}/bad/garbage-line.jsonl`, 'utf8').trim().split('\n');
    const bad = lines.findIndex((l) => !l.startsWith('{')) + 1;
    const items = await collect([`${FIX}/bad/garbage-line.jsonl`]);
    expect(only(items, 'rejected').map((r) => r.origin.line)).toEqual([bad]);
    expect(only(items, 'record')).toHaveLength(lines.length - 1);
  });

  it('a broken first line of JSON Lines does not swallow the lines after it', async () => {
    const good = demoRecords.slice(0, 4).map((r) => JSON.stringify(r));
    const path = join(tmp, 'broken-first.jsonl');
    writeFileSync(path, [good[0]!.slice(0, 80), ...good.slice(1)].join('\n'));
    const items = await collect([path]);
    expect(only(items, 'record').map((r) => r.record.eventID)).toEqual(
      demoRecords.slice(1, 4).map((r) => r.eventID),
    );
    expect(only(items, 'rejected').map((r) => r.origin.line)).toEqual([1]);
  });

  it('a record without eventTime is rejected by position; its neighbours are kept', async () => {
    const items = await collect([`${FIX}/bad/missing-event-time.json`]);
    expect(only(items, 'rejected')).toEqual([
      {
        kind: 'rejected',
        origin: { file: `${FIX}/bad/missing-event-time.json`, position: 3 },
        reason: 'missing eventTime',
      },
    ]);
    expect(only(items, 'record')).toHaveLength(4);
  });

  it('values that are not records, bad times and a file ending mid-record', async () => {
    const r = demoRecords[0]!;
    const path = join(tmp, 'mixed.json');
    const text = JSON.stringify([
      r,
      42,
      'hello',
      null,
      [],
      { ...r, eventTime: 'yesterday' },
      { ...r, eventName: { not: 'a name' } },
    ]);
    writeFileSync(path, `${text.slice(0, -1)},${JSON.stringify(demoRecords[1]).slice(0, 100)}`);
    const items = await collect([path]);
    expect(only(items, 'record')).toHaveLength(1);
    const reasons = only(items, 'rejected').map((x) => `${x.origin.position}: ${x.reason}`);
    // 42, 'hello', null, the bad time, the object as eventName and the cut-off record; `[]` holds no record at all.
    expect(reasons.map((x) => x.split(':')[0])).toEqual(['2', '3', '4', '6', '7', '8']);
    expect(reasons[0]).toMatch(/not a CloudTrail record: expected an object, got number/);
    expect(reasons[3]).toMatch(/eventTime is not a valid time/);
    expect(reasons[4]).toMatch(/eventName/);
    expect(reasons[5]).toMatch(/truncated/);
  });

  it('splits correctly whatever the chunk boundaries (escapes, multi-byte text)', () => {
    const tricky = {
      ...demoRecords[5]!,
      requestParameters: {
        policy: '{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b\\\\"}]}',
      },
      errorMessage: 'quote " backslash \\ brace } bracket ] — ünïcödé ✓',
    };
    const records = [...demoRecords.slice(0, 30), tricky, ...demoRecords.slice(30, 60)];
    const text = JSON.stringify({ Records: records, NextToken: 'x"}]' });
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < 20; round++) {
      const splitter = new JsonSplitter();
      const pieces = [];
      for (let i = 0; i < text.length; ) {
        const n = 1 + Math.floor(rand() * (round < 10 ? 8 : 5000));
        pieces.push(...splitter.push(text.slice(i, i + n)));
        i += n;
      }
      pieces.push(...splitter.end());
      const values = pieces.map((p) => (p.kind === 'value' ? JSON.parse(p.text) : p));
      expect(values).toEqual(records);
    }
  });

  it('streams a generated 50 MB file: every record counted, memory bounded, read before fully loaded', async () => {
    const path = join(tmp, 'big.json');
    const parts: string[] = [];
    let size = 0;
    let n = 0;
    while (size < 50 * 1024 * 1024) {
      const s = JSON.stringify({ ...demoRecords[n % demoRecords.length], eventID: `generated-${n}` });
      parts.push(s);
      size += s.length + 1;
      n++;
    }
    writeFileSync(path, `{"Records":[${parts.join(',')}]}`);
    parts.length = 0;
    const fileSize = statSync(path).size;
    expect(fileSize).toBeGreaterThanOrEqual(50 * 1024 * 1024);

    const stream = createReadStream(path);
    const heapBefore = process.memoryUsage().heapUsed;
    let peak = 0;
    let bytesAtFirstRecord = -1;
    let records = 0;
    for await (const item of createLocalSource(['-'], stream).read({})) {
      if (item.kind !== 'record') continue;
      if (records === 0) bytesAtFirstRecord = stream.bytesRead;
      if (++records % 2000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - heapBefore);
    }
    expect(records).toBe(n);
    expect(stream.bytesRead).toBe(fileSize);
    // Records come out while most of the file is still unread (small inputs, up to 8 MiB, are parsed whole) …
    expect(bytesAtFirstRecord).toBeLessThan(fileSize / 4);
    // … and the heap never holds anything like the whole file (50 MB of text would be ~100 MB as UTF-16).
    expect(peak).toBeLessThan(80 * 1024 * 1024);
  });
});
