/**
 * `npm run bench`: measures Cartographer against the limits it runs into, as ratios taken in one run
 * (machines here are shared and noisy, so absolute numbers matter less than ratios).
 *
 *   1. pipeline throughput vs bare JSON.parse of the same bytes, one core, 100k events
 *   2. scaling at 10k / 100k / 1M events: time and peak memory, each in a fresh process
 *   3. Slack: 200 concurrent signed slash commands against the real bot; command → summary time
 *   4. LookupEvents: 5,000-event session over 4 regions against an endpoint enforcing 2 req/s/region
 *   5. SQS: records/s per replica from queue to decision; notification → Slack alert for a 1 MB gzip file
 *   6. start-up time and memory: tsx sources vs dist/, and the Docker image's steps (bench/startup.ts)
 *   7. Athena at organisation scale: generated org days behind the DuckDB Athena endpoint (bench/athena-scale.ts)
 *
 * Prints a table and writes bench/results.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'bench/out');
const sizes = (process.env.BENCH_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const GENERATOR_VERSION = '3';

interface Row {
  metric: string;
  value: string;
  target: string;
  met: boolean | null;
}
const rows: Row[] = [];
const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    // The machines are shared: the load when the run started says how much of the cores it had.
    loadAverage: loadavg()[0],
  },
};

async function dataset(size: number): Promise<string> {
  const dir = join(outDir, `events-${size}`);
  const marker = join(dir, '.generated');
  const want = `${GENERATOR_VERSION}:${size}`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return dir;
  const started = performance.now();
  const g = await generate(root, dir, size);
  generatedNow.push(size.toLocaleString('en-US'));
  writeFileSync(marker, want);
  log(
    `generated ${g.records} records in ${g.files} files (${(g.bytes / 2 ** 20).toFixed(0)} MiB, ${Object.keys(g.regions).length} regions) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return dir;
}

// biome-ignore lint/suspicious/noExplicitAny: a worker's JSON line, read field by field below
type WorkerResult = Record<string, any>;

/**
 * Runs one measurement in a child process; `pinned`: on one core where `taskset` exists (throughput is
 * measured per core; the Slack bench runs the bot and the Slack stand-in as two processes and must not be).
 */
function worker(script: string, args: string[], pinned: boolean): WorkerResult {
  const node = [
    process.execPath,
    '--max-old-space-size=4096',
    join(root, 'bin/run-ts.js'),
    join(root, script),
    ...args,
  ];
  const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
  const cmd = pinned && hasTaskset ? ['taskset', '-c', '0', ...node] : node;
  const out = execFileSync(cmd[0]!, cmd.slice(1), {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 2 ** 26,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const last = out.trim().split('\n').pop()!;
  return JSON.parse(last);
}

function log(s: string) {
  process.stderr.write(`[bench] ${s}\n`);
}

async function throughputAndScaling() {
  const bySize: Record<number, WorkerResult> = {};
  for (const size of sizes) {
    const dir = await dataset(size);
    log(`pipeline on ${size} events…`);
    bySize[size] = worker(
      'bench/pipeline-worker.ts',
      [dir, ...(size === 100000 ? ['--baseline', '--stages'] : [])],
      true,
    );
  }
  results.pipeline = bySize;
  // Rates per CPU second of the pinned worker (the machines are shared; wall time also counts waiting for
  // the core); wall-clock rates are shown beside them.
  const rate = (step: WorkerResult) =>
    `${step.perCpuSecond.toLocaleString()} ev/s per CPU s (wall ${step.perSecond.toLocaleString()} ev/s)`;
  const mid = bySize[100000];
  if (mid?.baseline) {
    const ratio = mid.pipeline.perCpuSecond / mid.baseline.perCpuSecond;
    rows.push({
      metric: 'JSON.parse alone (100k)',
      value: rate(mid.baseline),
      target: 'reference',
      met: null,
    });
    if (mid.ingest) {
      rows.push({
        metric: 'ingest alone: read + parse + check (100k)',
        value: `${rate(mid.ingest)} = ${((mid.ingest.perCpuSecond / mid.baseline.perCpuSecond) * 100).toFixed(0)} %`,
        target: '',
        met: null,
      });
    }
    rows.push({ metric: 'whole pipeline (100k)', value: rate(mid.pipeline), target: '', met: null });
    if (mid.stages && mid.ingest) {
      // CPU microseconds per event that each stage adds, from the cumulative runs (best of two each).
      const us = (cpuSeconds: number) => (cpuSeconds / mid.pipeline.records) * 1e6;
      const steps: [string, number][] = [
        ['JSON.parse', us(mid.baseline.cpuSeconds)],
        ['ingest (read, parse, check)', us(mid.ingest.cpuSeconds)],
        ['+ sessions, dedupe, order', us(mid.stages.sessions.cpuSeconds - mid.ingest.cpuSeconds)],
        ['+ enrichment', us(mid.stages.enrichment.cpuSeconds - mid.stages.sessions.cpuSeconds)],
        ['+ signals', us(mid.stages.signals.cpuSeconds - mid.stages.enrichment.cpuSeconds)],
        ['+ detections', us(mid.stages.detections.cpuSeconds - mid.stages.signals.cpuSeconds)],
      ];
      rows.push({
        metric: 'CPU µs per event (100k)',
        value: steps.map(([name, v]) => `${name} ${v.toFixed(1)}`).join(' · '),
        target: '',
        met: null,
      });
    }
    rows.push({
      metric: 'pipeline / JSON.parse',
      value: `${(ratio * 100).toFixed(0)} %`,
      target: '≥ 40 %',
      met: ratio >= 0.4,
    });
  }
  for (const size of sizes) {
    const r = bySize[size]!;
    rows.push({
      metric: `${size.toLocaleString()} events`,
      value: `${r.pipeline.cpuSeconds.toFixed(1)} CPU s (wall ${r.pipeline.seconds.toFixed(1)} s), peak ${r.peakRssMb} MB; ${r.pipeline.sessions} sessions (${r.pipeline.consoleSessions} console, ${r.pipeline.multiRegionSessions} multi-region, largest ${r.pipeline.largestSession} events), ${r.pipeline.findings} findings`,
      target: size >= 1000000 ? '< 1024 MB' : '',
      met: size >= 1000000 ? r.peakRssMb < 1024 : null,
    });
  }
  if (bySize[100000] && bySize[1000000]) {
    const growth = bySize[1000000].pipeline.cpuSeconds / bySize[100000].pipeline.cpuSeconds;
    const wallGrowth = bySize[1000000].pipeline.seconds / bySize[100000].pipeline.seconds;
    rows.push({
      metric: 'time 1M / time 100k',
      value: `${growth.toFixed(1)}× CPU (wall ${wallGrowth.toFixed(1)}×)`,
      target: '≤ 11×',
      met: growth <= 11,
    });
  }
}

const runStarted = performance.now();
/** Corpus sizes generated in this run (not reused from bench/out). */
const generatedNow: string[] = [];

async function main() {
  mkdirSync(outDir, { recursive: true });
  await throughputAndScaling();
  // The Slack, start-up and summarize sections run the compiled command (dist/).
  execFileSync(process.execPath, [join(root, 'bin/build.js'), '--if-stale'], { stdio: 'inherit' });
  // summarize --format json against JSON.parse, one thread and all (bench/summarize.ts; 200k three times, 1M once).
  const summarizeSizes = (process.env.BENCH_SUMMARIZE_SIZES ?? '200000,1000000').split(',').map(Number);
  for (const size of summarizeSizes) await dataset(size);
  log('bench/summarize.ts…');
  const summarize = worker('bench/summarize.ts', [summarizeSizes.join(',')], false);
  results.summarize = summarize;
  rows.push(...(summarize.rows as Row[]));
  for (const section of [
    'bench/slack-latency.ts',
    'bench/lookup-throughput.ts',
    'bench/sqs.ts',
    'bench/startup.ts',
    'bench/athena-scale.ts',
  ]) {
    if (!existsSync(join(root, section))) continue;
    log(`${section}…`);
    const r = worker(section, [], false);
    results[section.replace(/^bench\/|\.ts$/g, '')] = r;
    rows.push(...(r.rows as Row[]));
  }
  // Corpus generation included; a cached corpus (bench/out, same generator version) makes later runs shorter.
  const total = (performance.now() - runStarted) / 1000;
  rows.push({
    metric: 'whole `npm run bench`',
    value: `${(total / 60).toFixed(1)} min (${generatedNow.length ? `generated ${generatedNow.join(', ')}` : 'corpora cached'})`,
    target: '< 10 min',
    met: total < 600,
  });
  printTable();
  results.rows = rows;
  writeFileSync(join(root, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log('wrote bench/results.json');
}

function printTable() {
  const w = [
    Math.max(...rows.map((r) => r.metric.length), 6),
    Math.max(...rows.map((r) => r.value.length), 5),
    Math.max(...rows.map((r) => r.target.length), 6),
  ];
  const line = (a: string, b: string, c: string, d: string) =>
    `| ${a.padEnd(w[0]!)} | ${b.padEnd(w[1]!)} | ${c.padEnd(w[2]!)} | ${d} |`;
  const m = results.machine as Record<string, unknown>;
  process.stdout.write(
    `\nCartographer benchmarks — ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GiB, Node ${m.node}, load ${Number(m.loadAverage).toFixed(1)}\n\n`,
  );
  process.stdout.write(`${line('metric', 'value', 'target', 'met')}\n`);
  process.stdout.write(
    `|${'-'.repeat(w[0]! + 2)}|${'-'.repeat(w[1]! + 2)}|${'-'.repeat(w[2]! + 2)}|-----|\n`,
  );
  for (const r of rows)
    process.stdout.write(
      `${line(r.metric, r.value, r.target, r.met === null ? '' : r.met ? 'yes' : 'NO')}\n`,
    );
}

if (process.argv.includes('--candidates')) {
  // `npm run bench -- --candidates DIR [N]`: detection rules tried per event (bench/rule-candidates.ts).
  await (await import('./rule-candidates.ts')).main(
    process.argv.slice(process.argv.indexOf('--candidates') + 1),
  );
} else if (process.argv.includes('--split-scan')) {
  // `npm run bench -- --split-scan DIR`: the per-thread floor of a split-by-owner two-thread design.
  (await import('./split-scan.ts')).main(process.argv.slice(process.argv.indexOf('--split-scan') + 1));
} else if (process.argv.includes('--profile')) {
  // `npm run bench -- --profile [DIR] [--threads N] [--markdown]`: where summarize spends its CPU (bench/profile.ts).
  (await import('./profile.ts')).main(process.argv.slice(process.argv.indexOf('--profile') + 1));
} else await main();
