/**
 * `cartographer rules check [rules-dir]`: validates every rule file and prints `file:line: message`.
 *
 * Each rule family plugs in one checker below; a checker gets the rules root (default `rules/`) and
 * returns its problems. Exit code 1 when any error is found (warnings alone pass).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { toEngineEvent } from '../../engine/events.ts';
import type { EngineEvent } from '../../engine/model.ts';
import { formatOrigin } from '../../engine/record.ts';
import { createSignalMapper } from '../../engine/signals/index.ts';
import { loadSignalRules } from '../../engine/signals/rules.ts';
import type { RuleProblem } from '../../engine/signals/yaml-file.ts';
import { createLocalSource } from '../../engine/sources/local-source.ts';
import type { SessionContext } from '../../engine/stages.ts';

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
    check: async (root) =>
      (await import('../../adapters/rules/detection-rules.ts')).checkDetectionRules(root),
  },
];

const DEFAULT_RULES_ROOT = fileURLToPath(new URL('../../rules', import.meta.url));

export const usage = `usage: cartographer rules check [rules-dir] [--format text|json] [--errors-only]
       cartographer rules test [RULE_ID…] [--rules DIR]… [--format text|json]
       cartographer rules coverage [--rules DIR]… [--format text|json]
       cartographer rules explain <file|dir>… [--from TIME] [--to TIME] [--rules signals-dir]

check     validates every rule file under rules-dir (default: the bundled rules/) and reports each
          problem as file:line: message (tuning that names a rule that no longer exists included).
          Exits 1 when there is any error; warnings (expired list entries …) alone exit 0.
test      runs each rule's test events (rules/<family>/tests/*.yaml, and DIR/tests/ for --rules DIR)
          through the pipeline, each case on its own, and prints pass/fail per rule. A rule fails when
          a case fails or it lacks a case where it fires (and, for own rules, one where it stays quiet).
          Exits 1 when any rule fails.
coverage  the ATT&CK techniques and tactics the rules cover, by which rules, and what has no rule.
explain   reads CloudTrail (any supported format) as one console session and prints, per event, its
          user-agent family, the labels the rules give it and the action that took it (rule writing aid).`;

export async function run(argv: string[]): Promise<number> {
  const args = [...argv];
  const sub = args.shift();
  if (sub === 'explain') return explain(args);
  if (sub === 'test' || sub === 'coverage') return testOrCoverage(sub, args);
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

async function explain(args: string[]): Promise<number> {
  const parse = () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { from: { type: 'string' }, to: { type: 'string' }, rules: { type: 'string' } },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    process.stderr.write(`rules explain: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  if (parsed.positionals.length === 0) {
    process.stderr.write(`rules explain: name at least one file or folder\n${usage}\n`);
    return 2;
  }
  const mapper = await createSignalMapper(
    parsed.values.rules ? { rulesDir: resolve(parsed.values.rules) } : {},
  );
  for (const p of mapper.problems.filter((x) => x.severity !== 'warning')) {
    process.stderr.write(`${p.file}:${p.line}: error: ${p.message}\n`);
  }
  const events: EngineEvent[] = [];
  for await (const item of createLocalSource(parsed.positionals).read({})) {
    if (item.kind === 'record') events.push(toEngineEvent(item.record, events.length));
    else if (item.kind === 'rejected')
      process.stderr.write(`skipped ${formatOrigin(item.origin)}: ${item.reason}\n`);
  }
  const session: SessionContext = {
    key: 'explain',
    kind: 'console',
    principal: {},
    accessKeyIds: [],
    sourceIps: [],
    userAgents: [],
    regions: [],
  };
  const from = parsed.values.from;
  const to = parsed.values.to;
  for (const x of mapper.explain(session, events)) {
    const time = x.event.record.eventTime;
    if ((from && time < from) || (to && time > to)) continue;
    const took = x.signal ? `${x.signal.id}${x.signal.suppressed ? ' (hidden)' : ''}` : 'unmapped';
    process.stdout.write(
      `${time}  ${x.event.id.slice(0, 8)}  ${x.key.padEnd(44)} ${x.family.padEnd(18)} → ${took}${x.labels.length ? `   [${x.labels.join(', ')}]` : ''}\n`,
    );
  }
  return 0;
}

async function testOrCoverage(sub: 'test' | 'coverage', args: string[]): Promise<number> {
  const parse = () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { rules: { type: 'string', multiple: true }, format: { type: 'string' } },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (err) {
    process.stderr.write(`rules ${sub}: ${(err as Error).message}\n${usage}\n`);
    return 2;
  }
  const format = parsed.values.format ?? 'text';
  if (format !== 'text' && format !== 'json') {
    process.stderr.write(`rules ${sub}: --format must be text or json (got '${format}')\n`);
    return 2;
  }
  const extraRuleDirs = (parsed.values.rules ?? []).map((d) => resolve(d));
  for (const d of extraRuleDirs) {
    if (!existsSync(d)) {
      process.stderr.write(`rules ${sub}: no such folder: ${d}\n`);
      return 2;
    }
  }
  if (sub === 'coverage') {
    const { computeCoverage, formatCoverage } = await import('./rules-coverage.ts');
    const c = await computeCoverage({ extraRuleDirs });
    process.stdout.write(format === 'json' ? `${JSON.stringify(c, null, 2)}\n` : formatCoverage(c));
    return 0;
  }
  const { formatRuleTests, ruleTestsFailed, runRuleTests } = await import('./rules-test.ts');
  const run = await runRuleTests({ extraRuleDirs, only: parsed.positionals });
  process.stdout.write(format === 'json' ? `${JSON.stringify(run, null, 2)}\n` : formatRuleTests(run));
  return ruleTestsFailed(run) ? 1 : 0;
}
