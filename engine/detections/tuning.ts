/**
 * Applies tuning files to compiled rules: disable, severity overrides and exclusions, by rule id.
 *
 *   overrides:
 *     - id: sigma:77caf516-…            # any rule: own, Sigma, CloudGrappler, custom
 *       reason: SSO sign-ins carry no MFA flag; the IdP enforces MFA
 *       severity: low
 *       exclude: [sso_session]          # named conditions from rules/context/
 *       excludePrincipals: ['arn:aws:iam::*:role/ci-*']
 *       excludeWhere: { field: errorCode, exists: true }
 *
 * An exclusion narrows the rule's event-level condition (all(condition, not(any(exclusions)))), so the rule keeps
 * its eventSource/eventName index and other compilers still see one condition tree.
 */

import type { RuleProblem } from '../rule-yaml.ts';
import type { CompiledRule } from './compiled-rule.ts';
import {
  type CompileContext,
  type ConditionInput,
  type CondNode,
  compileCondition,
  fieldsRead,
  toPredicate,
} from './condition.ts';
import { observeTimeFieldProblem } from './cross-session.ts';
import { field as eventField, or } from './event-filter.ts';
import { globToRegExp } from './glob.ts';
import type { Tuning } from './rule-schema.ts';

export interface TuningFile {
  file: string;
  tuning: Tuning;
  lineOf: (path: (string | number)[]) => number;
}

export interface TunedRules {
  rules: CompiledRule[];
  disabled: { id: string; reason: string }[];
  /** Which overrides applied to which rule, for `rules coverage` and finding explanations. */
  overridden: Map<string, string[]>;
  problems: RuleProblem[];
}

export function applyTuning(
  rules: readonly CompiledRule[],
  files: readonly TuningFile[],
  ctx: CompileContext,
): TunedRules {
  const problems: RuleProblem[] = [];
  const byId = new Map(rules.map((r) => [r.id, r]));
  const disabled: { id: string; reason: string }[] = [];
  const overridden = new Map<string, string[]>();
  const unknown = (f: TuningFile, path: (string | number)[], id: string) =>
    problems.push({
      file: f.file,
      line: f.lineOf(path),
      message: `tuning names rule '${id}', which does not exist (removed or renamed upstream?)`,
    });
  for (const f of files) {
    f.tuning.disabled.forEach((d, i) => {
      if (!byId.has(d.id)) unknown(f, ['disabled', i, 'id'], d.id);
      else disabled.push(d);
    });
    f.tuning.overrides.forEach((o, i) => {
      const rule = byId.get(o.id);
      if (!rule) {
        unknown(f, ['overrides', i, 'id'], o.id);
        return;
      }
      const parts: CondNode[] = [];
      const exclusion = (input: ConditionInput, key: 'exclude' | 'excludeWhere') => {
        try {
          const part = compileCondition(input, ctx);
          const refused = rule.threshold?.acrossSessions
            ? observeTimeFieldProblem(fieldsRead(part))
            : undefined;
          if (refused) throw new Error(`rule ${rule.id}: this exclusion ${refused}`);
          parts.push(part);
        } catch (e) {
          problems.push({
            file: f.file,
            line: f.lineOf(['overrides', i, key]),
            message: (e as Error).message,
          });
        }
      };
      for (const name of o.exclude) exclusion({ ref: name }, 'exclude');
      if (o.excludePrincipals.length) parts.push(principalNode(o.excludePrincipals));
      if (o.excludeWhere) exclusion(o.excludeWhere, 'excludeWhere');
      const tuned = narrow(rule, parts);
      if (o.severity) {
        tuned.severity = o.severity;
        if (!o.severityOnError && severityRank(tuned.severityOnError) > severityRank(o.severity))
          tuned.severityOnError = o.severity;
      }
      if (o.severityOnError) tuned.severityOnError = o.severityOnError;
      byId.set(rule.id, tuned);
      overridden.set(rule.id, [...(overridden.get(rule.id) ?? []), `${o.reason} (${f.file})`]);
    });
  }
  return { rules: rules.map((r) => byId.get(r.id)!), disabled, overridden, problems };
}

const RANK = { info: 0, low: 1, medium: 2, high: 3, critical: 4 } as const;
function severityRank(s: keyof typeof RANK): number {
  return RANK[s];
}

/** A copy of the rule whose events (or every sequence step's) must also match none of `exclusions`. */
function narrow(rule: CompiledRule, exclusions: CondNode[]): CompiledRule {
  if (exclusions.length === 0) return { ...rule };
  const unless: CondNode = {
    kind: 'not',
    child: exclusions.length === 1 ? exclusions[0]! : { kind: 'any', children: exclusions },
  };
  if (rule.sequence) {
    const steps = rule.sequence.steps.map((s) => {
      const condition: CondNode = { kind: 'all', children: [s.condition, unless] };
      return { ...s, condition, match: toPredicate(condition) };
    });
    return { ...rule, sequence: { ...rule.sequence, steps } };
  }
  if (!rule.condition) return { ...rule };
  const condition: CondNode = { kind: 'all', children: [rule.condition, unless] };
  return { ...rule, condition, match: toPredicate(condition) };
}

/** Principal globs against the caller's ARN, user name and session issuer (as the allow-lists read them). */
function principalNode(globs: string[]): CondNode {
  const res = globs.map(globToRegExp);
  const fields = [
    'userIdentity.arn',
    'userIdentity.userName',
    'userIdentity.sessionContext.sessionIssuer.arn',
  ];
  return {
    kind: 'any',
    children: fields.map((field) => ({
      kind: 'test' as const,
      field,
      test: (values: unknown[]) => {
        for (const v of values) if (typeof v === 'string' && res.some((r) => r.test(v))) return true;
        return false;
      },
      // For stores that filter before Cartographer reads (pushdown.ts): the same globs as patterns.
      describe: {
        filter: or(res.map((r) => eventField(field, 'regex', [r.source], { ignoreCase: true }))),
        exact: true,
      },
    })),
  };
}
