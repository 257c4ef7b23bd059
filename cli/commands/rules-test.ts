/**
 * `cartographer rules test [RULE_ID…]`: runs every rule's test events (rules/<family>/tests/*.yaml) through the
 * real pipeline and prints pass/fail per rule; exits 1 when a case fails or a rule lacks its tests.
 */
import { createDetector, DEFAULT_RULES_ROOT } from '../../adapters/rules/detection-rules.ts';
import { readRuleTests } from '../../adapters/rules/rule-files.ts';
import {
  type CaseOutcome,
  loadRuleTests,
  type RuleTestReport,
  reportRuleTests,
  runRuleTest,
} from '../../engine/detections/rule-tests.ts';

export interface RuleTestRun {
  reports: RuleTestReport[];
  cases: number;
  /** Test files that do not validate (file:line: message). */
  problems: string[];
  /** Cases of rules switched off by tuning (not run). */
  skipped: number;
}

/** Runs the tests of `only` (rule ids; all when empty). Used by the command and by the test suite. */
export async function runRuleTests(options: {
  rulesDir?: string;
  extraRuleDirs?: string[];
  only?: string[];
}): Promise<RuleTestRun> {
  const root = options.rulesDir ?? DEFAULT_RULES_ROOT;
  const extra = options.extraRuleDirs ?? [];
  const detector = await createDetector({ rulesDir: root, extraRuleDirs: extra });
  const { createEnricherFactory } = await import('../../enrichment/index.ts');
  const makeEnricher = await createEnricherFactory();
  const loaded = loadRuleTests(readRuleTests(root, extra));
  const wanted = options.only?.length ? new Set(options.only) : undefined;
  const active = new Set(detector.rules.map((r) => r.id));
  const off = new Set(detector.disabled.map((d) => d.id));
  const selected = loaded.cases.filter((c) => !wanted || wanted.has(c.rule));
  const outcomes: CaseOutcome[] = [];
  for (const c of selected.filter((x) => active.has(x.rule))) {
    outcomes.push(await runRuleTest(c, detector, async () => makeEnricher()));
  }
  const unknown = selected.filter((c) => !active.has(c.rule) && !off.has(c.rule));
  const rules = detector.rules.filter((r) => !wanted || wanted.has(r.id));
  return {
    reports: reportRuleTests(rules, outcomes, unknown),
    cases: outcomes.length,
    problems: loaded.problems.map((p) => `${p.file}:${p.line}: ${p.message}`),
    skipped: selected.filter((c) => off.has(c.rule)).length,
  };
}

export function formatRuleTests(run: RuleTestRun): string {
  const lines: string[] = [];
  for (const r of run.reports) {
    const ok = r.problems.length === 0;
    lines.push(
      `${ok ? 'PASS' : 'FAIL'}  ${r.rule}  ${r.passed}/${r.passed + r.failed} cases (${r.positives} firing, ${r.negatives} quiet)`,
    );
    for (const p of r.problems) lines.push(`      ${p}`);
  }
  for (const p of run.problems) lines.push(`ERROR ${p}`);
  const failing = run.reports.filter((r) => r.problems.length > 0).length;
  const byProvenance = (p: string) => run.reports.filter((r) => r.provenance === p).length;
  lines.push(
    `${run.reports.length - failing}/${run.reports.length} rules pass (own ${byProvenance('own')}, sigma ${byProvenance('sigma')}, cloudgrappler ${byProvenance('cloudgrappler')}, custom ${byProvenance('custom')}); ${run.cases} cases run${run.skipped ? `, ${run.skipped} of rules switched off skipped` : ''}${run.problems.length ? `; ${run.problems.length} test file problem(s)` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}

export function ruleTestsFailed(run: RuleTestRun): boolean {
  return run.problems.length > 0 || run.reports.some((r) => r.problems.length > 0);
}
