/**
 * Rules indexed by eventName once, so each event is only tested against rules that can match it (the rest of
 * the ~300 rules are never looked at). Shared by the per-session detector and the cross-session memory.
 */
import { compilePath, emptyValues, readAll } from '../field-path.ts';
import type { EngineEvent } from '../model.ts';
import type { CompiledRule } from './compiled-rule.ts';
import type { CondNode } from './condition.ts';

/** A rule (or one step of a sequence rule) waiting for events; made by `slotOf` only, so all have one shape. */
export interface Slot {
  rule: CompiledRule;
  /** -1 for event/threshold rules, else the sequence step. */
  step: number;
  test: (e: EngineEvent) => boolean;
  /** The condition `test` was compiled from (for pruning by the event's key fields). */
  condition: CondNode | undefined;
}

function slotOf(
  rule: CompiledRule,
  step: number,
  test: (e: EngineEvent) => boolean,
  condition: CondNode | undefined,
): Slot {
  return { rule, step, test, condition };
}

/** A rule that throws on some odd record (a string where an object belongs …) does not match it; nothing else is lost. */
export function safeTest(slot: Slot, e: EngineEvent): boolean {
  try {
    return slot.test(e);
  } catch {
    return false;
  }
}

function safeKeys(g: PrefilterGroup, e: EngineEvent): Iterable<string> {
  try {
    return g.keys(e);
  } catch {
    return [];
  }
}

/** Rules sharing a prefilter: keys computed once per event, then one Map lookup per key. */
interface PrefilterGroup {
  keys: (e: EngineEvent) => Iterable<string>;
  byKey: Map<string, Slot[]>;
}

export interface RuleIndex {
  byName: Map<string, Slot[]>;
  bySource: Map<string, Slot[]>;
  groups: PrefilterGroup[];
  always: Slot[];
  slotCount: number;
}

function push<K>(map: Map<K, Slot[]>, key: K, slot: Slot): void {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  list.push(slot);
}

/**
 * Each rule lands in the narrowest bucket it allows: by eventName, else by eventSource, else by its
 * indicator prefilter, else `always` (tested on every event).
 */
export function indexRules(rules: readonly CompiledRule[]): RuleIndex {
  const index: RuleIndex = { byName: new Map(), bySource: new Map(), groups: [], always: [], slotCount: 0 };
  const groups = new Map<string, PrefilterGroup>();
  const add = (given: Slot, names?: Set<string>, sources?: Set<string>) => {
    const slot = remembering(given);
    index.slotCount++;
    const pre = slot.step < 0 ? slot.rule.prefilter : undefined;
    if (names) for (const n of names) push(index.byName, n, slot);
    else if (sources) for (const n of sources) push(index.bySource, n, slot);
    else if (pre) {
      let g = groups.get(pre.group);
      if (!g) {
        g = { keys: pre.keys, byKey: new Map() };
        groups.set(pre.group, g);
        index.groups.push(g);
      }
      push(g.byKey, pre.key, slot);
    } else index.always.push(slot);
  };
  for (const rule of rules) {
    if (rule.kind === 'sequence') {
      rule.sequence!.steps.forEach((s, i) => {
        add(slotOf(rule, i, s.match, s.condition), s.eventNames, s.eventSources);
      });
    } else {
      add(slotOf(rule, -1, rule.match!, rule.condition), rule.eventNames, rule.eventSources);
    }
  }
  return index;
}

/**
 * The slot with its last answer remembered, when its condition depends on nothing but the values of a few fields
 * (exact value tests, lists whose entries never expire): the events of a session repeat their caller, user agent and
 * address, so the rules tried on every event (indicator lists, user-agent and caller tests …) mostly answer by
 * comparing those values with the last event's. Other slots are returned as they are.
 */
function remembering(slot: Slot): Slot {
  const fields = slot.condition ? valueFieldsOf(slot.condition) : undefined;
  // eventName changes from one event to the next: a rule that reads it would seldom answer from memory.
  if (!fields || fields.length === 0 || fields.length > 8 || fields.includes('eventName')) return slot;
  // A list entry counts for events before its expiry: one that never expires, at any time but +Infinity.
  const timed = hasList(slot.condition!);
  const paths = fields.map(valuePath);
  const last: unknown[] = paths.map(() => undefined);
  const inner = slot.test;
  let held = false;
  let answer = false;
  const test = (e: EngineEvent): boolean => {
    if (timed && e.time === Number.POSITIVE_INFINITY) {
      held = false;
      return inner(e);
    }
    let same = held;
    for (let i = 0; i < paths.length; i++) {
      const k = valueKeyAt(e, paths[i]!);
      if (k === undefined) {
        held = false;
        return inner(e);
      }
      if (k !== last[i]) {
        same = false;
        last[i] = k;
      }
    }
    if (same) return answer;
    held = false;
    answer = inner(e);
    held = true;
    return answer;
  };
  return slotOf(slot.rule, slot.step, test, slot.condition);
}

function hasList(n: CondNode): boolean {
  if (n.kind === 'list') return true;
  if (n.kind === 'not') return hasList(n.child);
  return (n.kind === 'all' || n.kind === 'any') && n.children.some(hasList);
}

/** The fields a condition reads, when its answer depends on their values alone; else undefined. */
function valueFieldsOf(node: CondNode): string[] | undefined {
  const out = new Set<string>();
  const visit = (n: CondNode): boolean => {
    switch (n.kind) {
      case 'const':
        return true;
      case 'not':
        return visit(n.child);
      case 'all':
      case 'any':
        return n.children.every(visit);
      case 'test':
        if (!evaluable(n) || n.field === '') return false;
        out.add(n.field);
        return true;
      case 'list':
        // The time of the event counts only through entries that expire.
        if (!n.entries?.every((x) => x.expiresMs === Number.POSITIVE_INFINITY)) return false;
        out.add(n.field);
        return true;
    }
  };
  return visit(node) ? [...out] : undefined;
}

/** A field as the rules' getters read it: keys to follow (from the record or the enrichment), then more steps or not. */
interface ValuePath {
  enrichment: boolean;
  keys: string[];
  more: boolean;
}

function valuePath(field: string): ValuePath {
  // engine/field-path.ts: a first key `enrichment` reads the event's enrichment.
  const steps = compilePath(field).steps;
  const first = steps[0];
  const enrichment = first !== undefined && 'key' in first && first.key === 'enrichment';
  const rest = enrichment ? steps.slice(1) : steps;
  // The keys in an array of one element kind, none or some (emptyValues): valueKeyAt meets one array map.
  const keys = emptyValues<string>();
  let n = 0;
  for (; n < rest.length && 'key' in rest[n]!; n++) keys.push((rest[n] as { key: string }).key);
  return { enrichment, keys, more: n < rest.length };
}

/**
 * What the field's getter reads, as a comparable value (the remembered answers' and the candidate lists' key): null
 * when nothing is reached (its leading keys are absent), the value when it is one primitive, undefined when that
 * cannot be told without a walk (arrays, objects, `[]` steps with something there).
 */
function valueKeyAt(e: EngineEvent, p: ValuePath): unknown {
  let v: unknown = p.enrichment ? e.enrichment : e.record;
  for (let i = 0; i < p.keys.length; i++) {
    if (v === undefined || v === null) return null;
    if (Array.isArray(v)) return undefined;
    if (typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[p.keys[i]!];
  }
  if (v === undefined || v === null) return null;
  if (p.more) return undefined;
  return typeof v === 'object' ? undefined : v;
}

/**
 * Fields with few distinct values that many rules test (`userIdentity.type: Root`, `errorCode` present,
 * `enrichment.sourceKind` …). An event's eventSource, eventName and values of those of these fields its index's
 * rules test pick a candidate list built on first sight: the rules whose condition is already false for those
 * values alone are left out, so most events are tested against a handful of rules instead of every rule that
 * has no eventName or eventSource to be indexed by.
 */
const KEY_FIELDS = [
  'eventSource',
  'eventName',
  'eventType',
  'errorCode',
  'readOnly',
  'userIdentity.type',
  'userIdentity.invokedBy',
  'sessionCredentialFromConsole',
  'enrichment.sourceKind',
  'enrichment.errorKind',
  'enrichment.accessLevel',
];
/** Candidate lists kept at most (a guard against inputs with unbounded key values; beyond: no pruning). */
const MAX_LISTS = 20_000;

/** The values known when a candidate list is built: field path → every value the rules' getters would read. */
type Known = ReadonlyMap<string, unknown[]>;

/**
 * The node's value when only the key fields are known: true, false or undefined (depends on other fields).
 * Only tests whose filter description is exact are evaluated (they read nothing but their field's values).
 */
export function partialValue(node: CondNode, known: Known, e: EngineEvent): boolean | undefined {
  switch (node.kind) {
    case 'const':
      return node.value;
    case 'not': {
      const v = partialValue(node.child, known, e);
      return v === undefined ? undefined : !v;
    }
    case 'all':
    case 'any': {
      const stop = node.kind === 'any';
      let open = false;
      for (const c of node.children) {
        const v = partialValue(c, known, e);
        if (v === stop) return stop;
        if (v === undefined) open = true;
      }
      return open ? undefined : !stop;
    }
    case 'test': {
      const values = evaluable(node) ? known.get(node.field) : undefined;
      if (!values) return undefined;
      try {
        return node.test(values, e);
      } catch {
        return undefined;
      }
    }
    case 'list':
      // An empty list holds no value at any time (`notInList` of an empty list never holds either).
      return node.values.length === 0 ? false : undefined;
  }
}

function evaluable(node: CondNode & { kind: 'test' }): boolean {
  return !node.reads && node.describe?.exact === true;
}

/** The key fields (beyond eventSource and eventName) some slot's condition tests. */
function keyFieldsOf(slots: Iterable<Slot>): string[] {
  const used = new Set<string>();
  const visit = (n: CondNode): void => {
    if (n.kind === 'all' || n.kind === 'any') n.children.forEach(visit);
    else if (n.kind === 'not') visit(n.child);
    else if (n.kind === 'test' && evaluable(n)) used.add(n.field);
  };
  for (const s of slots) if (s.condition) visit(s.condition);
  return KEY_FIELDS.slice(2).filter((f) => used.has(f));
}

/** Every value of the field, read afresh (the shared getters remember their last event, maybe unenriched). */
function valuesAt(e: EngineEvent, field: string): unknown[] {
  const out = emptyValues<unknown>();
  const enrichment = field.startsWith('enrichment.');
  const from = enrichment ? e.enrichment : e.record;
  const steps = compilePath(field).steps;
  if (from) readAll(from, enrichment ? steps.slice(1) : steps, 0, out);
  return out;
}

interface KeyNode {
  next: Map<unknown, KeyNode>;
  slots: Slot[] | undefined;
}

/**
 * The slots an event must be tested against: by eventName, eventSource and the rules indexed by neither, minus
 * those the event's key fields already rule out, plus the prefilter groups' hits.
 */
export function candidateLookup(index: RuleIndex): (e: EngineEvent) => Slot[] {
  const all = [...index.byName.values(), ...index.bySource.values(), index.always].flat();
  const fields = keyFieldsOf(all);
  const paths = fields.map(valuePath);
  const byPair = new Map<string, Map<string, KeyNode>>();
  let lists = 0;
  const base = (e: EngineEvent): Slot[] => {
    const { eventSource, eventName } = e.record;
    return [
      ...(index.byName.get(eventName.toLowerCase()) ?? []),
      ...(index.bySource.get(eventSource.toLowerCase()) ?? []),
      ...index.always,
    ];
  };
  const build = (e: EngineEvent): Slot[] => {
    const known = new Map<string, unknown[]>();
    for (const f of ['eventSource', 'eventName', ...fields]) known.set(f, valuesAt(e, f));
    lists++;
    return base(e).filter((s) => !s.condition || partialValue(s.condition, known, e) !== false);
  };
  const pruned = (e: EngineEvent): Slot[] => {
    const { eventSource, eventName } = e.record;
    let byName = byPair.get(eventSource);
    if (!byName) {
      byName = new Map();
      byPair.set(eventSource, byName);
    }
    let at: KeyNode | undefined = byName.get(eventName);
    if (!at) {
      if (lists >= MAX_LISTS) return base(e);
      at = { next: new Map(), slots: undefined };
      byName.set(eventName, at);
    }
    for (const p of paths) {
      const k = valueKeyAt(e, p);
      let next: KeyNode | undefined = k === undefined ? undefined : at.next.get(k);
      if (!next) {
        if (k === undefined || lists >= MAX_LISTS) return base(e);
        next = { next: new Map(), slots: undefined };
        at.next.set(k, next);
      }
      at = next;
    }
    at.slots ??= build(e);
    return at.slots;
  };
  const groups = index.groups.map(groupLookup);
  return (e) => {
    const c = pruned(e);
    let extra: Slot[] | undefined;
    for (let i = 0; i < groups.length; i++) {
      const hit = groups[i]!(e);
      if (hit.length > 0) extra = extra ? extra.concat(hit) : hit;
    }
    return extra ? [...c, ...new Set(extra)] : c;
  };
}

const NO_SLOTS: Slot[] = [];

/**
 * A prefilter group's hits for an event. The groups' key functions hand out the same (never changed) array while an
 * event repeats the last one's caller or user agent: the hits of the last key array are kept for it.
 */
function groupLookup(g: PrefilterGroup): (e: EngineEvent) => Slot[] {
  let lastKeys: Iterable<string> | undefined;
  let lastHits: Slot[] = NO_SLOTS;
  return (e) => {
    const keys = safeKeys(g, e);
    if (keys === lastKeys) return lastHits;
    let hits: Slot[] = NO_SLOTS;
    for (const k of keys) {
      const hit = g.byKey.get(k);
      if (hit) hits = hits === NO_SLOTS ? hit : hits.concat(hit);
    }
    lastKeys = Array.isArray(keys) ? keys : undefined;
    lastHits = hits;
    return hits;
  };
}
