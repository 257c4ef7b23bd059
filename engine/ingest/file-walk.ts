import type { Dirent, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Lists the CloudTrail files under a directory (e.g. an `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`
 * tree) in delivery order: by the `_YYYYMMDDTHHMMZ_` stamp in CloudTrail's object names across all
 * regions and accounts, so events arrive roughly in time order and sessions can close early.
 * Only paths are held, never contents. What is not read is said, with the reason:
 *   - skipped (notes): digest files, hidden files, other extensions, FIFOs, sockets and devices (reading
 *     one could block forever or never end), symbolic links that loop back into the tree;
 *   - unreadable (errors): folders that cannot be listed, broken links.
 * Symbolic links to folders are followed once: each real folder is read at most once.
 */
export interface WalkResult {
  files: string[];
  skipped: { path: string; reason: string }[];
  unreadable: { path: string; reason: string }[];
}

const LOG_EXTENSIONS = /\.(json|jsonl|ndjson|json\.gz|jsonl\.gz|ndjson\.gz|gz)$/i;
const DELIVERY_STAMP = /_(\d{8}T\d{4})Z_/;

export async function walkDirectory(root: string): Promise<WalkResult> {
  const result: WalkResult = { files: [], skipped: [], unreadable: [] };
  const seen = new Set<string>([folderId(await stat(root))]);
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      result.unreadable.push({ path: dir, reason: `cannot list folder: ${fsMessage(e)}` });
      continue;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const kind = await entryKind(entry, path, result);
      if (kind === undefined) continue;
      if (kind.type === 'dir') {
        if (seen.has(kind.id)) {
          result.skipped.push({ path, reason: 'symbolic link loop: leads back to a folder already read' });
        } else {
          seen.add(kind.id);
          classifyFolder(path, entry.name, pending, result);
        }
      } else if (kind.type !== 'file') {
        result.skipped.push({ path, reason: `not a regular file (${kind.type}): not read` });
      } else classifyFile(path, entry.name, result);
    }
  }
  result.files = sortByDelivery(result.files);
  result.skipped.sort((a, b) => cmp(a.path, b.path));
  return result;
}

type EntryKind =
  | { type: 'dir'; id: string }
  | { type: 'file' | 'FIFO' | 'socket' | 'device' | 'unknown type' };

/** What an entry is, following a symbolic link; undefined (with a note) when it cannot be read. */
async function entryKind(entry: Dirent, path: string, result: WalkResult): Promise<EntryKind | undefined> {
  if (entry.name.startsWith('.')) {
    result.skipped.push({ path, reason: 'hidden file' });
    return undefined;
  }
  if (!entry.isSymbolicLink() && !entry.isDirectory()) return { type: kindOf(entry) };
  let info: Stats;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP')
      result.skipped.push({ path, reason: 'symbolic link loop: the link never resolves' });
    else if (code === 'ENOENT')
      result.unreadable.push({ path, reason: 'broken symbolic link (target missing)' });
    else result.unreadable.push({ path, reason: `cannot read: ${fsMessage(e)}` });
    return undefined;
  }
  return info.isDirectory() ? { type: 'dir', id: folderId(info) } : { type: kindOf(info) };
}

function kindOf(x: Dirent | Stats): 'file' | 'FIFO' | 'socket' | 'device' | 'unknown type' {
  if (x.isFile()) return 'file';
  if (x.isFIFO()) return 'FIFO';
  if (x.isSocket()) return 'socket';
  if (x.isBlockDevice() || x.isCharacterDevice()) return 'device';
  return 'unknown type';
}

function classifyFolder(path: string, name: string, pending: string[], result: WalkResult): void {
  if (name === 'CloudTrail-Digest') result.skipped.push({ path, reason: 'CloudTrail digest files' });
  else pending.push(path);
}

function classifyFile(path: string, name: string, result: WalkResult): void {
  if (/CloudTrail-Digest/.test(name)) result.skipped.push({ path, reason: 'CloudTrail digest file' });
  else if (!LOG_EXTENSIONS.test(name))
    result.skipped.push({ path, reason: 'not a CloudTrail log file (extension)' });
  else result.files.push(path);
}

function folderId(info: Stats): string {
  return `${info.dev}:${info.ino}`;
}

export function fsMessage(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'ELOOP') return 'symbolic link loop';
  if (code === 'EIO') return 'input/output error';
  return (e as Error)?.message ?? String(e);
}

/** Delivery-stamped files in stamp order (ties by path); files without a stamp first, by path. */
export function sortByDelivery(paths: string[]): string[] {
  const keyed = paths.map((p) => ({
    p,
    stamp: DELIVERY_STAMP.exec(p.slice(p.lastIndexOf('/') + 1))?.[1] ?? '',
  }));
  keyed.sort((a, b) => cmp(a.stamp, b.stamp) || cmp(a.p, b.p));
  return keyed.map((k) => k.p);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
