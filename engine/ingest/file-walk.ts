import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Lists the CloudTrail files under a directory (e.g. an `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`
 * tree) in delivery order: by the `_YYYYMMDDTHHMMZ_` stamp in CloudTrail's object names across all
 * regions and accounts, so events arrive roughly in time order and sessions can close early.
 * Only paths are held, never contents. Files that are not CloudTrail logs are listed as skipped with a
 * reason (digest files, hidden files such as `.DS_Store`, other extensions).
 */
export interface WalkResult {
  files: string[];
  skipped: { path: string; reason: string }[];
}

const LOG_EXTENSIONS = /\.(json|jsonl|ndjson|json\.gz|jsonl\.gz|ndjson\.gz|gz)$/i;
const DELIVERY_STAMP = /_(\d{8}T\d{4})Z_/;

export async function walkDirectory(root: string): Promise<WalkResult> {
  const files: string[] = [];
  const skipped: WalkResult['skipped'] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const entries = await readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.name.startsWith('.')) {
        skipped.push({ path, reason: 'hidden file' });
      } else if (entry.isDirectory()) {
        if (entry.name === 'CloudTrail-Digest') skipped.push({ path, reason: 'CloudTrail digest files' });
        else pending.push(path);
      } else if (/CloudTrail-Digest/.test(entry.name)) {
        skipped.push({ path, reason: 'CloudTrail digest file' });
      } else if (!LOG_EXTENSIONS.test(entry.name)) {
        skipped.push({ path, reason: 'not a CloudTrail log file (extension)' });
      } else {
        files.push(path);
      }
    }
  }
  return { files: sortByDelivery(files), skipped: skipped.sort((a, b) => cmp(a.path, b.path)) };
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
