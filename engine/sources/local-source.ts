import { stat } from 'node:fs/promises';
import { walkDirectory } from '../ingest/file-walk.ts';
import { compileQuery } from '../ingest/query-filter.ts';
import { readInput, readSmallFile } from '../ingest/read-input.ts';
import type { ReadOptions, RecordSource, SourceItem, SourceQuery } from '../source.ts';

/**
 * CloudTrail from local files: single files in any supported format, directory trees (S3 layout) and
 * standard input (`-`). Files are read one at a time, streamed; the SourceQuery is applied per record.
 */
export function createLocalSource(
  paths: string[],
  stdin: NodeJS.ReadableStream = process.stdin,
): RecordSource {
  return {
    name: 'local',
    read: (query: SourceQuery, options?: ReadOptions) => readLocal(paths, query, options, stdin),
  };
}

async function* readLocal(
  paths: string[],
  query: SourceQuery,
  options: ReadOptions | undefined,
  stdin: NodeJS.ReadableStream,
): AsyncGenerator<SourceItem> {
  const keep = compileQuery(query);
  const max = query.maxEvents;
  let records = 0;
  let files = 0;
  const entries = expandAll(paths);
  let next = await entries.next();
  let preload: { path: string; text: Promise<string | undefined> } | undefined;
  while (!next.done) {
    const file = next.value;
    next = await entries.next();
    if (typeof file !== 'string') {
      yield file;
      continue;
    }
    files++;
    const current = preload?.path === file ? preload.text : undefined;
    // Start reading the next file now, so its I/O overlaps the parsing of this one.
    const ahead = next.done ? undefined : next.value;
    preload =
      typeof ahead === 'string' && ahead !== '-' ? { path: ahead, text: readSmallFile(ahead) } : undefined;
    for await (const item of readInput(file, stdin, current)) {
      if (options?.signal?.aborted) {
        yield { kind: 'truncated', reason: 'stopped: the read was cancelled' };
        return;
      }
      if (item.kind === 'record') {
        if (keep && !keep(item.record)) continue;
        if (max !== undefined && records >= max) {
          yield { kind: 'truncated', reason: `stopped after ${max} events (event cap)` };
          return;
        }
        records++;
        if (options?.onProgress && records % 10_000 === 0) {
          options.onProgress({
            message: `Reading local files: ${records} events, ${files} files`,
            records,
          });
        }
      }
      yield item;
    }
  }
}

async function* expandAll(paths: string[]): AsyncGenerator<string | SourceItem> {
  for (const path of paths) yield* expand(path);
}

/** A path → the files to read (strings) or items explaining what was not read. */
async function* expand(path: string): AsyncGenerator<string | SourceItem> {
  if (path === '-') {
    yield path;
    return;
  }
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(e);
    yield { kind: 'rejected', origin: { file: path }, reason: `cannot read: ${reason}` };
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
    yield {
      kind: 'rejected',
      origin: { file: path },
      reason: `cannot list directory: ${(e as Error).message}`,
    };
    return;
  }
  for (const s of walk.skipped) yield { kind: 'skipped', origin: { file: s.path }, reason: s.reason };
  yield* walk.files;
}
