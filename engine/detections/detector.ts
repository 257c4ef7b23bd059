/**
 * Runs compiled rules over one session's events (rule-index.ts picks the rules each event can match).
 * Thresholds counted across sessions read a per-analysis history instead (cross-session.ts): `begin()` opens one
 * for a pipeline run, which hands it every event as it arrives.
 */
import type { EngineEvent, Finding, Signal } from '../model.ts';
import type { Detector, SessionContext, StreamDetector } from '../stages.ts';
import type { CompiledAllowList } from './allowlist.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { principalOf } from './compiled-rule.ts';
import { CrossSessionMemory, isCrossSession } from './cross-session.ts';
import { buildFinding, thresholdLead } from './finding.ts';
import { scoreSession } from './risk.ts';
import { candidateLookup, indexRules, type Slot, safeTest } from './rule-index.ts';

/**
 * The global allow-list, asked once per session: a live one (adapters/rules/allowlist-store.ts) changes under a
 * running detector when an analyst marks something benign, and every detector built on it sees the change.
 */
export type AllowSource = CompiledAllowList | (() => CompiledAllowList);

export function createRuleDetector(rules: readonly CompiledRule[], allow: AllowSource): Detector {
  const candidatesFor = candidateLookup(indexRules(rules.filter((r) => !isCrossSession(r))));
  const currentAllow = typeof allow === 'function' ? allow : () => allow;
  const order = new Map(rules.map((r, i) => [r.id, i]));
  const merged = (session: SessionContext, events: readonly EngineEvent[], across: readonly Finding[]) => {
    const findings = sessionFindings(session.key, events, candidatesFor, currentAllow());
    for (const f of across) findings.push(f);
    // Deterministic output: by time, then rule order in the rule set.
    return findings.sort(
      (a, b) =>
        a.time.localeCompare(b.time) ||
        order.get(a.ruleId)! - order.get(b.ruleId)! ||
        a.id.localeCompare(b.id),
    );
  };
  const withMemory = (memory: CrossSessionMemory): Detector => ({
    detect(session: SessionContext, events: readonly EngineEvent[], _signals: readonly Signal[]): Finding[] {
      return merged(session, events, memory.sessionFindings(session.key, events, session.end));
    },
    detectGiven(session, events, _signals, across) {
      return merged(session, events, across);
    },
    score(session, findings) {
      return scoreSession(session, findings);
    },
  });
  // Called directly, session after session (tests, one-off checks): sessions bring their own events, in time order.
  const detector = withMemory(
    new CrossSessionMemory(rules, currentAllow, { latenessMs: 0, observed: false }),
  );
  detector.begin = (stream): StreamDetector => {
    const memory = new CrossSessionMemory(rules, currentAllow, {
      latenessMs: stream.latenessMs,
      observed: true,
    });
    return Object.assign(withMemory(memory), {
      observe: (e: EngineEvent) => memory.observe(e),
      forget: (events: readonly EngineEvent[]) => memory.forget(events),
      acrossSessions: (sessionKey: string, events: readonly EngineEvent[], end?: number) =>
        memory.sessionFindings(sessionKey, events, end),
    });
  };
  return detector;
}

/** Event, within-session threshold and sequence rules over one session's events. */
function sessionFindings(
  sessionKey: string,
  events: readonly EngineEvent[],
  candidatesFor: (e: EngineEvent) => Slot[],
  globalAllow: CompiledAllowList,
): Finding[] {
  // rule → matching events (event/threshold) or per-step matches (sequence), in event order.
  const hits = new Map<CompiledRule, EngineEvent[]>();
  const steps = new Map<CompiledRule, Map<EngineEvent, Set<number>>>();
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
    if (rule.kind === 'event') findings.push(buildFinding(rule, sessionKey, matched));
    else findings.push(...thresholdFindings(rule, sessionKey, matched));
  }
  for (const [rule, matched] of steps) {
    if (rule.sequence!.ordered === false) findings.push(...unorderedFindings(rule, sessionKey, matched));
    else findings.push(...sequenceFindings(rule, sessionKey, matched));
  }
  return findings;
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
  const distinct = t.distinct;
  const out: Finding[] = [];
  for (const list of groupBy(matched, t.groupKey).values()) {
    let start = 0;
    const counts = new Map<string, number>();
    // Each event's distinct values are read once, when it enters the window, and kept for when it leaves it.
    const seen: string[][] | undefined = distinct ? [] : undefined;
    for (let end = 0; end < list.length; end++) {
      const e = list[end]!;
      if (seen) {
        const keys = distinct!(e);
        seen.push(keys);
        for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
      } else counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
      while (e.time - list[start]!.time > t.windowMs) {
        if (seen) for (const k of seen[start]!) uncount(counts, k);
        else uncount(counts, list[start]!.id);
        start++;
      }
      if (counts.size >= t.count) {
        // Report the whole burst: every matching event of the group within the window from its start.
        const from = list[start]!.time;
        const burst = list.filter((x) => x.time >= from && x.time <= from + t.windowMs);
        out.push(buildFinding(rule, sessionKey, burst, thresholdLead(rule, counts.size, burst.length)));
        break;
      }
    }
  }
  return out;
}

function uncount(counts: Map<string, number>, k: string): void {
  const n = (counts.get(k) ?? 1) - 1;
  if (n === 0) counts.delete(k);
  else counts.set(k, n);
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
