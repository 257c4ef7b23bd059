/**
 * Runs compiled rules over one session's events. Rules are indexed by eventName once, so each event is
 * only tested against rules that can match it (the rest of the ~300 rules are never looked at).
 */
import type { EngineEvent, Finding, Signal } from '../model.ts';
import type { Detector, SessionContext } from '../stages.ts';
import type { CompiledAllowList } from './allowlist.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { principalOf } from './compiled-rule.ts';
import { buildFinding } from './finding.ts';
import { scoreSession } from './risk.ts';

/** A rule (or one step of a sequence rule) waiting for events. */
interface Slot {
  rule: CompiledRule;
  /** -1 for event/threshold rules, else the sequence step. */
  step: number;
  test: (e: EngineEvent) => boolean;
}

/** A rule that throws on some odd record (a string where an object belongs …) does not match it; nothing else is lost. */
function safeTest(slot: Slot, e: EngineEvent): boolean {
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
 * The global allow-list, asked once per session: a live one (adapters/rules/allowlist-store.ts) changes under a
 * running detector when an analyst marks something benign, and every detector built on it sees the change.
 */
export type AllowSource = CompiledAllowList | (() => CompiledAllowList);

export function createRuleDetector(rules: readonly CompiledRule[], allow: AllowSource): Detector {
  const index = indexRules(rules);
  const currentAllow = typeof allow === 'function' ? allow : () => allow;
  const order = new Map(rules.map((r, i) => [r.id, i]));
  // Matching events of earlier sessions for `acrossSessions` thresholds, one window deep per group key.
  const history = new Map<CompiledRule, Map<string, EngineEvent[]>>();
  // Candidate lists per (eventSource, eventName), built on first sight: a handful of pairs cover most traffic.
  const cache = new Map<string, Map<string, Slot[]>>();
  const candidatesFor = (e: EngineEvent): Slot[] => {
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

  return {
    detect(session: SessionContext, events: readonly EngineEvent[], _signals: readonly Signal[]): Finding[] {
      // rule → matching events (event/threshold) or per-step matches (sequence), in event order.
      const hits = new Map<CompiledRule, EngineEvent[]>();
      const steps = new Map<CompiledRule, Map<EngineEvent, Set<number>>>();
      const globalAllow = currentAllow();
      for (const e of events) {
        for (const slot of candidatesFor(e)) {
          if (!safeTest(slot, e)) continue;
          const rule = slot.rule;
          if (globalAllow.allows(e, rule.id) || rule.allow?.allows(e, rule.id)) continue;
          if (slot.step < 0) {
            let list = hits.get(rule);
            if (!list) {
              list = [];
              hits.set(rule, list);
            }
            list.push(e);
          } else {
            let m = steps.get(rule);
            if (!m) {
              m = new Map();
              steps.set(rule, m);
            }
            let s = m.get(e);
            if (!s) {
              s = new Set();
              m.set(e, s);
            }
            s.add(slot.step);
          }
        }
      }
      const findings: Finding[] = [];
      for (const [rule, matched] of hits) {
        if (rule.kind === 'event') findings.push(buildFinding(rule, session.key, matched));
        else findings.push(...thresholdFindings(rule, session.key, matched, history));
      }
      for (const [rule, matched] of steps) {
        if (rule.sequence!.ordered === false) findings.push(...unorderedFindings(rule, session.key, matched));
        else findings.push(...sequenceFindings(rule, session.key, matched));
      }
      // Deterministic output: by time, then rule order in the rule set.
      return findings.sort(
        (a, b) =>
          a.time.localeCompare(b.time) ||
          order.get(a.ruleId)! - order.get(b.ruleId)! ||
          a.id.localeCompare(b.id),
      );
    },
    score(session, findings) {
      return scoreSession(session, findings);
    },
  };
}

function groupBy<T>(items: readonly T[], key: (t: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    if (k === undefined) continue;
    let list = out.get(k);
    if (!list) {
      list = [];
      out.set(k, list);
    }
    list.push(item);
  }
  return out;
}

/** One finding per group: the first window of `windowMs` in which the count (or distinct count) is reached. */
/** Events kept per group key for cross-session thresholds, at most (the window bounds it first). */
const MAX_HISTORY = 1000;

/** One finding per group: the first window of `windowMs` in which the count (or distinct count) is reached. */
function thresholdFindings(
  rule: CompiledRule,
  sessionKey: string,
  matched: EngineEvent[],
  history: Map<CompiledRule, Map<string, EngineEvent[]>>,
): Finding[] {
  const t = rule.threshold!;
  const keysOf = (e: EngineEvent): string[] => (t.distinct ? t.distinct(e) : [e.id]);
  let past: Map<string, EngineEvent[]> | undefined;
  if (t.acrossSessions) {
    past = history.get(rule);
    if (!past) {
      past = new Map();
      history.set(rule, past);
    }
  }
  const out: Finding[] = [];
  for (const [group, current] of groupBy(matched, t.groupKey)) {
    const earlier = past?.get(group) ?? [];
    // The same detector may see the same events twice (a re-run, the bot and the digest): count each event once.
    const seenIds = new Set(current.map((e) => e.id));
    const older = earlier.filter((e) => !seenIds.has(e.id));
    const list = older.length ? [...older, ...current].sort((a, b) => a.time - b.time) : current;
    if (past) {
      const newest = list[list.length - 1]!.time;
      past.set(group, list.filter((x) => newest - x.time <= t.windowMs).slice(-MAX_HISTORY));
    }
    const mine = new Set(current);
    let start = 0;
    const counts = new Map<string, number>();
    for (let end = 0; end < list.length; end++) {
      const e = list[end]!;
      for (const k of keysOf(e)) counts.set(k, (counts.get(k) ?? 0) + 1);
      while (e.time - list[start]!.time > t.windowMs) {
        for (const k of keysOf(list[start]!)) {
          const n = (counts.get(k) ?? 1) - 1;
          if (n === 0) counts.delete(k);
          else counts.set(k, n);
        }
        start++;
      }
      // Only this session's events can complete a burst here; earlier sessions reported their own.
      if (counts.size >= t.count && mine.has(e)) {
        // Report the whole burst: every matching event of the group within the window from its start.
        const from = list[start]!.time;
        const burst = list.filter((x) => x.time >= from && x.time <= from + t.windowMs);
        const what = t.distinctField
          ? `${counts.size}+ distinct ${t.distinctField}`
          : `${burst.length} matching events`;
        const minutes = t.windowMs / 60_000;
        const across = burst.some((x) => !mine.has(x)) ? ', counting earlier sessions' : '';
        out.push(
          buildFinding(
            rule,
            sessionKey,
            burst,
            `${what} within ${minutes} min (threshold ${t.count}${across})`,
          ),
        );
        break;
      }
    }
  }
  return out;
}

/**
 * One finding per principal (or session): the first time all steps complete in order within the window.
 * Linear in events × steps: for each step it keeps only the partial chain with the latest start, which is
 * the one most likely to finish inside the window.
 */
function sequenceFindings(
  rule: CompiledRule,
  sessionKey: string,
  matched: Map<EngineEvent, Set<number>>,
): Finding[] {
  const seq = rule.sequence!;
  const last = seq.steps.length - 1;
  const ordered = [...matched.keys()];
  const out: Finding[] = [];
  for (const list of sequenceGroups(seq, ordered).values()) {
    const partial: (EngineEvent[] | undefined)[] = new Array(seq.steps.length);
    let found: EngineEvent[] | undefined;
    for (const e of list) {
      const steps = matched.get(e)!;
      // Highest step first, so one event never serves two consecutive steps.
      for (let s = last; s >= 0 && !found; s--) {
        if (!steps.has(s)) continue;
        let chain: EngineEvent[];
        if (s === 0) chain = [e];
        else {
          const prev = partial[s - 1];
          if (!prev || e.time - prev[0]!.time > seq.windowMs) continue;
          chain = [...prev, e];
        }
        if (s === last) found = chain;
        else if (!partial[s] || chain[0]!.time >= partial[s]![0]!.time) partial[s] = chain;
      }
      if (found) break;
    }
    if (found) {
      const lead = `sequence ${seq.steps.map((st, k) => `${st.name} (${found![k]!.record.eventName})`).join(' → ')}`;
      out.push(buildFinding(rule, sessionKey, found, lead));
    }
  }
  return out;
}

function sequenceGroups(
  seq: NonNullable<CompiledRule['sequence']>,
  ordered: EngineEvent[],
): Map<string, EngineEvent[]> {
  if (seq.groupKey) return groupBy(ordered, seq.groupKey);
  return seq.by === 'session' ? new Map([['session', ordered]]) : groupBy(ordered, principalOf);
}

/**
 * Steps in any order (Sigma `temporal`): one finding per group, the first time every step has been seen within
 * the window. Keeping the latest event per step is enough: it is the one most likely to fit the window.
 */
function unorderedFindings(
  rule: CompiledRule,
  sessionKey: string,
  matched: Map<EngineEvent, Set<number>>,
): Finding[] {
  const seq = rule.sequence!;
  const out: Finding[] = [];
  for (const list of sequenceGroups(seq, [...matched.keys()]).values()) {
    const latest: (EngineEvent | undefined)[] = new Array(seq.steps.length);
    for (const e of list) {
      for (const s of matched.get(e)!) latest[s] = e;
      let earliest = e.time;
      let complete = true;
      for (const x of latest) {
        if (!x) complete = false;
        else if (x.time < earliest) earliest = x.time;
      }
      if (!complete || e.time - earliest > seq.windowMs) continue;
      const chain = [...new Set(latest as EngineEvent[])].sort((a, b) => a.time - b.time);
      const lead = `all of ${seq.steps.map((st, k) => `${st.name} (${latest[k]!.record.eventName})`).join(', ')} within ${seq.windowMs / 60_000} min`;
      out.push(buildFinding(rule, sessionKey, chain, lead));
      break;
    }
  }
  return out;
}
