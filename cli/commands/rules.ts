/**
 * `cartographer rules check [rules-dir]`: validates every rule file and prints `file:line: message`.
 *
 * Each rule family plugs in one checker below; a checker gets the rules root (default `rules/`) and
 * returns its problems. Exit code 1 when any error is found (warnings alone pass).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSignalRules } from '../../engine/signals/rules.ts';
import type { RuleProblem } from '../../engine/signals/yaml-file.ts';

export type { RuleProblem } from '../../engine/signals/yaml-file.ts';
export type RuleChecker = (rulesRoot: string) => Promise<RuleProblem[]>;

export const checkSignalRules: RuleChecker = async (rulesRoot) => {
  const dir = join(rulesRoot, 'signals');
  if (!existsSync(dir)) return [{ file: dir, line: 0, message: 'no signals/ folder here' }];
  return (await loadSignalRules(dir)).problems;
};

/** One line per rule family. */
export const checkers: { name: string; check: RuleChecker }[] = [
  { name: 'signals', check: checkSignalRules },
  {
    name: 'detections',
    check: async (root) => (await import('../../engine/detections/index.ts')).checkDetectionRules(root),
  },
];

const DEFAULT_RULES_ROOT = fileURLToPath(new URL('../../rules', import.meta.url));

export const usage = `usage: cartographer rules check [rules-dir] [--format text|json] [--errors-only]

Validates every rule file under rules-dir (default: the bundled rules/) and reports each problem as
file:line: message. Exits 1 when there is any error; warnings alone exit 0.`;

export async function run(argv: string[]): Promise<number> {
  const args = [...argv];
  const sub = args.shift();
  if (sub !== 'check') {
    process.stderr.write(`${usage}\n`);
    return sub === '--help' || sub === '-h' ? 0 : 2;
  }
  let format = 'text';
  let errorsOnly = false;
  let root: string | undefined;
  while (args.length > 0) {
    const a = args.shift() as string;
    if (a === '--format') format = args.shift() ?? 'text';
    else if (a === '--errors-only') errorsOnly = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${usage}\n`);
      return 0;
    } else if (a.startsWith('-')) {
      process.stderr.write(`rules check: unknown option '${a}'\n${usage}\n`);
      return 2;
    } else root = a;
  }
  const rulesRoot = resolve(root ?? DEFAULT_RULES_ROOT);
  if (!existsSync(rulesRoot)) {
    process.stderr.write(`rules check: no such folder: ${rulesRoot}\n`);
    return 2;
  }
  const problems: (RuleProblem & { checker: string })[] = [];
  for (const c of checkers) {
    try {
      for (const p of await c.check(rulesRoot)) problems.push({ ...p, checker: c.name });
    } catch (err) {
      problems.push({
        checker: c.name,
        file: rulesRoot,
        line: 0,
        message: `checker failed: ${(err as Error).message}`,
      });
    }
  }
  const shown = errorsOnly ? problems.filter((p) => p.severity !== 'warning') : problems;
  const errors = problems.filter((p) => p.severity !== 'warning').length;
  if (format === 'json') {
    process.stdout.write(
      `${JSON.stringify({ errors, warnings: problems.length - errors, problems: shown }, null, 2)}\n`,
    );
  } else {
    for (const p of shown) {
      process.stdout.write(
        `${p.file}:${p.line}: ${p.severity === 'warning' ? 'warning' : 'error'}: ${p.message}\n`,
      );
    }
    process.stdout.write(
      `${errors} error(s), ${problems.length - errors} warning(s) in ${checkers.map((c) => c.name).join(', ')} rules\n`,
    );
  }
  return errors > 0 ? 1 : 0;
}
