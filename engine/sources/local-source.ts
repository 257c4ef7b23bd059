import { stat } from 'node:fs/promises';
import { fsMessage, walkDirectory } from '../ingest/file-walk.ts';
import { compileQuery } from '../ingest/query-filter.ts';
import {
  DEFAULT_READ_LIMITS,
  type ReadLimits,
  readInput,
  readSmallFileSync,
  wholeFileItemList,
} from '../ingest/read-input.ts';
import type { ReadOptions, RecordSource, SourceItem, SourceQuery } from '../source.ts';

/**
 * CloudTrail from local files: single files in any supported format, directory trees (S3 layout) and
 * standard input (`-`). Files are read one at a time, streamed; the SourceQuery is applied per record.
 * `limits` bound what one record or one compressed file may cost (read-input.ts; defaults there).
 */
export function createLocalSource(
  paths: string[],
  stdin: NodeJS.ReadableStream = process.stdin,
  limits: Partial<ReadLimits> = {},
): RecordSource {
  const bounds: ReadLimits = { ...DEFAULT_READ_LIMITS, ...limits };
  return {
    name: 'local',
    read: (query: SourceQuery, options?: ReadOptions) => readLocal(paths, query, options, stdin, bounds),
  };
}

async function* readLocal(
  paths: string[],
  query: SourceQuery,
  options: ReadOptions | undefined,
  stdin: NodeJS.ReadableStream,
  limits: ReadLimits,
): AsyncGenerator<SourceItem> {
  const keep = compileQuery(query);
  const max = query.maxEvents;
  let records = 0;
  let files = 0;
  let stop: SourceItem | undefined;
  /** The item to pass on (undefined: filtered out); sets `stop` when reading must end after it. */
  const admit = (item: SourceItem): SourceItem | undefined => {
    if (options?.signal?.aborted) {
      stop = { kind: 'truncated', reason: 'stopped: the read was cancelled' };
      return undefined;
    }
    if (item.kind !== 'record') return item;
    if (keep && !keep(item.record)) return undefined;
    if (max !== undefined && records >= max) {
      stop = { kind: 'truncated', reason: `stopped after ${max} events (event cap)` };
      return undefined;
    }
    records++;
    if (options?.onProgress && records % 10_000 === 0) {
      options.onProgress({ message: `Reading local files: ${records} events, ${files} files`, records });
    }
    return item;
  };
  for await (const file of expandAll(paths)) {
    if (typeof file !== 'string') {
      yield file;
      continue;
    }
    files++;
    // Small files (every CloudTrail delivery file) are read and parsed in one synchronous step, without
    // an async generator per file; anything else goes through readInput's streaming path.
    const whole =
      file === '-' ? undefined : readSmallFileSync(file, Math.min(limits.maxRecordChars, 8 * 2 ** 20));
    if (whole !== undefined) {
      const items = wholeFileItemList(whole, file);
      for (let i = 0; i < items.length; i++) {
        const out = admit(items[i]!);
        if (stop) {
          yield stop;
          return;
        }
        if (out) yield out;
      }
      continue;
    }
    for await (const item of readInput(file, stdin, limits)) {
      const out = admit(item);
      if (stop) {
        yield stop;
        return;
      }
      if (out) yield out;
    }
  }
}

async function* expandAll(paths: string[]): AsyncGenerator<string | SourceItem> {
  for (const path of paths) yield* expand(path);
}

/**
 * A path → the files to read (strings) or items explaining what was not read. A FIFO or device named
 * explicitly is read (process substitution: `summarize <(zcat …)`); inside a folder it is skipped.
 */
async function* expand(path: string): AsyncGenerator<string | SourceItem> {
  if (path === '-') {
    yield path;
    return;
  }
  let isDir: boolean;
  try {
    const info = await stat(path);
    if (info.isSocket()) {
      yield { kind: 'skipped', origin: { file: path }, reason: 'not a regular file (socket): not read' };
      return;
    }
    isDir = info.isDirectory();
  } catch (e) {
    yield { kind: 'rejected', origin: { file: path }, reason: `cannot read: ${fsMessage(e)}` };
    return;
  }
  if (!isDir) {
    yield path;
    return;
  }
  let walk: Awaited<ReturnType<typeof walkDirectory>>;
  try {
    walk = await walkDirectory(path);
  } catch (e) {
    yield { kind: 'rejected', origin: { file: path }, reason: `cannot list folder: ${fsMessage(e)}` };
    return;
  }
  for (const s of walk.skipped) yield { kind: 'skipped', origin: { file: s.path }, reason: s.reason };
  for (const u of walk.unreadable) yield { kind: 'rejected', origin: { file: u.path }, reason: u.reason };
  yield* walk.files;
}
