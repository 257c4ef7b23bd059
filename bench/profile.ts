/**
 * Self time per function from a V8 CPU profile (`node --cpu-prof`), heaviest first:
 *   node --cpu-prof --cpu-prof-dir=bench/out/prof bin/run-ts.js bench/pipeline-worker.ts bench/out/events-100000
 *   node bin/run-ts.js bench/profile.ts bench/out/prof/<file>.cpuprofile [top=40]
 * Also sums self time per source file and per area (engine/signals, enrichment, a dependency, GC…).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: profile.ts <file.cpuprofile> [top]');
const top = Number(topArg ?? 40);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const rootUrl = `${pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), '..')).href}/`;
const shortUrl = (url: string) => (url.startsWith(rootUrl) ? url.slice(rootUrl.length) : url) || '(native)';
const perFunction = new Map<string, number>();
const perFile = new Map<string, number>();
const perArea = new Map<string, number>();
/** The project folder a file belongs to (engine/signals, enrichment…); dependencies and Node by package. */
function areaOf(where: string, functionName: string): string {
  if (where === '(native)') return `(native) ${functionName.startsWith('(') ? functionName : 'builtins'}`;
  const own = /^(engine\/[a-z]+\/|engine\/|enrichment\/|bot\/|adapters\/|cli\/|bench\/)/.exec(where);
  if (own) return own[1] === 'engine/' ? where : own[1]!.replace(/\/$/, '');
  const dep = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where);
  if (dep) return `dependency ${dep[1]}`;
  return where.startsWith('node:') ? 'node internals' : where;
}
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  const where = shortUrl(f.url);
  const name = `${f.functionName || '(anonymous)'}  ${where}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  perFunction.set(name, (perFunction.get(name) ?? 0) + us);
  perFile.set(where, (perFile.get(where) ?? 0) + us);
  const area = areaOf(where, f.functionName);
  perArea.set(area, (perArea.get(area) ?? 0) + us);
}

function print(title: string, m: Map<string, number>) {
  process.stdout.write(`\n${title} (total ${(total / 1000).toFixed(0)} ms)\n`);
  for (const [name, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `${((us / total) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}\n`,
    );
  }
}
print('self time per function', perFunction);
print('self time per file', perFile);
print('self time per area', perArea);
