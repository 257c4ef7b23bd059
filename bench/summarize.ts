/**
 * `cartographer summarize --format json` against bare `JSON.parse` of the same bytes, in the same run:
 *   node bin/run-ts.js bench/summarize.ts [sizes=200000,1000000] [--threads 1,2] [--repeat 3] [--repeat-1m 1]
 * Each measurement is a fresh process (`/usr/bin/time` gives its wall time, CPU time and peak resident set);
 * one-thread runs and the JSON.parse reference are pinned to one core with `taskset`, runs with more
 * threads may use every core. The output of every run is hashed: all thread counts must give the same bytes.
 * Prints one JSON line (`rows` for the bench table, `runs` with every number); run.ts calls it.
 *   node bin/run-ts.js bench/summarize.ts --parse DIR     the reference alone (one JSON line)
 *   --before DIR: also run another copy of the project (the code before a change) in each round, same input
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listFiles } from './files.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The reference: read every file and JSON.parse it, counting records (what any reader must at least do). */
function parseOnly(dir: string): void {
  const files = listFiles(dir);
  const wall = performance.now();
  const cpu = process.cpuUsage();
  let records = 0;
  let bytes = 0;
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    bytes += text.length;
    records += (JSON.parse(text) as { Records: unknown[] }).Records.length;
  }
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${JSON.stringify({ records, bytes, files: files.length, seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 })}\n`,
  );
}

interface Measured {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  sha256?: string;
  /** CPU seconds of the main thread, of the busiest other thread and of all others (sampled from /proc). */
  threadCpu?: { main: number; busiestOther: number; othersTotal: number };
}

const hasTaskset = spawnSync('taskset', ['--version']).status === 0;

/**
 * Runs a command under /usr/bin/time (stdout to `outFile` when given) and samples its threads' CPU time from
 * /proc every 200 ms: the main thread, the busiest other thread (a worker; V8's GC helpers are the rest), so a
 * run on a loaded machine still shows what each thread needed.
 */
async function timed(
  cmd: string[],
  pinned: boolean,
  outFile?: string,
): Promise<Measured & { stdout: string }> {
  const full = [...(pinned && hasTaskset ? ['taskset', '-c', '0'] : []), ...cmd];
  const out = outFile ? openSync(outFile, 'w') : 'pipe';
  const child = spawn('/usr/bin/time', ['-f', 'TIME %e %U %S %M', ...full], {
    cwd: root,
    stdio: ['ignore', out, 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const threads = new Map<string, number>();
  let pid: string | undefined;
  const sample = () => {
    try {
      pid ??=
        readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(' ')[0] ||
        undefined;
      if (!pid) return;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        threads.set(tid, (Number(f[11]) + Number(f[12])) / 100);
      }
    } catch {
      // the process or a thread ended between two reads
    }
  };
  const timer = setInterval(sample, 200);
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(timer);
  if (typeof out === 'number') closeSync(out);
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (status !== 0 || !m) throw new Error(`${cmd.join(' ')} failed (${status}): ${stderr.slice(-2000)}`);
  const main = pid ? (threads.get(pid) ?? 0) : 0;
  const others = [...threads].filter(([t]) => t !== pid).map(([, c]) => c);
  return {
    stdout,
    seconds: Number(m[1]),
    cpuSeconds: Number(m[2]) + Number(m[3]),
    peakRssMb: Math.round(Number(m[4]) / 1024),
    threadCpu: { main, busiestOther: Math.max(0, ...others), othersTotal: others.reduce((a, b) => a + b, 0) },
  };
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const node = process.execPath;

async function reference(dir: string) {
  const t = await timed(
    [node, join(root, 'bin/run-ts.js'), join(root, 'bench/summarize.ts'), '--parse', dir],
    true,
  );
  const inner = JSON.parse(t.stdout.trim().split('\n').pop()!) as {
    records: number;
    seconds: number;
    cpuSeconds: number;
  };
  // Both figures: the process (start-up included, as for summarize) and the parsing loop alone.
  return { ...t, stdout: undefined, records: inner.records, loop: inner };
}

/** `checkout`: another copy of the project (the code before a change), run the same way on the same input. */
async function summarize(dir: string, threads: number, checkout?: string): Promise<Measured> {
  const out = join(root, `bench/out/summarize-${threads}.json`);
  const cmd = [node, join(checkout ?? root, 'bin/cartographer.js'), 'summarize', dir, '--format', 'json'];
  if (threads > 0) cmd.push('--threads', String(threads));
  const t = await timed(cmd, threads <= 1, out); // 0: the command's default (no --threads)
  const digest = await sha256(out);
  rmSync(out, { force: true });
  const { stdout: _, ...measured } = t;
  return { ...measured, sha256: digest };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function main() {
  const parseDir = flag('--parse', '');
  if (parseDir) return parseOnly(parseDir);
  const positional = process.argv.slice(2).find((a) => /^\d[\d,]*$/.test(a));
  const sizes = (positional ?? process.env.BENCH_SUMMARIZE_SIZES ?? '200000,1000000').split(',').map(Number);
  const threadCounts = flag('--threads', `1,${cpus().length}`).split(',').map(Number);
  const repeat = Number(flag('--repeat', '3'));
  const runs: Record<string, unknown>[] = [];
  for (const size of sizes) {
    const dir = join(root, `bench/out/events-${size}`);
    readFileSync(join(dir, '.generated'), 'utf8');
    const rounds = size >= 1_000_000 ? Math.min(repeat, Number(flag('--repeat-1m', '1'))) : repeat;
    for (let round = 0; round < rounds; round++) {
      const load = loadavg()[0]!;
      const ref = await reference(dir);
      const row: Record<string, unknown> = { size, round, load, parse: ref, summarize: {} };
      const before = flag('--before', '');
      if (before) row.before = await summarize(dir, 0, resolve(before));
      for (const threads of threadCounts) {
        (row.summarize as Record<number, Measured>)[threads] = await summarize(dir, threads);
      }
      runs.push(row);
      process.stderr.write(`[bench summarize] ${JSON.stringify(row)}\n`);
    }
  }
  process.stdout.write(`${JSON.stringify({ runs, rows: tableRows(runs, threadCounts) })}\n`);
}

interface Row {
  metric: string;
  value: string;
  target: string;
  met: boolean | null;
}

/** Medians over the rounds of each size: ratios to the reference taken within each round first. */
function tableRows(runs: Record<string, unknown>[], threadCounts: number[]): Row[] {
  const rows: Row[] = [];
  const bySize = new Map<number, Record<string, any>[]>();
  for (const r of runs) bySize.set(r.size as number, [...(bySize.get(r.size as number) ?? []), r]);
  for (const [size, rs] of bySize) {
    const n = size.toLocaleString('en-US');
    const parse = median(rs.map((r) => r.parse.seconds));
    rows.push({
      metric: `${n} records: JSON.parse of the files`,
      value: `${parse.toFixed(2)} s wall (${median(rs.map((r) => r.parse.cpuSeconds)).toFixed(2)} CPU s, loop ${median(rs.map((r) => r.parse.loop.seconds)).toFixed(2)} s), load ${rs.map((r) => r.load.toFixed(1)).join(' / ')}`,
      target: 'reference',
      met: null,
    });
    const one = threadCounts[0]!;
    if (rs[0]!.before) {
      const b = (r: Record<string, any>) => r.before as Measured;
      rows.push({
        metric: `${n} records: summarize --format json before this change (--before), one core`,
        value: `${median(rs.map((r) => b(r).seconds)).toFixed(2)} s wall = ${median(rs.map((r) => r.parse.seconds / b(r).seconds)).toFixed(2)} of JSON.parse, ${median(rs.map((r) => b(r).cpuSeconds)).toFixed(1)} CPU s (now ${median(rs.map((r) => r.summarize[one].cpuSeconds / b(r).cpuSeconds)).toFixed(2)}× that), peak ${median(rs.map((r) => b(r).peakRssMb))} MB, output ${rs.every((r) => b(r).sha256 === r.summarize[one].sha256) ? 'identical' : 'DIFFERENT'}`,
        target: 'reference',
        met: null,
      });
    }
    for (const t of threadCounts) {
      const ratio = median(rs.map((r) => r.parse.seconds / r.summarize[t].seconds));
      const speedup = median(rs.map((r) => r.summarize[one].seconds / r.summarize[t].seconds));
      const s = median(rs.map((r) => r.summarize[t].seconds));
      const same = rs.every((r) => r.summarize[t].sha256 === r.summarize[one].sha256);
      // What the threads needed, load aside: the longest thread's CPU time against the one-thread run's.
      const path = (m: Measured) =>
        m.threadCpu ? Math.max(m.threadCpu.main, t > 1 ? m.threadCpu.busiestOther : 0) : m.cpuSeconds;
      const threadsNote = rs[0]!.summarize[t].threadCpu
        ? `; main thread ${median(rs.map((r) => r.summarize[t].threadCpu.main)).toFixed(1)} CPU s${t > 1 ? `, busiest worker ${median(rs.map((r) => r.summarize[t].threadCpu.busiestOther)).toFixed(1)} CPU s, longest thread ${median(rs.map((r) => path(r.summarize[one]) / path(r.summarize[t]))).toFixed(2)}× shorter than one thread's` : ''}`
        : '';
      rows.push({
        metric: `${n} records: summarize --format json, ${t} thread(s)`,
        value: `${s.toFixed(2)} s wall = ${ratio.toFixed(2)} of JSON.parse, ${Math.round(size / s).toLocaleString('en-US')} ev/s, ${median(rs.map((r) => r.summarize[t].cpuSeconds)).toFixed(1)} CPU s, peak ${median(rs.map((r) => r.summarize[t].peakRssMb))} MB${t !== one ? `, ${speedup.toFixed(2)}× ${one} thread wall, output ${same ? 'identical' : 'DIFFERENT'}` : ''}${threadsNote}`,
        target:
          t === one && size === 200000
            ? '≥ 0.5 of JSON.parse'
            : t !== one && size === 200000
              ? '≥ 1.6× one thread, identical'
              : size >= 1000000
                ? 'peak < 500 MB'
                : '',
        met:
          t === one && size === 200000
            ? ratio >= 0.5
            : t !== one && size === 200000
              ? speedup >= 1.6 && same
              : size >= 1000000
                ? median(rs.map((r) => r.summarize[t].peakRssMb)) < 500
                : null,
      });
    }
  }
  return rows;
}

await main();
