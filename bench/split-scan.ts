/**
 * What the "every thread reads and splits every file, parses only its own records" design (issue 19, two
 * threads) would pay in each thread before any analysis, against bare JSON.parse of the same files, in one
 * process (CPU time, best of `--repeat`):
 *   1. read every file, JSON.parse it (the reference);
 *   2. read every file and split it into records with a raw byte scan (strings skipped with indexOf), taking each
 *      record's owner from the first `"arn":"…"` in it (one byte hash, 2 owners), no parse;
 *   3. the same, then JSON.parse of the records one thread owns (what each of two threads would do).
 *   node bin/run-ts.js bench/split-scan.ts DIR [--repeat N]   or   npm run bench -- --split-scan DIR [--repeat N]
 * Prints one JSON line.
 * A measurement of the idea's floor, not part of summarize.
 */
import { readFileSync } from 'node:fs';
import { listFiles } from './files.ts';

const QUOTE = 0x22;
const ARN = Buffer.from('"arn":"');

/** Calls `record(start, end)` for each top-level element of the `Records` array (bytes of the file). */
function split(buf: Buffer, record: (start: number, end: number) => void): void {
  let i = buf.indexOf('[');
  let depth = 0;
  let start = -1;
  for (i++; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      // Jump to the closing quote: one not preceded by an odd number of backslashes.
      let j = buf.indexOf(QUOTE, i + 1);
      while (j > 0) {
        let k = j - 1;
        while (buf[k] === 0x5c) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = buf.indexOf(QUOTE, j + 1);
      }
      i = j;
    } else if (c === 0x7b) {
      if (depth++ === 0) start = i;
    } else if (c === 0x7d) {
      if (--depth === 0) record(start, i + 1);
    } else if (c === 0x5d && depth === 0) return;
  }
}

function owner(buf: Buffer, start: number, end: number): number {
  const at = buf.indexOf(ARN, start);
  if (at < 0 || at >= end) return 0;
  let h = 0;
  for (let i = at + ARN.length; i < end && buf[i] !== QUOTE; i++) h = (h * 31 + buf[i]!) | 0;
  return h & 1;
}

function cpu<T>(f: () => T): { cpuSeconds: number; value: T } {
  const t = process.cpuUsage();
  const value = f();
  const u = process.cpuUsage(t);
  return { cpuSeconds: (u.user + u.system) / 1e6, value };
}

export function main(argv: string[]): void {
  const [dir, ...rest] = argv;
  if (!dir) throw new Error('usage: split-scan.ts DIR [--repeat N]');
  const ri = rest.indexOf('--repeat');
  const repeat = ri >= 0 ? Number(rest[ri + 1]) : 3;
  const files = listFiles(dir);
  const parseAll = () => {
    let n = 0;
    for (const f of files)
      n += (JSON.parse(readFileSync(f, 'utf8')) as { Records: unknown[] }).Records.length;
    return n;
  };
  const scanAll = (parseMine: boolean) => {
    const counts = [0, 0];
    for (const f of files) {
      const buf = readFileSync(f);
      split(buf, (s, e) => {
        const o = owner(buf, s, e);
        counts[o]!++;
        if (parseMine && o === 0) JSON.parse(buf.toString('utf8', s, e));
      });
    }
    return counts;
  };
  const best = (f: () => { cpuSeconds: number; value: unknown }) => {
    const runs = Array.from({ length: repeat }, f);
    return runs.reduce((a, b) => (b.cpuSeconds < a.cpuSeconds ? b : a));
  };
  const parse = best(() => cpu(parseAll));
  const scan = best(() => cpu(() => scanAll(false)));
  const scanParse = best(() => cpu(() => scanAll(true)));
  const records = parse.value as number;
  const [mine, theirs] = scan.value as number[];
  if (mine! + theirs! !== records)
    throw new Error(`split found ${mine! + theirs!} records, JSON.parse ${records}`);
  const r = (x: number) => Number((x / parse.cpuSeconds).toFixed(2));
  process.stdout.write(
    `${JSON.stringify({
      records,
      files: files.length,
      owners: [mine, theirs],
      parseCpuSeconds: parse.cpuSeconds,
      readSplitOwnerCpuSeconds: scan.cpuSeconds,
      readSplitOwnerParseMineCpuSeconds: scanParse.cpuSeconds,
      ratioToParse: { readSplitOwner: r(scan.cpuSeconds), readSplitOwnerParseMine: r(scanParse.cpuSeconds) },
    })}\n`,
  );
}

if (process.argv[1]?.endsWith('split-scan.ts')) main(process.argv.slice(2));
