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

import { parseCidr } from '../ip-address.ts';
import type { PipelineStages } from '../stages.ts';
import type { CompiledAllowList } from './allowlist.ts';
import type { CompiledRule } from './compiled-rule.ts';
import type { CondNode } from './condition.ts';
import {
  and,
  type ContextEvents,
  type DescribeDerivedField,
  type EventFilter,
  FALSE,
  field,
  not,
  opaque,
  opaqueReasons,
  or,
  simplify,
  TRUE,
  within,
} from './event-filter.ts';
import { globToRegExp } from './glob.ts';

export interface ThresholdPushdown {
  /** `principal`, `session`, `sourceIp` or a record field path; a list: Sigma's group-by fields (first values). */
  groupBy: string | string[];
  distinct?: string;
  count: number;
  windowMs: number;
  /**
   * Counted across sessions: the detector keeps a history of earlier sessions' events, pruned relative to the
   * newest it saw, so a store must hand over every counted event of a group that can fire, not only the bursts.
   */
  acrossSessions?: boolean;
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
  /**
   * Event and threshold rules a store may count instead of returning their events (`countableRules`): their
   * condition is pushed down exactly and no allow-list can silence them, so per session the matching events' count,
   * first events and names (thresholds: each burst's) are the whole of what their finding says
   * (detections/finding.ts `EvidenceSummary`).
   */
  countable?: string[];
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
    const groupBy = t?.groupBy ?? t?.groupByFields;
    if (rule.kind === 'threshold' && t && groupBy) {
      pushed.threshold = {
        groupBy,
        count: t.count,
        windowMs: t.windowMs,
        ...(t.acrossSessions ? { acrossSessions: true } : {}),
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
    case 'list': {
      const resolved = resolveDerived(listFilter(node), describe, context);
      return node.field.startsWith('enrichment.')
        ? within(resolved, `list '${node.list}' on an enrichment field`)
        : resolved;
    }
    default:
      // A node kind added after this compiler (org-context lists, …): it could hold for any event.
      return opaque(`condition node kind '${(node as { kind: string }).kind}' is not known to the pushdown`);
  }
}

type ListNode = Extract<CondNode, { kind: 'list' }>;

/**
 * An org-context list test (condition.ts listNode) as a filter. Entries without expiry are exact: text lists as
 * case-insensitive equality, globs as their regular expression, accounts as a bare id or an ARN whose account
 * segment is the id, IPv4 ranges as a regular expression over canonical dotted quads (the parser rejects leading
 * zeros, so `010.0.0.1` is in no range either way). IPv6 ranges (many spellings) and entries that expire (they
 * count only for events before the expiry) are described approximately, so `notInList` and `not: inList` never
 * narrow by them.
 */
export function listFilter(node: ListNode): EventFilter {
  const entries =
    node.entries ?? node.values.map((value) => ({ value, expiresMs: Number.POSITIVE_INFINITY }));
  const lasting = entries.filter((e) => e.expiresMs === Number.POSITIVE_INFINITY).map((e) => e.value);
  const expiring = entries.filter((e) => e.expiresMs !== Number.POSITIVE_INFINITY).map((e) => e.value);
  const of = (values: string[]) => listValuesFilter(node.field, node.match, values);
  const inside = or([
    of(lasting),
    expiring.length ? within(of(expiring), `list '${node.list}' has entries that expire`) : FALSE,
  ]);
  if (!node.negated) return inside;
  // notInList: a value is present, the list is not empty, and no value is in it.
  if (entries.length === 0) return FALSE;
  return and([field(node.field, 'exists', []), not(inside)]);
}

function listValuesFilter(path: string, kind: string, values: string[]): EventFilter {
  if (values.length === 0) return FALSE;
  switch (kind) {
    case 'text':
      return field(path, 'equals', values, { ignoreCase: true });
    case 'glob':
      return or(values.map((v) => literalAnd(path, globLiteral(v), globRegex(path, v), true)));
    case 'account': {
      const ids = [...new Set(values.filter((v) => /^\d{12}$/.test(v)))];
      if (ids.length === 0) return FALSE;
      // An enrichment value names the account somewhere (a principal ARN, a bare id): the enricher is asked about
      // the id as text, which it can trace back to the request.
      if (path.startsWith('enrichment.'))
        return within(field(path, 'contains', ids), 'account ids in an enrichment fact');
      const arn = field(path, 'regex', [`^arn:[^:]*:[^:]*:[^:]*:(?:${ids.join('|')})(?::|$)`]);
      return or([field(path, 'equals', ids), ...ids.map((id) => literalAnd(path, [id], arn))]);
    }
    case 'cidr': {
      const parts: EventFilter[] = [];
      let v6 = false;
      for (const v of values) {
        const c = parseCidr(v);
        if (!c) continue;
        if (c.version === 6) v6 = true;
        else parts.push(field(path, 'regex', [ipv4RangeRegex(c.base, c.mask)]));
      }
      if (v6) parts.push(within(field(path, 'contains', [':']), 'IPv6 ranges are matched in Cartographer'));
      return or(parts);
    }
    default:
      return opaque(`org-context list kind '${kind}' is not known to the pushdown`);
  }
}

/**
 * `test` together with "contains each of these literals" (exactly the same: the test implies it), for backends
 * that can search text but not run a regular expression on a field (a path into a JSON column).
 */
function literalAnd(path: string, literals: string[], test: EventFilter, ignoreCase = false): EventFilter {
  const hints = literals
    .filter((l) => l !== '')
    .map((l) => field(path, 'contains', [l], ignoreCase ? { ignoreCase: true } : {}));
  return and([...hints, test]);
}

function globRegex(path: string, glob: string): EventFilter {
  return field(path, 'regex', [globToRegExp(glob).source], { ignoreCase: true });
}

/** The runs of a glob without wildcards (every match contains each). */
function globLiteral(glob: string): string[] {
  return glob.split(/[*?]/).filter((run) => run !== '');
}

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';

/** A canonical dotted quad inside base/mask: whole octets literal, the partial one as its values, the rest any. */
export function ipv4RangeRegex(base: bigint, mask: bigint): string {
  const octets: string[] = [];
  for (let i = 0; i < 4; i++) {
    const shift = BigInt(24 - 8 * i);
    const b = Number((base >> shift) & 0xffn);
    const m = Number((mask >> shift) & 0xffn);
    if (m === 0xff) octets.push(String(b));
    else if (m === 0) octets.push(OCTET);
    else {
      const free = 0xff ^ m;
      const vals: number[] = [];
      for (let x = 0; x <= free; x++) vals.push(b | x);
      octets.push(`(?:${vals.join('|')})`);
    }
  }
  return `^${octets.join('\\.')}$`;
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
 * How far before a scan window a scan must read so every threshold and sequence of the stages' rules can count its
 * whole window (a burst or chain completed in the window may have started up to one rule window earlier): the
 * longest rule window, and never less than `floorMs`. A detector that does not expose its rules: `floorMs`.
 */
export function longestRuleWindowMs(stages: PipelineStages, floorMs: number): number {
  const rules = (stages.detector as { rules?: readonly CompiledRule[] } | undefined)?.rules ?? [];
  let longest = floorMs;
  for (const r of rules) {
    const w = Math.max(r.threshold?.windowMs ?? 0, r.sequence?.windowMs ?? 0);
    if (Number.isFinite(w) && w > longest) longest = w;
  }
  return longest;
}

/**
 * Fields a rule tests with case folding or a regular expression: SQL engines agree with JavaScript on those only
 * for printable ASCII, so a store that counts the rule's events counts those whose values here are printable ASCII
 * (or absent), and returns the others for Cartographer to test (`plainAscii`).
 */
export function asciiOnlyFields(f: EventFilter, out = new Set<string>()): Set<string> {
  if (f.kind === 'field' && (f.ignoreCase || f.op === 'regex')) out.add(f.field);
  else if (f.kind === 'and' || f.kind === 'or') for (const p of f.parts) asciiOnlyFields(p, out);
  else if (f.kind === 'not') asciiOnlyFields(f.part, out);
  else if (f.kind === 'within') asciiOnlyFields(f.filter, out);
  else if (f.kind === 'sameValueAs') asciiOnlyFields(f.of, out);
  return out;
}

/**
 * Fields a rule tests for presence: a store that reads them from JSON text counts an event only where the value there
 * is no array or object (nor inside one), and returns the others for Cartographer to test (`structuredAt`).
 */
export function existsFields(f: EventFilter, out = new Set<string>()): Set<string> {
  if (f.kind === 'field' && f.op === 'exists') out.add(f.field);
  else if (f.kind === 'and' || f.kind === 'or') for (const p of f.parts) existsFields(p, out);
  else if (f.kind === 'not') existsFields(f.part, out);
  else if (f.kind === 'within') existsFields(f.filter, out);
  else if (f.kind === 'sameValueAs') existsFields(f.of, out);
  return out;
}

/** Whether the record holds an array on the way to `path`, or an array or object at it. */
export function structuredAt(record: unknown, path: string): boolean {
  let v: unknown = record;
  for (const key of path.split('.')) {
    if (Array.isArray(v)) return true;
    if (v === null || typeof v !== 'object') return false;
    v = (v as Record<string, unknown>)[key];
  }
  return v !== null && typeof v === 'object';
}

/** The characters SQL engines treat as JavaScript does in case folding and regular expressions. */
export const PLAIN_ASCII = /^[\x20-\x7E]*$/;

/**
 * The event and threshold rules whose findings a store can compute from counts: exact (no note), not silenced by any allow-list
 * as it is now (the rule's own, or the global one: list items and entries without a rule id silence every rule).
 * A detector that does not say which allow-list it reads: none.
 */
export function countableRules(stages: PipelineStages, pushdown: EventPushdown): string[] {
  const detector = stages.detector as
    | { rules?: readonly CompiledRule[]; currentAllow?: () => CompiledAllowList }
    | undefined;
  const global = detector?.currentAllow?.();
  if (!detector?.rules || !global) return [];
  const byId = new Map(detector.rules.map((r) => [r.id, r]));
  return pushdown.rules
    .filter((p) => {
      const rule = byId.get(p.id);
      if (!rule || rule.kind !== p.kind || p.notes.length > 0) return false;
      // Thresholds: a store may compute their findings (one per burst) instead of returning their events.
      if (rule.kind !== 'event' && rule.kind !== 'threshold') return false;
      if (rule.allow && !rule.allow.empty) return false;
      return global.empty || global.silences?.(p.id) === false;
    })
    .map((p) => p.id);
}

/**
 * The prefilter of the stages' detector (its `rules`, as CartographerDetector exposes them), with the event rules
 * a store may count (`countable`, decided now: the allow-list can change between scans). No detector: no event
 * can matter (sessions and counts only). A detector that does not expose its rules: every event can.
 */
export function pushdownOf(stages: PipelineStages): EventPushdown {
  const p = rulePushdownOf(stages);
  const countable = countableRules(stages, p);
  return countable.length ? { ...p, countable } : p;
}

function rulePushdownOf(stages: PipelineStages): EventPushdown {
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
