/**
 * One measurement in a fresh process (so heap and peak RSS belong to it alone):
 *   node bin/run-ts.js bench/pipeline-worker.ts <dir> [--baseline] [--stages]
 * Prints one JSON line: records, seconds, records/s, peak RSS; with --baseline also the rate of
 * bare `JSON.parse` over the same files and of the local source alone (ingest), measured in the same
 * process just before; with --stages also the pipeline with its stages added one at a time.
 */
import { readFileSync } from 'node:fs';
import { loadDefaultStages } from '../compose/stages.ts';
import { analyze } from '../engine/pipeline.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';
import type { PipelineStages } from '../engine/stages.ts';
import { listFiles } from './files.ts';

const [dir, ...flags] = process.argv.slice(2);
if (!dir) throw new Error('usage: pipeline-worker.ts <dir> [--baseline]');

/**
 * Wall time and CPU time of one step. The machines are shared: wall time includes waiting for a core,
 * CPU time (this process, pinned to one core by run.ts) does not, so ratios are taken on CPU time.
 */
interface Timing {
  seconds: number;
  cpuSeconds: number;
}
function clock(): () => Timing {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  };
}
function rates(records: number, t: Timing) {
  return { perSecond: Math.round(records / t.seconds), perCpuSecond: Math.round(records / t.cpuSeconds) };
}

/** Bare JSON.parse of the same bytes: read each file, parse it, count its records. */
function baseline(files: string[]): { records: number } & Timing {
  const stop = clock();
  let records = 0;
  for (const f of files) {
    const doc = JSON.parse(readFileSync(f, 'utf8')) as { Records: unknown[] };
    records += doc.Records.length;
  }
  return { records, ...stop() };
}

/** The local source alone (read, parse, check records): how much of the pipeline's time is ingest. */
async function ingest(root: string): Promise<{ records: number } & Timing> {
  const stop = clock();
  let records = 0;
  for await (const item of createLocalSource([root]).read({})) if (item.kind === 'record') records++;
  return { records, ...stop() };
}

type StageName = keyof PipelineStages;

async function pipeline(root: string, only?: StageName[]) {
  const stagesStarted = performance.now();
  const all = await loadDefaultStages();
  const stages: PipelineStages = only ? Object.fromEntries(only.map((name) => [name, all[name]])) : all;
  const loadSeconds = (performance.now() - stagesStarted) / 1000;
  const stop = clock();
  const analysis = analyze(createLocalSource([root]).read({}), stages, {});
  let sessions = 0;
  let signals = 0;
  let findings = 0;
  let multiRegion = 0;
  let console = 0;
  let largest = 0;
  for await (const s of analysis.sessions) {
    sessions++;
    signals += s.signals.length;
    findings += s.findings.length;
    if (s.regions.length > 1) multiRegion++;
    if (s.kind === 'console') console++;
    if (s.eventCount > largest) largest = s.eventCount;
  }
  const timing = stop();
  return {
    records: analysis.inputs.records,
    rejected: analysis.inputs.rejected.length,
    sessions,
    signals,
    findings,
    /** The corpus mix as the engine saw it. */
    multiRegionSessions: multiRegion,
    consoleSessions: console,
    largestSession: largest,
    ...timing,
    loadSeconds,
  };
}

const files = listFiles(dir);
const result: Record<string, unknown> = { dir, files: files.length };
if (flags.includes('--baseline')) {
  baseline(files.slice(0, 5)); // warm the JIT and the page cache the same way for both
  const b = baseline(files);
  result.baseline = { ...b, ...rates(b.records, b) };
  const i = await ingest(dir);
  result.ingest = { ...i, ...rates(i.records, i) };
}
if (flags.includes('--stages')) {
  // Where the time goes: the pipeline with the stages added one at a time. Each step runs twice and keeps
  // its lower CPU time, so JIT warm-up and an unlucky GC do not land on whichever step runs first.
  const steps: [string, StageName[] | undefined][] = [
    ['sessions', []],
    ['enrichment', ['enricher']],
    ['signals', ['enricher', 'signalMapper']],
    ['detections', undefined],
  ];
  const out: Record<string, Timing> = {};
  for (let round = 0; round < 2; round++) {
    for (const [name, only] of steps) {
      const r = await pipeline(dir, only);
      const best = out[name];
      if (!best || r.cpuSeconds < best.cpuSeconds)
        out[name] = { cpuSeconds: r.cpuSeconds, seconds: r.seconds };
    }
  }
  result.stages = out;
}
const p = await pipeline(dir);
result.pipeline = { ...p, ...rates(p.records, p) };
result.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(`${JSON.stringify(result)}\n`);
