/**
 * Hostile and odd inputs are bounded and named: the real CLI over a folder with a FIFO, a 60 MB record
 * among 20 good ones, a gzip bomb, an empty file, `{"Records":null}`, valid JSON that is not CloudTrail and a
 * symbolic link loop; then each limit on its own, through the local source.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonSplitter, type Piece } from '../../../engine/ingest/json-splitter.ts';
import type { SourceItem } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { type CliRun, childOutput } from '../../support/cli.ts';
import {
  demoRecords,
  gzipBomb,
  type HostileFolder,
  makeHostileFolder,
} from '../../support/hostile-inputs.ts';

const tmp = mkdtempSync(join(tmpdir(), 'cartographer-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const records = demoRecords();

/** Prints the child's peak resident set size (KiB) on stderr as it exits. */
const REPORT_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("maxrss-kib="+process.resourceUsage().maxRSS+"\\n"))';

/**
 * Runs the CLI in its own process. `withoutFileModeOverride`: as root, without the capabilities that read through
 * any file mode (util-linux's setpriv), so modes bind the run as they bind any other user.
 */
function runCli(args: string[], withoutFileModeOverride = false): Promise<CliRun> {
  const caps = '-dac_override,-dac_read_search';
  const asRoot = withoutFileModeOverride && process.getuid?.() === 0;
  const argv = [process.execPath, '--import', REPORT_RSS, 'bin/cartographer.js', ...args];
  const command = asRoot ? ['setpriv', `--inh-caps=${caps}`, `--bounding-set=${caps}`, ...argv] : argv;
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  // A hang guard (a FIFO used to block the run forever), not a timing assertion.
  const guard = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return childOutput(child).finally(() => clearTimeout(guard));
}

async function collect(paths: string[], limits = {}): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of createLocalSource(paths, process.stdin, limits).read({})) out.push(item);
  return out;
}
const only = <K extends SourceItem['kind']>(items: SourceItem[], kind: K) =>
  items.filter((i): i is Extract<SourceItem, { kind: K }> => i.kind === kind);

describe('cartographer summarize over a folder of hostile inputs', () => {
  let folder: HostileFolder;
  let run: Awaited<ReturnType<typeof runCli>>;
  beforeAll(async () => {
    folder = makeHostileFolder(join(tmp, 'hostile'));
    run = await runCli(['summarize', '--format', 'json', '--no-events', folder.dir]);
  }, 120_000);

  it('ends (no hang on the FIFO), keeps every good record, under 300 MB peak RSS', () => {
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { inputs: { records: number } };
    expect(doc.inputs.records).toBe(folder.goodRecords);
    const rss = Number(/maxrss-kib=(\d+)/.exec(run.stderr)?.[1]);
    console.log(`hostile folder: peak RSS ${(rss / 1024).toFixed(0)} MiB`);
    expect(rss).toBeGreaterThan(0);
    expect(rss / 1024).toBeLessThan(300);
  });

  it('names each bad input with its own reason', () => {
    const { inputs } = JSON.parse(run.stdout) as {
      inputs: { rejected: { where: string; reason: string }[]; skipped: { where: string; reason: string }[] };
    };
    const notes = [...inputs.rejected, ...inputs.skipped].map((n) => `${n.where}: ${n.reason}`);
    const noteFor = (name: string) => notes.filter((n) => n.startsWith(join(folder.dir, name)));
    expect(noteFor(folder.bad.fifo)).toEqual([
      `${join(folder.dir, 'pipe.json')}: not a regular file (FIFO): not read`,
    ]);
    expect(noteFor(folder.bad.giant)).toHaveLength(1);
    expect(noteFor(folder.bad.giant)[0]).toMatch(
      /#11: record too large: 60\.0 MB .* over the 8\.0 MB record size cap/,
    );
    expect(noteFor(folder.bad.bomb)).toHaveLength(1);
    expect(noteFor(folder.bad.bomb)[0]).toMatch(/decompression cap: .* gzip bomb/);
    expect(noteFor(folder.bad.empty)).toEqual([`${join(folder.dir, 'empty.json')}: empty file`]);
    expect(noteFor(folder.bad.recordsNull)).toEqual([
      `${join(folder.dir, 'records-null.json')}:1: no records: "Records" is null`,
    ]);
    expect(noteFor(folder.bad.notCloudTrail)[0]).toMatch(
      /valid JSON but not CloudTrail: an object with keys name, version/,
    );
    expect(noteFor('sub/loop')[0]).toMatch(/symbolic link loop/);
  });

  it('the text output names them too', async () => {
    const text = await runCli(['summarize', folder.dir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/60 records from 6 files · 3 rejected/);
    expect(text.stdout).toMatch(/note .*pipe\.json: not a regular file \(FIFO\)/);
    expect(text.stdout).toMatch(/note .*empty\.json: empty file/);
    expect(text.stdout).toMatch(/rejected .*giant\.json#11: record too large/);
  }, 120_000);
});

describe('each limit on its own', () => {
  const good = records.slice(0, 6).map((r) => JSON.stringify(r));

  it('a giant JSON Lines line is refused by its line number; the lines after it are read', async () => {
    const path = join(tmp, 'giant-line.jsonl');
    const giant = JSON.stringify({ ...records[7]!, requestParameters: { x: 'B'.repeat(3 * 2 ** 20) } });
    writeFileSync(path, [good[0], good[1], giant, good[2], good[3]].join('\n'));
    const items = await collect([path], { maxRecordChars: 2 ** 20 });
    expect(only(items, 'record')).toHaveLength(4);
    const rejected = only(items, 'rejected');
    expect(rejected.map((r) => r.origin.line)).toEqual([3]);
    expect(rejected[0]!.reason).toMatch(/record too large: 3\.0 MB .* over the 1\.0 MB record size cap/);
  });

  it('a giant single-record file is refused, as is a giant top-level array element', async () => {
    const one = join(tmp, 'giant-single.json');
    writeFileSync(one, JSON.stringify({ ...records[3]!, responseElements: { y: 'C'.repeat(2 ** 21) } }));
    const arr = join(tmp, 'giant-array.json');
    writeFileSync(
      arr,
      `[${good[0]},${JSON.stringify({ ...records[3]!, z: 'D'.repeat(2 ** 21) })},${good[1]}]`,
    );
    const items = await collect([one, arr], { maxRecordChars: 2 ** 20 });
    expect(only(items, 'record')).toHaveLength(2);
    expect(only(items, 'rejected').map((r) => `${r.origin.file}${r.origin.position ?? ''}`)).toEqual([
      one,
      `${arr}2`,
    ]);
  });

  it('the splitter never holds the refused record, whatever the chunking', () => {
    const text = `{"Records":[${good[0]},${JSON.stringify({ ...records[4]!, big: 'E'.repeat(2 ** 22) })},${good[1]}]}`;
    const splitter = new JsonSplitter({ maxRecordChars: 2 ** 18 });
    const pieces: Piece[] = [];
    for (let i = 0; i < text.length; i += 65_536) pieces.push(...splitter.push(text.slice(i, i + 65_536)));
    pieces.push(...splitter.end());
    expect(pieces.map((p) => `${p.kind}${p.position}`)).toEqual(['value1', 'error2', 'value3']);
  });

  it('a gzip bomb is stopped after a bounded amount; the records before it are kept', async () => {
    const path = join(tmp, 'bomb-after-records.json.gz');
    const { gzipSync } = await import('node:zlib');
    const head = gzipSync(`${good.join('\n')}\n`);
    writeFileSync(path, Buffer.concat([head, gzipBomb(2048)]));
    const items = await collect([path], { inflateFloorChars: 2 ** 20 });
    expect(only(items, 'record')).toHaveLength(6);
    const rejected = only(items, 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toMatch(/decompression cap/);
  });

  it('whitespace only, a JSON array of non-records and a symbolic link to itself: each its own note', async () => {
    const dir = join(tmp, 'odd');
    mkdirSync(dir);
    writeFileSync(join(dir, 'blank.json'), ' \n\t\n');
    writeFileSync(join(dir, 'numbers.json'), '[1, 2]');
    symlinkSync('self.json', join(dir, 'self.json'));
    symlinkSync('missing-target.json', join(dir, 'dangling.json'));
    const items = await collect([dir]);
    const notes = [...only(items, 'skipped'), ...only(items, 'rejected')].map(
      (n) =>
        `${n.origin.file.slice(dir.length + 1)}${n.origin.position ? `#${n.origin.position}` : ''}: ${n.reason}`,
    );
    expect(notes.sort()).toEqual([
      'blank.json: empty file (only whitespace)',
      'dangling.json: broken symbolic link (target missing)',
      'numbers.json#1: not a CloudTrail record: expected an object, got number',
      'numbers.json#2: not a CloudTrail record: expected an object, got number',
      'self.json: symbolic link loop: the link never resolves',
    ]);
  });

  it('an unreadable file and folder are named; the rest is read', async () => {
    const dir = join(tmp, 'locked');
    mkdirSync(join(dir, 'closed'), { recursive: true });
    writeFileSync(join(dir, 'secret.json'), good[0]!);
    writeFileSync(join(dir, 'open.json'), good[1]!);
    chmodSync(join(dir, 'secret.json'), 0);
    chmodSync(join(dir, 'closed'), 0);
    const { code, stdout } = await runCli(['summarize', dir, '--format', 'json'], true);
    expect(code).toBe(1); // README: 1 when an input path cannot be read (named); the rest is still analysed

    const { inputs } = JSON.parse(stdout) as {
      inputs: { files: number; records: number; rejected: { where: string; reason: string }[] };
    };
    expect(inputs.records).toBe(1);
    expect(inputs.rejected.map((r) => `${r.where.slice(dir.length + 1)}: ${r.reason}`).sort()).toEqual([
      'closed: cannot list folder: permission denied',
      'secret.json: cannot read: permission denied',
    ]);
  });

  it('an unreadable file (I/O error while reading) is named; the rest is read', async () => {
    const dir = join(tmp, 'io-error');
    mkdirSync(dir);
    writeFileSync(join(dir, 'open.json'), good[1]!);
    // Reading /proc/self/mem from offset 0 fails with EIO for every user, root included.
    symlinkSync('/proc/self/mem', join(dir, 'mem.json'));
    const items = await collect([dir]);
    expect(only(items, 'record')).toHaveLength(1);
    const rejected = only(items, 'rejected');
    expect(rejected.map((r) => r.origin.file)).toEqual([join(dir, 'mem.json')]);
    expect(rejected[0]!.reason).toMatch(/^cannot read: /);
  });
});
