import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { Origin } from '../record.ts';
import type { SourceItem } from '../source.ts';
import { JsonSplitter, type Piece } from './json-splitter.ts';
import { collectRecords } from './records-from-value.ts';

/**
 * Texts up to this size are parsed with one JSON.parse (the fastest path, and a CloudTrail delivery file
 * is far smaller); anything larger goes through the streaming splitter, so memory stays at one record.
 */
const WHOLE_TEXT_LIMIT = 8 * 1024 * 1024;

/** Bounds on what one input may cost (every refusal is reported where it happened). */
export interface ReadLimits {
  /**
   * Longest single record, in characters of JSON text (default 8 MiB: CloudTrail's own events stay under
   * 256 KB). A longer one is refused with a note and skipped without being held; the rest is read.
   */
  maxRecordChars: number;
  /**
   * Gzip bombs: a compressed input is stopped once its text passes `inflateFloorChars` and is more than
   * `maxInflateRatio` times the compressed bytes read so far (CloudTrail JSON compresses about 10–30×).
   */
  maxInflateRatio: number;
  inflateFloorChars: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = {
  maxRecordChars: 8 * 2 ** 20,
  maxInflateRatio: 200,
  inflateFloorChars: 64 * 2 ** 20,
};

/**
 * Streams one input (a file path, or `-` for standard input) as SourceItems: a `file` item, then every
 * record and every rejected piece with its position. The format is found from the content (gzip magic
 * bytes, then the JSON shape), never from the file name. Reading stops at the first I/O error (a
 * truncated gzip, say) or at the decompression cap, after yielding every record read before it.
 */
export async function* readInput(
  path: string,
  stdin: NodeJS.ReadableStream = process.stdin,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): AsyncGenerator<SourceItem> {
  const file = path;
  yield { kind: 'file', origin: { file } };
  const wholeLimit = Math.min(WHOLE_TEXT_LIMIT, limits.maxRecordChars);
  if (path !== '-') {
    const whole = readSmallFileSync(path, wholeLimit);
    if (whole !== undefined) {
      yield* wholeTextItems(whole, file);
      return;
    }
  }
  yield* streamItems(
    file,
    () => openText(path === '-' ? stdin : createReadStream(path, { highWaterMark: 1 << 18 })),
    wholeLimit,
    limits,
  );
}

/**
 * A byte stream read like a file named `file` (an S3 object's body, say): a `file` item, then its records,
 * gzip or not, parsed whole when small and split when large, with the same limits as readInput.
 */
export async function* readStream(
  file: string,
  stream: NodeJS.ReadableStream,
  limits: ReadLimits = DEFAULT_READ_LIMITS,
): AsyncGenerator<SourceItem> {
  yield { kind: 'file', origin: { file } };
  yield* streamItems(file, () => openText(stream), Math.min(WHOLE_TEXT_LIMIT, limits.maxRecordChars), limits);
}

async function* streamItems(
  file: string,
  open: () => Promise<TextInput>,
  wholeLimit: number,
  limits: ReadLimits,
): AsyncGenerator<SourceItem> {
  let input: TextInput;
  try {
    input = await open();
  } catch (e) {
    yield { kind: 'rejected', origin: { file }, reason: `cannot read: ${ioMessage(e)}`, unreadable: true };
    return;
  }
  yield* streamed(input, file, wholeLimit, limits);
}

/**
 * Small inputs are gathered and parsed whole; past `wholeLimit`, what was gathered feeds the splitter and
 * the rest streams through it.
 */
async function* streamed(
  input: TextInput,
  file: string,
  wholeLimit: number,
  limits: ReadLimits,
): AsyncGenerator<SourceItem> {
  let head: string[] | undefined = [];
  let headLength = 0;
  let textChars = 0;
  const splitter = new JsonSplitter({ maxRecordChars: limits.maxRecordChars });
  const counted = { records: 0 };
  let failure: unknown;
  let bomb: string | undefined;
  try {
    for await (const chunk of input.text) {
      const s = String(chunk);
      textChars += s.length;
      bomb = input.compressed ? inflateCheck(textChars, input.bytesRead(), limits) : undefined;
      if (bomb) break;
      if (head) {
        head.push(s);
        headLength += s.length;
        if (headLength <= wholeLimit) continue;
        const gathered = head.join('');
        head = undefined;
        yield* counting(piecesToItems(splitter.push(gathered), file), counted);
        continue;
      }
      yield* counting(piecesToItems(splitter.push(s), file), counted);
    }
  } catch (e) {
    failure = e;
  }
  if (head && failure === undefined && bomb === undefined) {
    yield* wholeTextItems(head.join(''), file);
    return;
  }
  // The read broke off early: keep every complete record of what did arrive.
  if (head) yield* counting(piecesToItems(splitter.push(head.join('')), file), counted);
  if (failure !== undefined || bomb !== undefined) {
    const reason = bomb ?? `cannot read: ${ioMessage(failure)}`;
    yield { kind: 'rejected', origin: { file, position: counted.records + 1 }, reason, unreadable: true };
    return;
  }
  yield* piecesToItems(splitter.end(), file);
}

function* counting(items: Iterable<SourceItem>, counted: { records: number }): Generator<SourceItem> {
  for (const item of items) {
    if (item.kind === 'record') counted.records++;
    yield item;
  }
}

/** Why reading a compressed input must stop here (a gzip bomb), or undefined while it looks like data. */
function inflateCheck(textChars: number, compressedBytes: number, limits: ReadLimits): string | undefined {
  if (textChars <= limits.inflateFloorChars) return undefined;
  if (textChars <= limits.maxInflateRatio * Math.max(compressedBytes, 1)) return undefined;
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
  return `decompression cap: ${mb(compressedBytes)} of gzip expanded to over ${mb(textChars)} (more than ${limits.maxInflateRatio}× its size, a gzip bomb?); stopped reading this file, the records before it are kept`;
}

/**
 * The common case, a delivery file of some kilobytes, without stream machinery (which costs more than
 * parsing such a file). Undefined whenever anything is unusual (large, unreadable, corrupt gzip, not a
 * regular file): the streaming path then reads it and reports precisely what is wrong and where.
 * The file is opened non-blocking, so a FIFO without a writer cannot hang the read here.
 *
 * Synchronous on purpose: for a file of some kilobytes in the page cache, the promise API's FileHandle,
 * four thread-pool round trips and their promises cost about three times the read itself (measured on the
 * 100k bench corpus: 80–100 µs per file against 30 µs), and the caller parses the text synchronously anyway.
 */
export function readSmallFileSync(path: string, limit = WHOLE_TEXT_LIMIT): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > limit) return undefined;
    const bytes = readAll(fd, info.size, limit);
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
      return gunzipSync(bytes, { maxOutputLength: limit }).toString('utf8');
    }
    return bytes.toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * One buffer for every small file (files are read one at a time and decoded at once), instead of a new
 * one of the file's size each time; one that had to grow past REUSED_MAX is not kept.
 */
const REUSED_MAX = 1 << 20;
let reused = Buffer.allocUnsafe(64 * 1024);

/** Reads to the end, even if the file grew since fstat (a file still being written). Valid until the next call. */
function readAll(fd: number, size: number, limit: number): Buffer {
  let buf = reused.length > size ? reused : Buffer.allocUnsafe(Math.max(size, 1) + 1);
  let length = 0;
  while (true) {
    if (length === buf.length) {
      if (length > limit) throw new Error('too large');
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, length);
      buf = bigger;
    }
    const n = readSync(fd, buf, length, buf.length - length, null);
    if (n === 0) break;
    length += n;
  }
  if (buf !== reused && buf.length <= REUSED_MAX) reused = buf;
  return buf.subarray(0, length);
}

/** A small file read whole: its `file` item, then its records (or rejected pieces), as readInput gives them. */
export function* wholeFileItems(text: string, file: string): Generator<SourceItem> {
  yield* wholeFileItemList(text, file);
}

/** wholeFileItems as one array: what local-source.ts walks for every delivery file, without a generator. */
export function wholeFileItemList(text: string, file: string): SourceItem[] {
  const out: SourceItem[] = [{ kind: 'file', origin: { file } }];
  wholeText(text, file, out);
  return out;
}

function* wholeTextItems(text: string, file: string): Generator<SourceItem> {
  const out: SourceItem[] = [];
  wholeText(text, file, out);
  yield* out;
}

/**
 * One JSON.parse for the whole text (bench/profile.ts counts this function as "parse"); when that fails, the
 * splitter finds out which parts are bad.
 */
function wholeText(text: string, file: string, out: SourceItem[]): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    if (text.trim() === '') {
      out.push({
        kind: 'skipped',
        origin: { file },
        reason: text === '' ? 'empty file' : 'empty file (only whitespace)',
      });
      return;
    }
    const splitter = new JsonSplitter();
    for (const item of piecesToItems(splitter.push(text), file)) out.push(item);
    for (const item of piecesToItems(splitter.end(), file)) out.push(item);
    return;
  }
  // Same positions as the splitter gives: the n-th element of the records array, or line 1 for a single record.
  collectRecords(value, isWrapperOrArray(value) ? { file } : { file, line: 1 }, out);
}

function isWrapperOrArray(v: unknown): boolean {
  if (Array.isArray(v)) return true;
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    (Array.isArray(o.Records) || Array.isArray(o.Events) || Array.isArray(o.QueryResultRows)) &&
    o.eventName === undefined
  );
}

function* piecesToItems(pieces: Piece[], file: string): Generator<SourceItem> {
  for (const piece of pieces) {
    const origin: Origin =
      piece.position !== undefined ? { file, position: piece.position } : { file, line: piece.line };
    if (piece.kind === 'error') {
      yield { kind: 'rejected', origin, reason: piece.reason };
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(piece.text);
    } catch (e) {
      yield* unparsable(piece.text, piece.line, origin, e as Error, file);
      continue;
    }
    const out: SourceItem[] = [];
    collectRecords(value, origin, out);
    yield* out;
  }
}

/**
 * A piece that is not JSON. When it spans lines and some of its lines are JSON objects, it was JSON Lines
 * with a broken first line swallowed by the structural scan: give each line its own chance.
 */
function* unparsable(
  text: string,
  firstLine: number,
  origin: Origin,
  error: Error,
  file: string,
): Generator<SourceItem> {
  const lines = text.split('\n');
  if (lines.length > 1) {
    const parsed = lines.map((l) => tryParse(l.trim()));
    if (parsed.some((p) => p.ok && typeof p.value === 'object')) {
      for (let i = 0; i < lines.length; i++) {
        const p = parsed[i]!;
        const lineOrigin = { file, line: firstLine + i };
        if (lines[i]!.trim() === '') continue;
        if (p.ok) {
          const out: SourceItem[] = [];
          collectRecords(p.value, lineOrigin, out);
          yield* out;
        } else yield { kind: 'rejected', origin: lineOrigin, reason: `not JSON: ${p.message}` };
      }
      return;
    }
  }
  yield { kind: 'rejected', origin, reason: `not JSON: ${error.message}` };
}

function tryParse(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

interface TextInput {
  text: AsyncIterable<string | Buffer>;
  compressed: boolean;
  /** Bytes read from the file (compressed bytes for gzip) so far. */
  bytesRead(): number;
}

async function openText(raw: NodeJS.ReadableStream): Promise<TextInput> {
  const chunks = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const first = await chunks.next();
  let read = 0;
  async function* bytes(): AsyncGenerator<Buffer | string> {
    if (!first.done) {
      read += first.value.length;
      yield first.value;
    }
    while (true) {
      const r = await chunks.next();
      if (r.done) return;
      read += r.value.length;
      yield r.value;
    }
  }
  const head = first.done ? undefined : first.value;
  const gzip = Buffer.isBuffer(head) && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const source = Readable.from(bytes(), { objectMode: false });
  const out = gzip ? pipeline(source, createGunzip({ chunkSize: 1 << 16 }), () => {}) : source;
  out.setEncoding('utf8');
  return { text: out, compressed: gzip, bytesRead: () => read };
}

function ioMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(err?.message ?? '')) {
    return 'unexpected end of compressed data (truncated gzip?)';
  }
  if (err?.code === 'ENOENT') return 'no such file';
  if (err?.code === 'EACCES') return 'permission denied';
  if (err?.code === 'EISDIR') return 'is a directory';
  if (err?.code?.startsWith('Z_')) return `corrupt gzip data (${err.message})`;
  return err?.message ?? String(e);
}
