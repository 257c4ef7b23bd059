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

export interface RuleIndex {
  byName: Map<string, Slot[]>;
  always: Slot[];
  slotCount: number;
}

export function indexRules(rules: readonly CompiledRule[]): RuleIndex {
  const byName = new Map<string, Slot[]>();
  const always: Slot[] = [];
  let slotCount = 0;
  const add = (slot: Slot, names: Set<string> | undefined) => {
    slotCount++;
    if (!names) {
      always.push(slot);
      return;
    }
    for (const n of names) {
      let list = byName.get(n);
      if (!list) {
        list = [];
        byName.set(n, list);
      }
      list.push(slot);
    }
  };
  for (const rule of rules) {
    if (rule.kind === 'sequence') {
      rule.sequence!.steps.forEach((s, i) => {
        add({ rule, step: i, test: s.match }, s.eventNames);
      });
    } else {
      add({ rule, step: -1, test: rule.match! }, rule.eventNames);
    }
  }
  return { byName, always, slotCount };
}

export function createRuleDetector(rules: readonly CompiledRule[], globalAllow: CompiledAllowList): Detector {
  const index = indexRules(rules);
  const order = new Map(rules.map((r, i) => [r.id, i]));
  const nameCache = new Map<string, Slot[]>();
  const candidatesFor = (eventName: string): Slot[] => {
    let c = nameCache.get(eventName);
    if (!c) {
      c = [...(index.byName.get(eventName.toLowerCase()) ?? []), ...index.always];
      nameCache.set(eventName, c);
    }
    return c;
  };

  return {
    detect(session: SessionContext, events: readonly EngineEvent[], _signals: readonly Signal[]): Finding[] {
      // rule → matching events (event/threshold) or per-step matches (sequence), in event order.
      const hits = new Map<CompiledRule, EngineEvent[]>();
      const steps = new Map<CompiledRule, Map<EngineEvent, Set<number>>>();
      for (const e of events) {
        for (const slot of candidatesFor(e.record.eventName)) {
          if (!slot.test(e)) continue;
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
        else findings.push(...thresholdFindings(rule, session.key, matched));
      }
      for (const [rule, matched] of steps) findings.push(...sequenceFindings(rule, session.key, matched));
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
function thresholdFindings(rule: CompiledRule, sessionKey: string, matched: EngineEvent[]): Finding[] {
  const t = rule.threshold!;
  const keysOf = (e: EngineEvent): string[] => (t.distinct ? t.distinct(e) : [e.id]);
  const out: Finding[] = [];
  for (const list of groupBy(matched, t.groupKey).values()) {
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
      if (counts.size >= t.count) {
        // Report the whole burst: every matching event of the group within the window from its start.
        const from = list[start]!.time;
        const burst = list.filter((x) => x.time >= from && x.time <= from + t.windowMs);
        const what = t.distinctField
          ? `${counts.size}+ distinct ${t.distinctField}`
          : `${burst.length} matching events`;
        const minutes = t.windowMs / 60_000;
        out.push(
          buildFinding(rule, sessionKey, burst, `${what} within ${minutes} min (threshold ${t.count})`),
        );
        break;
      }
    }
  }
  return out;
}

/** One finding per principal (or session): the earliest completion of all steps in order within the window. */
function sequenceFindings(
  rule: CompiledRule,
  sessionKey: string,
  matched: Map<EngineEvent, Set<number>>,
): Finding[] {
  const seq = rule.sequence!;
  const ordered = [...matched.keys()];
  const groups = seq.by === 'session' ? new Map([['session', ordered]]) : groupBy(ordered, principalOf);
  const out: Finding[] = [];
  for (const list of groups.values()) {
    for (let i = 0; i < list.length; i++) {
      const start = list[i]!;
      if (!matched.get(start)!.has(0)) continue;
      const chain = [start];
      let step = 1;
      for (let j = i + 1; j < list.length && step < seq.steps.length; j++) {
        const e = list[j]!;
        if (e.time - start.time > seq.windowMs) break;
        if (matched.get(e)!.has(step)) {
          chain.push(e);
          step++;
        }
      }
      if (step === seq.steps.length) {
        const lead = `sequence ${seq.steps.map((s, k) => `${s.name} (${chain[k]!.record.eventName})`).join(' → ')}`;
        out.push(buildFinding(rule, sessionKey, chain, lead));
        break;
      }
    }
  }
  return out;
}
