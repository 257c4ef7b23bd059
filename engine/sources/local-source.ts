import { stat } from 'node:fs/promises';
import { walkDirectory } from '../ingest/file-walk.ts';
import { compileQuery } from '../ingest/query-filter.ts';
import { readInput } from '../ingest/read-input.ts';
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
  for (const path of paths) {
    for await (const file of expand(path)) {
      if (typeof file !== 'string') {
        yield file;
        continue;
      }
      files++;
      for await (const item of readInput(file, stdin)) {
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
