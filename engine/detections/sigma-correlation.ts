/**
 * Sigma correlation rules (https://github.com/SigmaHQ/sigma-specification, "Sigma Correlation Rules"):
 *
 *   correlation:
 *     type: event_count | value_count | temporal | temporal_ordered
 *     rules: [base-rule-name-or-id, …]
 *     group-by: [sourceIPAddress]
 *     timespan: 10m
 *     condition: { gte: 5 }                 # event_count / value_count (value_count names `field`)
 *
 * event_count and value_count become threshold rules over the base rules' events (counted across sessions, so a
 * burst from one address can span identities); temporal and temporal_ordered become sequence rules whose steps are
 * the base rules (all within the timespan, within one session, grouped by `group-by`). Base rules referenced by a
 * correlation raise no finding of their own unless they say `generate: true`. Only "at least" conditions
 * (gt, gte) make a threshold; anything else is reported as unsupported.
 */

import { eventTextsGetter } from '../field-path.ts';
import type { Severity } from '../model.ts';
import type { CompiledRule, CompiledStep } from './compiled-rule.ts';
import type { CondNode } from './condition.ts';
import { requiredEventNames, requiredEventSources, toPredicate } from './condition.ts';
import { groupKeyOfFields, parseTimespan } from './sigma-aggregation.ts';
import { SigmaUnsupported } from './sigma-unsupported.ts';

const LEVELS: Record<string, Severity> = {
  informational: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

export interface SigmaBase {
  rule: CompiledRule;
  /** The document's `name:` (correlations may refer to rules by it). */
  name?: string;
  /** The document said `generate: true`: keep raising its own findings. */
  generate: boolean;
}

export function isCorrelation(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && 'correlation' in doc;
}

/** Compiles a correlation; marks referenced base rules silent (unless they generate). */
export function compileSigmaCorrelation(
  doc: Record<string, unknown>,
  file: string,
  lookup: (ref: string) => SigmaBase | undefined,
  tacticsOf: (techniques: string[]) => string[],
): CompiledRule {
  const title = typeof doc.title === 'string' ? doc.title : undefined;
  const id = doc.id === undefined ? undefined : String(doc.id);
  if (!title || !id) throw new Error('a Sigma correlation needs `title` and `id`');
  const c = doc.correlation as Record<string, unknown>;
  const type = String(c.type ?? '');
  const refs = (Array.isArray(c.rules) ? c.rules : [c.rules]).filter((r) => r !== undefined).map(String);
  if (refs.length === 0) throw new Error('correlation.rules names no rule');
  const bases = refs.map((ref) => {
    const b = lookup(ref);
    if (!b) throw new Error(`correlation refers to rule '${ref}', which is not loaded`);
    return b;
  });
  if (c.aliases !== undefined) throw new SigmaUnsupported('correlation `aliases` are not supported');
  const windowMs = parseTimespan(String(c.timespan ?? ''));
  const groupBy = (Array.isArray(c['group-by']) ? c['group-by'] : c['group-by'] ? [c['group-by']] : []).map(
    String,
  );
  const tags = Array.isArray(doc.tags) ? doc.tags.map(String) : [];
  const ownTechniques = tags
    .filter((t) => /^attack\.t\d{4}(\.\d{3})?$/i.test(t))
    .map((t) => t.slice('attack.'.length).toUpperCase());
  const techniques = ownTechniques.length
    ? ownTechniques
    : [...new Set(bases.flatMap((b) => b.rule.techniques))];
  const tactics = [...new Set([...tacticsOf(techniques), ...bases.flatMap((b) => b.rule.tactics)])];
  const level = LEVELS[String(doc.level ?? 'medium').toLowerCase()] ?? 'medium';
  for (const b of bases) if (!b.generate) b.rule.silent = true;
  const base: CompiledRule = {
    id: `sigma:${id}`,
    title,
    description: typeof doc.description === 'string' ? doc.description.trim() : title,
    severity: level,
    severityOnError: level,
    techniques,
    tactics,
    show: ['eventName', ...groupBy].slice(0, 6),
    source: 'sigma',
    provenance: bases[0]!.rule.provenance,
    where: file,
    ...(typeof doc.author === 'string' ? { author: doc.author } : {}),
    license: bases[0]!.rule.license ?? 'DRL 1.1 (https://github.com/SigmaHQ/Detection-Rule-License)',
    references: Array.isArray(doc.references) ? doc.references.map(String) : [],
    kind: 'event',
  };
  const conditions = bases.map((b) => b.rule.condition ?? fail(`rule '${b.rule.id}' has no event condition`));
  if (type === 'event_count' || type === 'value_count') {
    return countCorrelation(base, type, c.condition, conditions, groupBy, windowMs);
  }
  if (type === 'temporal' || type === 'temporal_ordered') {
    if (bases.length < 2) throw new Error(`a ${type} correlation needs at least two rules`);
    const steps: CompiledStep[] = bases.map((b, i) => {
      const condition = conditions[i]!;
      const names = requiredEventNames(condition);
      const sources = requiredEventSources(condition);
      return {
        name: b.name ?? b.rule.title,
        condition,
        match: toPredicate(condition),
        ...(names ? { eventNames: names } : {}),
        ...(sources ? { eventSources: sources } : {}),
      };
    });
    return {
      ...base,
      kind: 'sequence',
      sequence: {
        steps,
        windowMs,
        by: 'session',
        ordered: type === 'temporal_ordered',
        ...(groupBy.length ? { groupKey: groupKeyOfFields(groupBy) } : {}),
      },
    };
  }
  throw new SigmaUnsupported(`correlation type '${type}' is not supported`);
}

function countCorrelation(
  base: CompiledRule,
  type: string,
  conditionSpec: unknown,
  conditions: CondNode[],
  groupBy: string[],
  windowMs: number,
): CompiledRule {
  const cond = (conditionSpec ?? {}) as Record<string, unknown>;
  const ops = Object.keys(cond).filter((k) => k !== 'field');
  if (ops.length !== 1 || (ops[0] !== 'gt' && ops[0] !== 'gte')) {
    throw new SigmaUnsupported(
      `correlation condition ${JSON.stringify(cond)}: only one of gt / gte (at least N) is supported`,
    );
  }
  const n = Number(cond[ops[0]!]);
  if (!Number.isFinite(n)) throw new Error(`correlation condition ${JSON.stringify(cond)} is not a number`);
  const field = cond.field === undefined ? undefined : String(cond.field);
  if (type === 'value_count' && !field) throw new Error('a value_count correlation needs condition.field');
  const condition: CondNode =
    conditions.length === 1 ? conditions[0]! : { kind: 'any', children: conditions };
  const names = requiredEventNames(condition);
  const sources = requiredEventSources(condition);
  const distinct = type === 'value_count' && field ? eventTextsGetter(field) : undefined;
  return {
    ...base,
    kind: 'threshold',
    condition,
    match: toPredicate(condition),
    ...(names ? { eventNames: names } : {}),
    ...(sources ? { eventSources: sources } : {}),
    threshold: {
      count: Math.max(1, ops[0] === 'gt' ? n + 1 : n),
      windowMs,
      groupKey: groupKeyOfFields(groupBy),
      groupByFields: groupBy,
      acrossSessions: true,
      reads: [...groupBy, ...(distinct ? [field!] : [])],
      ...(distinct ? { distinct, distinctField: field! } : {}),
    },
  };
}

function fail(message: string): never {
  throw new Error(message);
}
