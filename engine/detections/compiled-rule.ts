/** The one in-memory form of every rule (Cartographer YAML, Sigma, CloudGrappler), built once at load. */

import { asText, eventFieldGetter, eventTextsGetter } from '../field-path.ts';
import type { EngineEvent, Severity } from '../model.ts';
import type { CompiledAllowList } from './allowlist.ts';
import {
  type CompileContext,
  type CondNode,
  compileCondition,
  compileMatch,
  type Predicate,
  requiredEventNames,
  requiredEventSources,
  toPredicate,
} from './condition.ts';
import type { DetectionRuleInput } from './rule-schema.ts';

export interface CompiledStep {
  name: string;
  /** The step's event-level condition (tuning and other compilers read it). */
  condition: CondNode;
  match: Predicate;
  eventNames?: Set<string>;
  eventSources?: Set<string>;
}

/**
 * Lets many indicator rules share one lookup: the detector computes `keys(event)` once per event for the
 * group and only tests the rules whose `key` is among them (e.g. 23 user-name indicators, one Set lookup).
 */
export interface Prefilter {
  group: string;
  keys: (e: EngineEvent) => Iterable<string>;
  key: string;
}

export interface CompiledRule {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  severityOnError: Severity;
  techniques: string[];
  tactics: string[];
  show: string[];
  /** The rule's format. */
  source: 'cartographer' | 'sigma' | 'cloudgrappler';
  /** Where it comes from: shipped own rules, SigmaHQ, CloudGrappler, or a custom folder (`--rules DIR`). */
  provenance: Provenance;
  /** Where the rule was defined, for messages. */
  where: string;
  author?: string;
  license?: string;
  references: string[];
  allow?: CompiledAllowList;
  kind: 'event' | 'threshold' | 'sequence';
  /** Event and threshold rules: the event-level condition (eventSource/eventName stay discoverable here). */
  condition?: CondNode;
  /** Event and threshold rules: which events count (the compiled `condition`). */
  match?: Predicate;
  /** Lower-case eventNames the rule can match (undefined: any). */
  eventNames?: Set<string>;
  /** Lower-case eventSources the rule can match, used when eventNames is not known. */
  eventSources?: Set<string>;
  prefilter?: Prefilter;
  threshold?: {
    count: number;
    windowMs: number;
    groupKey: (e: EngineEvent) => string | undefined;
    /** What `groupKey` reads (`principal`, `session`, `sourceIp` or a field path), for compilers that need it. */
    groupBy?: string;
    /** Sigma `group-by`: the key is the first value of each field (a missing one: no group; none: one group). */
    groupByFields?: string[];
    /** Every value of the `distinct` field in an event (GetParameters carries many names in one call). */
    distinct?: (e: EngineEvent) => string[];
    distinctField?: string;
    acrossSessions: boolean;
    /** Field paths the group key and `distinct` read (checked like the condition's). */
    reads?: string[];
  };
  sequence?: {
    steps: CompiledStep[];
    windowMs: number;
    by: 'principal' | 'session';
    /** false: the steps may come in any order (Sigma `temporal`); default true. */
    ordered?: boolean;
    /** Groups chains by this key instead of `by` (Sigma correlation `group-by`). */
    groupKey?: (e: EngineEvent) => string | undefined;
  };
  /** Sigma: the base rule only feeds correlations (`generate: false`); it raises no finding of its own. */
  silent?: boolean;
}

export type Provenance = 'own' | 'sigma' | 'cloudgrappler' | 'custom';

export function principalOf(e: EngineEvent): string | undefined {
  const id = e.record.userIdentity;
  return id?.arn ?? id?.sessionContext?.sessionIssuer?.arn ?? id?.principalId ?? id?.userName ?? id?.type;
}

function node(m: { match?: Record<string, unknown>; where?: unknown }, ctx?: CompileContext): CondNode {
  const parts: CondNode[] = [];
  if (m.match) parts.push(compileMatch(m.match as never));
  if (m.where) parts.push(compileCondition(m.where as never, ctx));
  return parts.length === 1 ? parts[0]! : { kind: 'all', children: parts };
}

export function groupKeyOf(groupBy: string): (e: EngineEvent) => string | undefined {
  if (groupBy === 'principal') return principalOf;
  if (groupBy === 'session') return () => 'session';
  if (groupBy === 'sourceIp') return (e) => e.record.sourceIPAddress;
  const get = eventFieldGetter(groupBy);
  return (e) => {
    const v = get(e)[0];
    return v === undefined ? undefined : asText(v);
  };
}

export function compileRule(
  input: DetectionRuleInput,
  where: string,
  tacticsOf: (techniques: string[]) => string[],
  allow?: CompiledAllowList,
  ctx?: CompileContext,
  provenance: Provenance = 'own',
): CompiledRule {
  const tactics = [...new Set([...tacticsOf(input.techniques), ...input.tactics])];
  const base = {
    id: input.id,
    title: input.title,
    description: input.description,
    severity: input.severity,
    // A refused attempt is context, not an alarm, unless the rule says otherwise (repeated refusals have rules of their own).
    severityOnError: input.severityOnError ?? 'info',
    techniques: input.techniques,
    tactics,
    show: input.show,
    source: 'cartographer' as const,
    provenance,
    where,
    references: input.references,
    ...(allow ? { allow } : {}),
  };
  if (input.type === 'sequence') {
    return {
      ...base,
      kind: 'sequence',
      sequence: {
        steps: input.steps.map((s) => {
          const n = node(s, ctx);
          const names = requiredEventNames(n);
          const sources = requiredEventSources(n);
          return {
            name: s.name,
            condition: n,
            match: toPredicate(n),
            ...(names ? { eventNames: names } : {}),
            ...(sources ? { eventSources: sources } : {}),
          };
        }),
        windowMs: input.windowMinutes * 60_000,
        by: input.by,
      },
    };
  }
  const n = node(input, ctx);
  const names = requiredEventNames(n);
  const sources = requiredEventSources(n);
  const compiled: CompiledRule = {
    ...base,
    kind: input.type,
    condition: n,
    match: toPredicate(n),
    ...(names ? { eventNames: names } : {}),
    ...(sources ? { eventSources: sources } : {}),
  };
  if (input.type === 'threshold') {
    const distinct = input.distinct ? eventTextsGetter(input.distinct) : undefined;
    const named = ['principal', 'session', 'sourceIp'].includes(input.groupBy);
    compiled.threshold = {
      count: input.count,
      windowMs: input.windowMinutes * 60_000,
      groupKey: groupKeyOf(input.groupBy),
      groupBy: input.groupBy,
      acrossSessions: input.acrossSessions,
      ...(distinct ? { distinct, distinctField: input.distinct! } : {}),
      reads: [...(named ? [] : [input.groupBy]), ...(input.distinct ? [input.distinct] : [])],
    };
  }
  return compiled;
}
