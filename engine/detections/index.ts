/**
 * Detections: Cartographer's own rules (rules/detections/*.yaml), SigmaHQ CloudTrail rules (rules/sigma/*.yml,
 * unchanged) and CloudGrappler indicators (rules/cloudgrappler), compiled once into one indexed rule set, plus
 * tuning, org context, allow-lists and the session risk score. Pure: adapters/rules/ reads the files.
 *
 *   const loaded = compileRuleSet(sources);                  // every problem as file:line
 *   const detector = buildDetector(loaded, { allow });       // throws DetectionRulesError on a bad rule
 *   detector.detect(session, events, signals) → Finding[]
 *   detector.begin({ latenessMs }) → the same for one pipeline run, fed every event as it arrives (observe), so
 *                                    thresholds counted across sessions do not depend on arrival order
 *   detector.score(session, findings) → { score, reasons }
 */

import { formatProblem, type RuleProblem } from '../rule-yaml.ts';
import type { Detector } from '../stages.ts';
import { type CompiledAllowList, compileAllowList } from './allowlist.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { type AllowSource, createRuleDetector } from './detector.ts';
import type { CompiledList } from './lists.ts';
import type { LoadedRules, UnsupportedRule } from './rule-set.ts';

export type { RuleProblem } from '../rule-yaml.ts';
export type { CompiledRule, Provenance } from './compiled-rule.ts';
export type { AllowSource } from './detector.ts';
export { scoreSession } from './risk.ts';
export {
  compileRuleSet,
  type LoadedRules,
  type RuleFolder,
  type RuleSources,
  type RuleText,
  type UnsupportedRule,
} from './rule-set.ts';

import { CartographerError } from '../errors.ts';

export class DetectionRulesError extends CartographerError {
  readonly code = 'rules';
  override readonly name = 'DetectionRulesError';
  constructor(readonly problems: RuleProblem[]) {
    super(`detection rules have ${problems.length} problem(s):\n${problems.map(formatProblem).join('\n')}`);
  }
}

export type CartographerDetector = Detector & {
  /** The rules that run. */
  readonly rules: readonly CompiledRule[];
  readonly disabled: readonly { id: string; reason: string }[];
  readonly problems: readonly RuleProblem[];
  readonly unsupported: readonly UnsupportedRule[];
  /** Rule id → the tuning overrides applied to it. */
  readonly overridden: ReadonlyMap<string, string[]>;
  readonly lists: ReadonlyMap<string, CompiledList>;
  /** A new detector on the same compiled rules with no memory of earlier sessions (cheap: no recompiling). */
  fresh(): CartographerDetector;
  /** The global allow-list as it is now (a live one changes when an analyst marks something benign). */
  currentAllow(): CompiledAllowList;
};

export interface BuildOptions {
  /** Build despite errors (bad rules are not loaded; `problems` lists them). */
  lenient?: boolean;
  /** The global allow-list, live or fixed (default: the allow-lists the rule set was compiled with). */
  allow?: AllowSource;
}

export function errorsOf(problems: readonly RuleProblem[]): RuleProblem[] {
  return problems.filter((p) => p.severity !== 'warning');
}

export function buildDetector(loaded: LoadedRules, options: BuildOptions = {}): CartographerDetector {
  const errors = errorsOf(loaded.problems);
  if (errors.length > 0 && !options.lenient) throw new DetectionRulesError(errors);
  const off = new Set(loaded.disabled.map((d) => d.id));
  // Sigma base rules that only feed a correlation raise nothing themselves.
  const active = loaded.rules.filter((r) => !off.has(r.id) && !r.silent);
  const allow = options.allow ?? compileAllowList(...loaded.allowLists);
  const make = (): CartographerDetector =>
    Object.assign(createRuleDetector(active, allow), {
      rules: active,
      disabled: loaded.disabled,
      problems: loaded.problems,
      unsupported: loaded.unsupported,
      overridden: loaded.overridden,
      lists: loaded.lists,
      fresh: make,
      currentAllow: () => (typeof allow === 'function' ? allow() : allow),
    });
  return make();
}
