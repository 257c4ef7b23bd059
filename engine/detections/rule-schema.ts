/**
 * The detection rule file format (rules/detections/*.yaml), validated with zod at load.
 * See rules/detections/FORMAT.md for the grammar with examples.
 */
import { z } from 'zod';
import { SEVERITIES } from '../model.ts';
import { AllowListSchema } from './allowlist.ts';
import { ConditionSchema, MatchSchema } from './condition.ts';

export const SeveritySchema = z.enum(SEVERITIES as unknown as ['info', 'low', 'medium', 'high', 'critical']);

const techniqueId = z
  .string()
  .regex(/^T\d{4}(\.\d{3})?$/, 'an ATT&CK technique id looks like T1562 or T1562.008');

/** Either `match` (shorthand) or `where` (condition tree), or both (AND). */
const matcher = {
  match: MatchSchema.optional(),
  where: ConditionSchema.optional(),
};

const base = {
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'rule ids are lower-case words joined by . _ or -'),
  title: z.string().min(1),
  description: z.string().min(1),
  severity: SeveritySchema,
  /** Severity when every matching event failed (an attempt, e.g. AccessDenied); default info. */
  severityOnError: SeveritySchema.optional(),
  techniques: z.array(techniqueId).default([]),
  /** Extra tactics beyond those derived from the techniques (e.g. Stratus Red Team's own classification). */
  tactics: z.array(z.string().min(1)).default([]),
  /** Fields to show the analyst (dotted paths), first matching event. */
  show: z.array(z.string().min(1)).default([]),
  allow: AllowListSchema.partial().optional(),
  enabled: z.boolean().default(true),
  references: z.array(z.string()).default([]),
  falsePositives: z.array(z.string()).default([]),
};

export const EventRuleSchema = z
  .strictObject({ ...base, type: z.literal('event').default('event'), ...matcher })
  .refine((r) => r.match || r.where, { message: 'an event rule needs `match` or `where`' });

export const ThresholdRuleSchema = z
  .strictObject({
    ...base,
    type: z.literal('threshold'),
    ...matcher,
    /** Matching events needed within the window (or distinct values of `distinct`). */
    count: z.number().int().min(2),
    windowMinutes: z.number().positive(),
    /** `principal`, `sourceIp`, `session`, or any field path. */
    groupBy: z.string().default('principal'),
    distinct: z.string().optional(),
    /**
     * Also count matching events of earlier sessions (kept for one window): password spraying hits many users,
     * and each failed sign-in can be a session of its own.
     */
    acrossSessions: z.boolean().default(false),
  })
  .refine((r) => r.match || r.where, { message: 'a threshold rule needs `match` or `where`' });

export const SequenceStepSchema = z
  .strictObject({ name: z.string().min(1), ...matcher })
  .refine((s) => s.match || s.where, { message: 'a sequence step needs `match` or `where`' });

export const SequenceRuleSchema = z.strictObject({
  ...base,
  type: z.literal('sequence'),
  steps: z.array(SequenceStepSchema).min(2),
  windowMinutes: z.number().positive(),
  /** Steps must come from one principal (default) or may come from anyone in the session. */
  by: z.enum(['principal', 'session']).default('principal'),
});

export const DetectionRuleSchema = z.union([EventRuleSchema, ThresholdRuleSchema, SequenceRuleSchema]);

export type EventRuleInput = z.infer<typeof EventRuleSchema>;
export type ThresholdRuleInput = z.infer<typeof ThresholdRuleSchema>;
export type SequenceRuleInput = z.infer<typeof SequenceRuleSchema>;
export type DetectionRuleInput = z.infer<typeof DetectionRuleSchema>;

/** One rules file: a theme (`logging-tampering.yaml`, `root.yaml` …) with its rules. */
export const RuleFileSchema = z.strictObject({
  rules: z.array(z.unknown()).min(1),
});

/**
 * Tuning (a `tuning.yaml` beside any rule family: detections/, sigma/, cloudgrappler/, a custom folder): switch
 * rules off, change their severity, or add exclusions, by rule id, without editing the rule. Third-party rules
 * stay byte-identical to upstream.
 */
const conditionName = z.string().regex(/^[a-z][a-z0-9_]*$/, 'a condition name is snake_case');
export const TuningOverrideSchema = z.strictObject({
  id: z.string().min(1),
  reason: z.string().min(1),
  owner: z.string().min(1).optional(),
  severity: SeveritySchema.optional(),
  severityOnError: SeveritySchema.optional(),
  /** Named conditions (rules/context/, e.g. sso_session, self_action): the rule ignores events they match. */
  exclude: z.array(conditionName).default([]),
  /** ARN or user-name globs the rule ignores. */
  excludePrincipals: z.array(z.string().min(1)).default([]),
  /** Any condition (FORMAT.md grammar): events it matches do not count for the rule. */
  excludeWhere: ConditionSchema.optional(),
});
export type TuningOverride = z.infer<typeof TuningOverrideSchema>;

export const TuningSchema = z.strictObject({
  disabled: z.array(z.strictObject({ id: z.string().min(1), reason: z.string().min(1) })).default([]),
  overrides: z.array(TuningOverrideSchema).default([]),
});
export type Tuning = z.infer<typeof TuningSchema>;
