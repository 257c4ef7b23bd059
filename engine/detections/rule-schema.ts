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
  /** Severity when every matching event failed (an attempt, e.g. AccessDenied); defaults to one level lower. */
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

/** Technique → tactics table (rules/detections/attack-tactics.yaml). */
export const AttackTableSchema = z.strictObject({
  techniques: z.record(
    techniqueId,
    z.strictObject({ name: z.string(), tactics: z.array(z.string()).min(1) }),
  ),
});
export type AttackTable = z.infer<typeof AttackTableSchema>;

/** rules/detections/tuning.yaml: rules that load but do not run, each with a reason. */
export const TuningSchema = z.strictObject({
  disabled: z.array(z.strictObject({ id: z.string().min(1), reason: z.string().min(1) })).default([]),
});
export type Tuning = z.infer<typeof TuningSchema>;
