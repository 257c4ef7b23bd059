/** A small ATT&CK table (rules/attack.yaml format) for rule roots made by tests: the real tactics, given techniques. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { TEST_DIR } from './paths.ts';

const REAL = parse(readFileSync(join(TEST_DIR, '..', 'rules', 'attack.yaml'), 'utf8')) as {
  tactics: unknown[];
};

/** Writes `<root>/attack.yaml`; `techniques` is the YAML text of the `techniques:` mapping's entries. */
export function writeAttackTable(root: string, techniques: string): void {
  const tactics = REAL.tactics.map((t) => `  - ${JSON.stringify(t)}`).join('\n');
  writeFileSync(join(root, 'attack.yaml'), `tactics:\n${tactics}\ntechniques:\n${techniques}`);
}
