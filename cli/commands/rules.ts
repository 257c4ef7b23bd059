/**
 * `cartographer rules check [rules-dir]`: validates every rule file and prints `file:line: message`.
 *
 * Each rule family plugs in one checker below; a checker gets the rules root (default `rules/`) and
 * returns its problems. Exit code 1 when any error is found (warnings alone pass).
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../engine/errors.ts';
import { toEngineEvent } from '../../engine/events.ts';
import type { EngineEvent } from '../../engine/model.ts';
import { formatOrigin } from '../../engine/record.ts';
import type { RuleProblem } from '../../engine/rule-yaml.ts';
import { createSignalMapper } from '../../engine/signals/index.ts';
import { loadSignalRules } from '../../engine/signals/rules.ts';
import { createLocalSource } from '../../engine/sources/local-source.ts';
import type { SessionContext } from '../../engine/stages.ts';
import { parseCommandLine } from '../args.ts';

export type { RuleProblem } from '../../engine/rule-yaml.ts';
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
  {
    name: 'athena pushdown',
    check: async (root) =>
      (await import('../../adapters/aws/athena-pushdown-report.ts')).pushdownProblems(root),
  },
];

// realpath: compiled code reaches rules/ through the dist/rules link; problems name the file to edit.
const DEFAULT_RULES_ROOT = realpathSync(fileURLToPath(new URL('../../rules', import.meta.url)));

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
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    if (sub === 'explain') return await explain(args);
    if (sub === 'check') return await check(args);
    if (sub === 'test' || sub === 'coverage') return await testOrCoverage(sub, args);
  } catch (e) {
    if (e instanceof UsageError) return usageError(e.message);
    throw e;
  }
  return usageError(
    sub === undefined
      ? 'name a sub-command: check, test, coverage or explain'
      : `unknown sub-command '${sub}'`,
  );
}

function usageError(message: string): number {
  process.stderr.write(`cartographer rules: ${message}\n\n${usage}\n`);
  return 2;
}

/** A rules folder given on the command line must exist and be readable: otherwise a usage error. */
function readableFolder(path: string, what: string): string {
  const full = resolve(path);
  try {
    if (!statSync(full).isDirectory()) throw new UsageError(`${what} ${path} is not a folder`);
    accessSync(full, constants.R_OK | constants.X_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot read ${what} ${path}: ${code === 'ENOENT' ? 'no such folder' : code === 'EACCES' ? 'permission denied' : code}`,
    );
  }
  return full;
}

async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    format: { type: 'string' },
    'errors-only': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format must be text or json (got '${format}')`);
  if (positionals.length > 1) throw new UsageError(`one rules folder at most (got ${positionals.length})`);
  const errorsOnly = values['errors-only'] ?? false;
  const rulesRoot = positionals[0] ? readableFolder(positionals[0], 'rules folder') : DEFAULT_RULES_ROOT;
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
  const parsed = parseCommandLine(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    rules: { type: 'string' },
  });
  if (parsed.positionals.length === 0) throw new UsageError('explain: name at least one file or folder');
  for (const option of ['from', 'to'] as const) {
    const t = parsed.values[option];
    if (t !== undefined && !Number.isFinite(Date.parse(t)))
      throw new UsageError(`--${option} must be an ISO time such as 2023-07-10T11:45:00Z (got '${t}')`);
  }
  const rulesDir = parsed.values.rules
    ? readableFolder(parsed.values.rules, 'signal rules folder')
    : undefined;
  const missing = parsed.positionals.find((p) => p !== '-' && !existsSync(p));
  if (missing !== undefined) {
    process.stderr.write(`cartographer rules: cannot read ${missing}: no such file or directory\n`);
    return 1;
  }
  const mapper = await createSignalMapper(rulesDir ? { rulesDir } : {});
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

async function testOrCoverage(sub: 'test' | 'coverage', argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, {
    rules: { type: 'string', multiple: true },
    format: { type: 'string' },
  });
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new UsageError(`--format must be text or json (got '${format}')`);
  const extraRuleDirs = (values.rules ?? []).map((d) => readableFolder(d, 'rules folder'));
  if (sub === 'coverage') {
    if (positionals.length > 0)
      throw new UsageError(`rules coverage takes no rule ids (got ${positionals[0]})`);
    const { computeCoverage, formatCoverage } = await import('./rules-coverage.ts');
    const c = await computeCoverage({ extraRuleDirs });
    process.stdout.write(format === 'json' ? `${JSON.stringify(c, null, 2)}\n` : formatCoverage(c));
    return 0;
  }
  const { formatRuleTests, ruleTestsFailed, runRuleTests } = await import('./rules-test.ts');
  const run = await runRuleTests({ extraRuleDirs, only: positionals });
  process.stdout.write(format === 'json' ? `${JSON.stringify(run, null, 2)}\n` : formatRuleTests(run));
  return ruleTestsFailed(run) ? 1 : 0;
}
