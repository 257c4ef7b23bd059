/**
 * Rule test events, kept beside the rules (`<family>/tests/*.yaml`):
 *
 *   tests:
 *     - rule: cartographer.cloudtrail-stopped-or-deleted
 *       name: a user stops the organisation trail
 *       fires: true                 # the rule must raise a finding (false: it must not)
 *       severity: high              # optional: the finding's severity
 *       events:                     # CloudTrail records, in order; each is checked like ingested input
 *         - { eventVersion: '1.08', eventSource: cloudtrail.amazonaws.com, eventName: StopLogging, … }
 *
 * Each case runs alone through the real pipeline (sessions, enrichment, detections) with a detector that has seen
 * nothing else. Own and custom rules need at least one case that fires and one that must not; third-party rules
 * need at least one that fires.
 */
import { z } from 'zod';
import { checkRecord } from '../ingest/record-check.ts';
import type { Finding } from '../model.ts';
import { SEVERITIES } from '../model.ts';
import { analyze } from '../pipeline.ts';
import { type RuleProblem, validate } from '../rule-yaml.ts';
import type { SourceItem } from '../source.ts';
import type { Enricher } from '../stages.ts';
import type { CompiledRule, Provenance } from './compiled-rule.ts';
import type { CartographerDetector, RuleText } from './index.ts';

export const RuleTestSchema = z.strictObject({
  rule: z.string().min(1),
  name: z.string().min(1),
  fires: z.boolean(),
  /** Where recorded events come from (data set and file); synthesised cases have none. */
  source: z.string().min(1).optional(),
  severity: z.enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical']).optional(),
  events: z.array(z.record(z.string(), z.unknown())).min(1),
});
export const RuleTestFileSchema = z.strictObject({ tests: z.array(RuleTestSchema).default([]) });
export type RuleTest = z.infer<typeof RuleTestSchema>;

export interface RuleTestCase extends RuleTest {
  file: string;
  line: number;
}

export interface CaseOutcome {
  test: RuleTestCase;
  passed: boolean;
  /** Why it failed, or what it found. */
  detail: string;
}

export interface RuleTestReport {
  rule: string;
  provenance: Provenance;
  positives: number;
  negatives: number;
  passed: number;
  failed: number;
  /** Failed cases and missing tests, one line each. */
  problems: string[];
}

export function loadRuleTests(texts: readonly RuleText[]): {
  cases: RuleTestCase[];
  problems: RuleProblem[];
} {
  const cases: RuleTestCase[] = [];
  const problems: RuleProblem[] = [];
  for (const t of texts) {
    const r = validate(t.file, t.text, RuleTestFileSchema);
    if (!r.ok) {
      problems.push(...r.problems);
      continue;
    }
    r.value.tests.forEach((c, i) => {
      cases.push({ ...c, file: t.file, line: r.lineOf(['tests', i]) });
    });
  }
  return { cases, problems };
}

async function* recordsOf(test: RuleTestCase, bad: string[]): AsyncGenerator<SourceItem> {
  for (const [i, raw] of test.events.entries()) {
    const checked = checkRecord(raw);
    if (checked.ok)
      yield { kind: 'record', record: checked.record, origin: { file: test.file, position: i + 1 } };
    else bad.push(`event ${i + 1}: ${checked.reason}`);
  }
}

export async function runRuleTest(
  test: RuleTestCase,
  detector: CartographerDetector,
  enricher: () => Promise<Enricher>,
): Promise<CaseOutcome> {
  const bad: string[] = [];
  const analysis = analyze(recordsOf(test, bad), { enricher: await enricher(), detector: detector.fresh() });
  const findings: Finding[] = [];
  for await (const s of analysis.sessions) findings.push(...s.findings);
  if (bad.length) return { test, passed: false, detail: `not valid CloudTrail: ${bad.join('; ')}` };
  const mine = findings.filter((f) => f.ruleId === test.rule);
  if (!test.fires) {
    return mine.length === 0
      ? { test, passed: true, detail: 'quiet' }
      : { test, passed: false, detail: `fired (${mine[0]!.severity}): ${mine[0]!.explanation}` };
  }
  if (mine.length === 0) {
    const other = [...new Set(findings.map((f) => f.ruleId))].slice(0, 5).join(', ');
    return { test, passed: false, detail: `did not fire${other ? ` (fired instead: ${other})` : ''}` };
  }
  if (test.severity && !mine.some((f) => f.severity === test.severity)) {
    return {
      test,
      passed: false,
      detail: `fired at ${mine.map((f) => f.severity).join(', ')}, expected ${test.severity}`,
    };
  }
  return { test, passed: true, detail: `fired (${mine[0]!.severity})` };
}

/** Per rule: cases passed and failed, and the tests it lacks. `only` limits the report to some rule ids. */
export function reportRuleTests(
  rules: readonly CompiledRule[],
  outcomes: readonly CaseOutcome[],
  unknown: readonly RuleTestCase[],
): RuleTestReport[] {
  const byRule = new Map<string, CaseOutcome[]>();
  for (const o of outcomes) byRule.set(o.test.rule, [...(byRule.get(o.test.rule) ?? []), o]);
  const reports = rules.map((r): RuleTestReport => {
    const mine = byRule.get(r.id) ?? [];
    const positives = mine.filter((o) => o.test.fires).length;
    const negatives = mine.length - positives;
    const problems = mine
      .filter((o) => !o.passed)
      .map(
        (o) =>
          `${o.test.file}:${o.test.line}: '${o.test.name}' (${o.test.fires ? 'fires' : 'quiet'}): ${o.detail}`,
      );
    if (positives === 0) problems.push('no test where it fires');
    if (negatives === 0 && (r.provenance === 'own' || r.provenance === 'custom'))
      problems.push('no test where it stays quiet');
    return {
      rule: r.id,
      provenance: r.provenance,
      positives,
      negatives,
      passed: mine.filter((o) => o.passed).length,
      failed: mine.filter((o) => !o.passed).length,
      problems,
    };
  });
  for (const u of unknown) {
    reports.push({
      rule: u.rule,
      provenance: 'custom',
      positives: 0,
      negatives: 0,
      passed: 0,
      failed: 1,
      problems: [
        `${u.file}:${u.line}: test '${u.name}' names a rule that is not loaded (or is switched off)`,
      ],
    });
  }
  return reports;
}
