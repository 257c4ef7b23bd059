/** The `.json` files below `dir`, depth first, in name order (what the benchmarks read as a corpus). */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (name.endsWith('.json')) out.push(p);
  }
  return out;
}
