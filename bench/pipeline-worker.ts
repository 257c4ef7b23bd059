/**
 * One measurement in a fresh process (so heap and peak RSS belong to it alone):
 *   node bin/run-ts.js bench/pipeline-worker.ts <dir> [--baseline]
 * Prints one JSON line: records, seconds, records/s, peak RSS; with --baseline also the rate of
 * bare `JSON.parse` over the same files, measured in the same process just before.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadDefaultStages } from '../cli/stages.ts';
import { analyze } from '../engine/pipeline.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';

const [dir, ...flags] = process.argv.slice(2);
if (!dir) throw new Error('usage: pipeline-worker.ts <dir> [--baseline]');

function listFiles(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root).sort()) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** Bare JSON.parse of the same bytes: read each file, parse it, count its records. */
function baseline(files: string[]): { records: number; seconds: number } {
  const started = performance.now();
  let records = 0;
  for (const f of files) {
    const doc = JSON.parse(readFileSync(f, 'utf8')) as { Records: unknown[] };
    records += doc.Records.length;
  }
  return { records, seconds: (performance.now() - started) / 1000 };
}

async function pipeline(root: string) {
  const stagesStarted = performance.now();
  const stages = await loadDefaultStages();
  const loadSeconds = (performance.now() - stagesStarted) / 1000;
  const started = performance.now();
  const analysis = analyze(createLocalSource([root]).read({}), stages, {});
  let sessions = 0;
  let signals = 0;
  let findings = 0;
  for await (const s of analysis.sessions) {
    sessions++;
    signals += s.signals.length;
    findings += s.findings.length;
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    records: analysis.inputs.records,
    rejected: analysis.inputs.rejected.length,
    sessions,
    signals,
    findings,
    seconds,
    loadSeconds,
  };
}

const files = listFiles(dir);
const result: Record<string, unknown> = { dir, files: files.length };
if (flags.includes('--baseline')) {
  baseline(files.slice(0, 5)); // warm the JIT and the page cache the same way for both
  const b = baseline(files);
  result.baseline = { ...b, perSecond: Math.round(b.records / b.seconds) };
}
const p = await pipeline(dir);
result.pipeline = { ...p, perSecond: Math.round(p.records / p.seconds) };
result.peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
process.stdout.write(`${JSON.stringify(result)}\n`);
