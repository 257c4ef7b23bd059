/**
 * Rules indexed by eventName once, so each event is only tested against rules that can match it (the rest of
 * the ~300 rules are never looked at). Shared by the per-session detector and the cross-session memory.
 */
import type { EngineEvent } from '../model.ts';
import type { CompiledRule } from './compiled-rule.ts';

/** A rule (or one step of a sequence rule) waiting for events. */
export interface Slot {
  rule: CompiledRule;
  /** -1 for event/threshold rules, else the sequence step. */
  step: number;
  test: (e: EngineEvent) => boolean;
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
  const add = (slot: Slot, names?: Set<string>, sources?: Set<string>) => {
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
        add({ rule, step: i, test: s.match }, s.eventNames, s.eventSources);
      });
    } else {
      add({ rule, step: -1, test: rule.match! }, rule.eventNames, rule.eventSources);
    }
  }
  return index;
}

/**
 * The slots an event must be tested against. Candidate lists per (eventSource, eventName) are built on first
 * sight: a handful of pairs cover most traffic.
 */
export function candidateLookup(index: RuleIndex): (e: EngineEvent) => Slot[] {
  const cache = new Map<string, Map<string, Slot[]>>();
  return (e) => {
    const { eventSource, eventName } = e.record;
    let bySource = cache.get(eventSource);
    if (!bySource) {
      bySource = new Map();
      cache.set(eventSource, bySource);
    }
    let c = bySource.get(eventName);
    if (!c) {
      c = [
        ...(index.byName.get(eventName.toLowerCase()) ?? []),
        ...(index.bySource.get(eventSource.toLowerCase()) ?? []),
        ...index.always,
      ];
      bySource.set(eventName, c);
    }
    let extra: Slot[] | undefined;
    for (const g of index.groups) {
      for (const k of safeKeys(g, e)) {
        const hit = g.byKey.get(k);
        if (hit) extra = extra ? [...extra, ...hit] : hit;
      }
    }
    return extra ? [...c, ...new Set(extra)] : c;
  };
}
