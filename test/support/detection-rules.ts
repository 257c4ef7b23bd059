/** One way to build a detection rule in a test: the schema's own validation, then the real compiler. */
import { type CompiledAllowList, compileAllowList } from '../../engine/detections/allowlist.ts';
import { type CompiledRule, compileRule } from '../../engine/detections/compiled-rule.ts';
import type { CompileContext } from '../../engine/detections/condition.ts';
import { createRuleDetector } from '../../engine/detections/detector.ts';
import type {
  DetectionRuleInput,
  EventRuleSchema,
  ThresholdRuleSchema,
} from '../../engine/detections/rule-schema.ts';
import type { PipelineStages } from '../../engine/stages.ts';

/** The fields a test rule has unless its body says otherwise (what the Athena counting tests compare findings on). */
export const RULE_DEFAULTS: Record<string, unknown> = {
  description: 'test rule.',
  severity: 'medium',
  severityOnError: 'low',
  show: ['userAgent'],
};

export interface TestRuleOptions {
  /** The title; the id when left out. */
  title?: string;
  /** The fields under the body; RULE_DEFAULTS when left out. */
  defaults?: Record<string, unknown>;
  /** Named lists and known accounts, for rules that use them. */
  ctx?: CompileContext;
}

export function testRule(
  schema: typeof EventRuleSchema | typeof ThresholdRuleSchema,
  id: string,
  body: Record<string, unknown>,
  { title = id, defaults = RULE_DEFAULTS, ctx }: TestRuleOptions = {},
): CompiledRule {
  const input = schema.parse({ id, title, ...defaults, ...body }) as DetectionRuleInput;
  return compileRule(input, 'test.yaml:1', () => [], undefined, ctx);
}

/** Pipeline stages whose only stage is a detector of `rules` (what the digest's counting and bursts look at). */
export function ruleStages(
  rules: CompiledRule[],
  allow: CompiledAllowList = compileAllowList(),
): PipelineStages {
  const detector = Object.assign(createRuleDetector(rules, allow), { rules, currentAllow: () => allow });
  return { detector } as unknown as PipelineStages;
}
