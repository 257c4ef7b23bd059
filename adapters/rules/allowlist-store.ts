/**
 * The one allow-list of a running Cartographer: the bundled rules/detections/allowlist.yaml plus the analysts'
 * file ("Mark benign" writes there). Every detector built on the store asks `current()` once per session, so an
 * entry added by any consumer (a Slack click, a scheduled scan, a hand edit of the file) counts for all of them
 * from the next session on, without reloading rules.
 *
 * Entries are written through the `yaml` document API: the file's comments, key order and formatting stay as
 * they were; the new entry is appended to `entries:` and the file replaced atomically (write, then rename).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMap, isSeq, parseDocument, YAMLSeq } from 'yaml';
import {
  type AllowEntry,
  type AllowList,
  AllowListSchema,
  type CompiledAllowList,
  compileAllowList,
  newAllowEntry,
} from '../../engine/detections/allowlist.ts';
import type { RuleProblem } from '../../engine/detections/index.ts';
import { validate } from '../../engine/rule-yaml.ts';

/** Entries from "Mark benign" hold this long unless the caller says otherwise. */
export const DEFAULT_ENTRY_DAYS = 90;

export interface AllowListStore {
  /** The analysts' file (written by `add`), if any. */
  readonly file: string | undefined;
  /** The compiled allow-list now; re-reads the files first when the analysts' file changed on disk. */
  current(): CompiledAllowList;
  /** Appends a scoped entry to the analysts' file (owner and expiry default to the caller and 90 days). */
  add(entry: NewEntry, now?: Date): AllowEntry;
  /** Re-reads both files now. A file that no longer validates keeps the last good list; see `problems`. */
  reload(): void;
  readonly problems: readonly RuleProblem[];
  /** The parsed lists (for `knownAccounts`). */
  readonly lists: readonly AllowList[];
}

export type NewEntry = Omit<AllowEntry, 'at'> & { by: string };

export interface AllowListStoreOptions {
  /** The bundled list (read-only here). */
  globalFile?: string;
  /** The analysts' list. A missing file is an empty list, created on the first `add`. */
  userFile?: string;
  /** How often `current()` looks at the file's modification time, ms (default 1000). */
  checkEveryMs?: number;
  clock?: () => number;
}

export function openAllowListStore(options: AllowListStoreOptions): AllowListStore {
  const clock = options.clock ?? Date.now;
  const checkEvery = options.checkEveryMs ?? 1000;
  let lists: AllowList[] = [];
  let compiled: CompiledAllowList = compileAllowList();
  let problems: RuleProblem[] = [];
  let seenMtime = -1;
  let lastCheck = 0;
  const files = [options.globalFile, options.userFile].filter((f): f is string => f !== undefined);

  const reload = () => {
    const next: AllowList[] = [];
    const found: RuleProblem[] = [];
    for (const file of files) {
      if (!existsSync(file)) continue;
      const r = validate(file, readFileSync(file, 'utf8'), AllowListSchema.nullable());
      if (!r.ok) found.push(...r.problems);
      else if (r.value) next.push(r.value);
    }
    seenMtime = mtimeOf(options.userFile);
    problems = found;
    if (found.length === 0 || lists.length === 0) {
      lists = next;
      compiled = compileAllowList(...next);
    }
  };
  reload();

  return {
    file: options.userFile,
    get problems() {
      return problems;
    },
    get lists() {
      return lists;
    },
    current() {
      const now = clock();
      if (options.userFile && now - lastCheck >= checkEvery) {
        lastCheck = now;
        if (mtimeOf(options.userFile) !== seenMtime) reload();
      }
      return compiled;
    },
    reload,
    add(entry, now = new Date(clock())) {
      if (!options.userFile) throw new Error('no allow-list file is configured to write to');
      const full = newAllowEntry(
        {
          owner: entry.by,
          expires: new Date(now.getTime() + DEFAULT_ENTRY_DAYS * 86_400_000).toISOString(),
          ...entry,
        },
        now,
      );
      appendEntry(options.userFile, full);
      reload();
      return full;
    },
  };
}

function mtimeOf(file: string | undefined): number {
  if (!file || !existsSync(file)) return 0;
  return statSync(file).mtimeMs;
}

const HEADER =
  ' Cartographer allow-list: entries added by analysts ("Mark benign"), each with owner and expiry.';

/** Adds the entry to `entries:` through the YAML document (comments and order kept), then swaps the file in. */
export function appendEntry(file: string, entry: AllowEntry): void {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const doc = parseDocument(text.trim() === '' ? '{}' : text);
  if (doc.errors.length > 0)
    throw new Error(`${file}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  if (text.trim() === '') {
    doc.commentBefore = HEADER;
    if (isMap(doc.contents)) doc.contents.flow = false;
  }
  if (doc.contents === null || (!isMap(doc.contents) && text.trim() !== '')) {
    throw new Error(`${file}: an allow-list is a mapping (principals:, ips:, entries: …)`);
  }
  let entries = doc.get('entries', true);
  if (entries === undefined || entries === null) {
    entries = new YAMLSeq();
    doc.set('entries', entries);
  }
  if (!isSeq(entries)) throw new Error(`${file}: 'entries:' must be a list`);
  if (entries.items.length === 0) entries.flow = false;
  const item = doc.createNode(entry);
  if (isMap(item)) item.flow = true;
  entries.items.push(item);
  const out = doc.toString({ lineWidth: 0 });
  const check = AllowListSchema.safeParse(parseDocument(out).toJS());
  if (!check.success)
    throw new Error(`${file}: the allow-list would not validate: ${check.error.issues[0]?.message}`);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, out);
  renameSync(tmp, file);
}
