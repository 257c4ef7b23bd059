/**
 * Where `summarize --format json` spends its CPU: runs it under `node --cpu-prof` and prints self time by
 * stage, by function and by file (a Markdown table for bench/README.md with --markdown).
 *   npm run bench -- --profile [DIR] [--threads N] [--markdown]   (DIR defaults to bench/out/events-200000)
 *   node bin/run-ts.js bench/profile.ts DIR|FILE.cpuprofile [top=30] [--threads N] [--markdown] [--checkout DIR]
 * A native or library frame (JSON.parse, a regex, zod, GC of a stage's garbage aside) counts towards the stage of
 * the nearest project function above it, so "parse" includes JSON.parse and "output" includes JSON.stringify.
 * With --threads N > 1 each worker writes its own profile; all are summed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rootUrl = `${pathToFileURL(root).href}/`;

/** The pipeline stages, by the project file a function lives in (first match wins). */
const STAGES: [string, RegExp][] = [
  ['read / decompress', /^engine\/ingest\/(read-input|file-walk)\.[jt]s|^engine\/sources\//],
  ['split', /^engine\/ingest\/json-splitter\.[jt]s/],
  ['normalise / validate', /^engine\/ingest\/|^engine\/(record|events)\.[jt]s/],
  ['sessionise', /^engine\/sessions\/|^engine\/(dedupe|order|pipeline)\.[jt]s/],
  ['signals', /^engine\/signals\//],
  ['enrichment', /^enrichment\//],
  ['scoring', /^engine\/detections\/risk\.[jt]s/],
  ['detections and Sigma', /^engine\/detections\//],
  ['output', /^cli\/format\/|^cli\/commands\/summarize\.[jt]s/],
  ['worker threads (messages)', /^cli\/parallel\//],
];

/** A project file as `engine/…` (sources run through tsx, compiled ones from dist/, or another checkout's). */
const shortUrl = (url: string) => {
  if (!url) return '(native)';
  const own =
    /^file:\/\/.*?\/(?:dist\/)?((?:engine|enrichment|cli|bench|adapters|bot|config|playground)\/.*)$/.exec(
      url,
    );
  if (own && !url.includes('/node_modules/')) return own[1]!;
  const dep = /\/(node_modules\/.*)$/.exec(url);
  if (dep) return dep[1]!;
  return url.startsWith(rootUrl) ? url.slice(rootUrl.length) : url;
};

function stageOfFile(where: string): string | undefined {
  for (const [name, re] of STAGES) if (re.test(where)) return name;
  return undefined;
}

interface Totals {
  total: number;
  perFunction: Map<string, number>;
  perFile: Map<string, number>;
  perStage: Map<string, number>;
}

function add(m: Map<string, number>, k: string, v: number) {
  m.set(k, (m.get(k) ?? 0) + v);
}

function accumulate(profile: Profile, t: Totals): void {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stageMemo = new Map<number, string>();
  const stageOf = (id: number): string => {
    const known = stageMemo.get(id);
    if (known) return known;
    const f = byId.get(id)!.callFrame;
    let stage: string | undefined;
    if (f.functionName === '(garbage collector)') stage = 'garbage collection';
    else if (f.functionName === '(program)') stage = 'V8 and Node (program)';
    else if (f.functionName === 'wholeText' || f.functionName === 'parseWhole') stage = 'parse';
    else stage = stageOfFile(shortUrl(f.url));
    if (!stage) {
      const p = parent.get(id);
      stage = p === undefined ? 'start-up, loading rules and tables, other' : stageOf(p);
    }
    stageMemo.set(id, stage);
    return stage;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const us = profile.timeDeltas[i] ?? 0;
    const f = byId.get(id)!.callFrame;
    const where = shortUrl(f.url);
    if (f.functionName === '(idle)') continue; // a thread waiting (the loader thread, a worker between jobs)
    t.total += us;
    add(
      t.perFunction,
      `${f.functionName || '(anonymous)'}  ${where}${f.url && f.lineNumber > 0 ? `:${f.lineNumber + 1}` : ''}`,
      us,
    );
    add(t.perFile, where, us);
    add(t.perStage, stageOf(id), us);
  }
}

function run(dir: string, threads: number | undefined, checkout?: string): string[] {
  const out = join(root, 'bench/out/prof');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // --checkout DIR: profile another copy of the project (the code before a change, say) on the same input.
  const args = ['--cpu-prof', `--cpu-prof-dir=${out}`, join(checkout ?? root, 'bin/cartographer.js')];
  args.push('summarize', dir, '--format', 'json');
  if (threads !== undefined) args.push('--threads', String(threads));
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`summarize failed (${r.status})`);
  return readdirSync(out)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(out, f));
}

function table(title: string, m: Map<string, number>, total: number, top: number, markdown: boolean) {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  if (markdown) {
    process.stdout.write(`\n| ${title} | ms | % |\n|---|---:|---:|\n`);
    for (const [k, us] of rows)
      process.stdout.write(
        `| ${k.replace(/\|/g, '\\|')} | ${(us / 1000).toFixed(0)} | ${((us / total) * 100).toFixed(1)} |\n`,
      );
    return;
  }
  process.stdout.write(`\n${title} (total ${(total / 1000).toFixed(0)} ms)\n`);
  for (const [name, us] of rows) {
    process.stdout.write(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}\n`,
    );
  }
}

export function main(argv: string[]) {
  const markdown = argv.includes('--markdown');
  const ti = argv.indexOf('--threads');
  const threads = ti >= 0 ? Number(argv[ti + 1]) : undefined;
  const valueAt = new Set(
    ['--threads', '--checkout'].filter((f) => argv.includes(f)).map((f) => argv.indexOf(f) + 1),
  );
  const rest = argv.filter((a, i) => !a.startsWith('--') && !valueAt.has(i));
  const target = rest[0] ?? join(root, 'bench/out/events-200000');
  const top = Number(rest[1] ?? 30);
  const ci = argv.indexOf('--checkout');
  const checkout = ci >= 0 ? resolve(argv[ci + 1]!) : undefined;
  const files = statSync(target).isDirectory() ? run(target, threads, checkout) : [target];
  const t: Totals = { total: 0, perFunction: new Map(), perFile: new Map(), perStage: new Map() };
  for (const f of files) accumulate(JSON.parse(readFileSync(f, 'utf8')) as Profile, t);
  if (markdown)
    process.stdout.write(
      `\nCPU profile of ${files.length} thread(s), ${(t.total / 1e6).toFixed(2)} s sampled\n`,
    );
  table('self time by stage', t.perStage, t.total, 20, markdown);
  table('self time by function', t.perFunction, t.total, top, markdown);
  if (!markdown) table('self time by file', t.perFile, t.total, top, false);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2));
