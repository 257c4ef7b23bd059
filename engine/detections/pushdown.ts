/**
 * The event-level prefilter of the enabled rule set, for stores that can filter before Cartographer reads (Athena):
 * which events can make any rule fire, as one backend-neutral filter per rule (event-filter.ts). Pure: no I/O.
 *
 * Conservative by construction. Each rule's filter holds for every event the rule can count: an event rule's
 * condition, a threshold rule's counted events (thresholds and sequences count only events matching their own
 * event-level conditions, so a store that returns those is enough for them), a sequence's steps. A part nobody can
 * describe (a closure, a node kind this compiler does not know, an enrichment fact no record field decides) stays
 * `opaque`, and the rule's necessary event names / sources are AND-ed on, so such a rule still narrows by name.
 * Enrichment facts (`enrichment.sourceKind` …) are described by the enricher (`Enricher.describeField`) in terms of
 * record fields, with the extra events it must see to compute them (`context`, e.g. STS issuances for lineage).
 */
import type { PipelineStages } from '../stages.ts';
import type { CompiledRule } from './compiled-rule.ts';
import type { CondNode } from './condition.ts';
import {
  and,
  type ContextEvents,
  type DescribeDerivedField,
  type EventFilter,
  field,
  not,
  opaque,
  opaqueReasons,
  or,
  simplify,
  TRUE,
  within,
} from './event-filter.ts';

export interface ThresholdPushdown {
  /** `principal`, `session`, `sourceIp` or a record field path. */
  groupBy: string;
  distinct?: string;
  count: number;
  windowMs: number;
}

/** A sequence can only fire for a group (principal, or anyone) with an event matching every step. */
export interface SequencePushdown {
  /** `principal`, or `any` when the steps may come from anyone (the read as one group). */
  groupBy: 'principal' | 'any';
  steps: EventFilter[];
}

export interface RulePushdown {
  id: string;
  kind: string;
  /** Holds for every event the rule can count (wider where parts are opaque). */
  filter: EventFilter;
  /** Threshold rules: a group and window can only fire with `count` matching events (or distinct values). */
  threshold?: ThresholdPushdown;
  sequence?: SequencePushdown;
  /** Why the filter is wider than the rule (empty: exact). */
  notes: string[];
}

export interface EventPushdown {
  rules: RulePushdown[];
  context: ContextEvents[];
}

/** The prefilter of a rule set; `describe` resolves enrichment fields (undefined: they stay opaque). */
export function eventPushdown(
  rules: readonly CompiledRule[],
  describe?: DescribeDerivedField,
): EventPushdown {
  const context = new Map<string, ContextEvents>();
  const convert = (node: CondNode | undefined): EventFilter =>
    node ? fromNode(node, describe, context) : opaque('the rule exposes no condition');
  const out: RulePushdown[] = rules.map((rule) => {
    let filter: EventFilter;
    let sequence: SequencePushdown | undefined;
    if (rule.kind === 'sequence' && rule.sequence) {
      const steps = rule.sequence.steps.map((s) => simplify(withNecessary(convert(s.condition), s)));
      filter = or(steps);
      // A sequence keyed by anything but the principal (a Sigma correlation's group-by) is treated as one group.
      const byPrincipal =
        rule.sequence.by === 'principal' && !('groupKey' in rule.sequence && rule.sequence.groupKey);
      sequence = { groupBy: byPrincipal ? 'principal' : 'any', steps };
    } else filter = withNecessary(convert(rule.condition), rule);
    filter = simplify(filter);
    const pushed: RulePushdown = { id: rule.id, kind: rule.kind, filter, notes: [...opaqueReasons(filter)] };
    if (sequence) pushed.sequence = sequence;
    const t = rule.threshold;
    if (rule.kind === 'threshold' && t?.groupBy) {
      pushed.threshold = {
        groupBy: t.groupBy,
        count: t.count,
        windowMs: t.windowMs,
        ...(t.distinctField ? { distinct: t.distinctField } : {}),
      };
    }
    return pushed;
  });
  return { rules: out, context: [...context.values()] };
}

/**
 * A filter with only exact parts is already as narrow as the rule; one with opaque or approximate parts also gets the
 * event names / sources the rule needs (lower-case sets, as the detector indexes them), so it still narrows by name.
 */
function withNecessary(
  filter: EventFilter,
  r: { eventNames?: Set<string>; eventSources?: Set<string> },
): EventFilter {
  if (opaqueReasons(filter).size === 0) return filter;
  const parts: EventFilter[] = [filter];
  if (r.eventNames) parts.push(field('eventName', 'equals', [...r.eventNames], { ignoreCase: true }));
  if (r.eventSources) parts.push(field('eventSource', 'equals', [...r.eventSources], { ignoreCase: true }));
  return and(parts);
}

function fromNode(
  node: CondNode,
  describe: DescribeDerivedField | undefined,
  context: Map<string, ContextEvents>,
): EventFilter {
  const recurse = (n: CondNode) => fromNode(n, describe, context);
  switch (node.kind) {
    case 'const':
      return { kind: 'const', value: node.value };
    case 'all':
      return and(node.children.map(recurse));
    case 'any':
      return or(node.children.map(recurse));
    case 'not':
      return not(recurse(node.child));
    case 'test': {
      const d = node.describe;
      if (!d) return opaque(`a test on '${node.field || 'the whole record'}' that has no description`);
      const resolved = resolveDerived(d.filter, describe, context);
      const what = node.field ? `'${node.field}'` : 'a test across several fields';
      return d.exact ? resolved : within(resolved, `${what} is only described approximately`);
    }
    default:
      // A node kind added after this compiler (org-context lists, …): it could hold for any event.
      return opaque(`condition node kind '${(node as { kind: string }).kind}' is not known to the pushdown`);
  }
}

/** Replaces tests on enrichment fields by what the enricher says they mean in record fields. */
function resolveDerived(
  f: EventFilter,
  describe: DescribeDerivedField | undefined,
  context: Map<string, ContextEvents>,
): EventFilter {
  const recurse = (x: EventFilter) => resolveDerived(x, describe, context);
  switch (f.kind) {
    case 'and':
      return and(f.parts.map(recurse));
    case 'or':
      return or(f.parts.map(recurse));
    case 'not':
      return not(recurse(f.part));
    case 'within':
      return within(recurse(f.filter), f.reason);
    case 'sameValueAs':
      return { ...f, of: recurse(f.of) };
    case 'field': {
      if (!f.field.startsWith('enrichment.')) return f;
      const derived = describe?.(f);
      if (!derived) return opaque(`enrichment field '${f.field}' is computed in Cartographer`);
      for (const c of derived.context ?? []) context.set(c.name, c);
      return derived.filter;
    }
    default:
      return f;
  }
}

const cached = new WeakMap<object, EventPushdown>();

/**
 * The prefilter of the stages' detector (its `rules`, as CartographerDetector exposes them). No detector: no event
 * can matter (sessions and counts only). A detector that does not expose its rules: every event can.
 */
export function pushdownOf(stages: PipelineStages): EventPushdown {
  const detector = stages.detector;
  if (!detector) return { rules: [], context: [] };
  const known = cached.get(detector);
  if (known) return known;
  const rules = (detector as { rules?: readonly CompiledRule[] }).rules;
  const pushdown = rules
    ? eventPushdown(rules, stages.enricher?.describeField)
    : {
        rules: [
          { id: '*', kind: 'unknown', filter: TRUE, notes: ['the detector does not expose its rules'] },
        ],
        context: [],
      };
  cached.set(detector, pushdown);
  return pushdown;
}
