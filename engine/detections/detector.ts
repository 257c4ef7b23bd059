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
  const matches = new SessionMatches();
  for (let i = 0; i < events.length; i++) matchEvent(matches, events[i]!, candidatesFor, globalAllow);
  return matches.empty() ? [] : matches.findings(sessionKey);
}

/**
 * What one session's events matched: rule → matching events (event/threshold rules) or per-step matches
 * (sequence rules), in event order. The per-event matching (hot) and the building of findings (once per rule that
 * matched) are kept in separate functions: the optimising compiler then compiles the hot loop once, small, instead of
 * compiling it again each time a finding's explanation meets a record or rule of a shape it had not seen.
 */
class SessionMatches {
  readonly hits = new Map<CompiledRule, EngineEvent[]>();
  readonly steps = new Map<CompiledRule, Map<EngineEvent, Set<number>>>();

  empty(): boolean {
    return this.hits.size === 0 && this.steps.size === 0;
  }

  hit(rule: CompiledRule, e: EngineEvent): void {
    const list = this.hits.get(rule);
    if (list) list.push(e);
    else this.hits.set(rule, [e]);
  }

  step(rule: CompiledRule, e: EngineEvent, step: number): void {
    let m = this.steps.get(rule);
    if (!m) {
      m = new Map();
      this.steps.set(rule, m);
    }
    const s = m.get(e);
    if (s) s.add(step);
    else m.set(e, new Set([step]));
  }

  findings(sessionKey: string): Finding[] {
    const out: Finding[] = [];
    for (const [rule, matched] of this.hits) {
      if (rule.kind === 'event') out.push(buildFinding(rule, sessionKey, matched));
      else thresholdFindings(rule, sessionKey, matched, out);
    }
    for (const [rule, matched] of this.steps) {
      if (rule.sequence!.ordered === false) unorderedFindings(rule, sessionKey, matched, out);
      else sequenceFindings(rule, sessionKey, matched, out);
    }
    return out;
  }
}

function matchEvent(
  matches: SessionMatches,
  e: EngineEvent,
  candidatesFor: (e: EngineEvent) => Slot[],
  globalAllow: CompiledAllowList,
): void {
  const slots = candidatesFor(e);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]!;
    if (!safeTest(slot, e)) continue;
    const rule = slot.rule;
    if (globalAllow.allows(e, rule.id) || rule.allow?.allows(e, rule.id)) continue;
    if (slot.step < 0) matches.hit(rule, e);
    else matches.step(rule, e, slot.step);
  }
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
function thresholdFindings(
  rule: CompiledRule,
  sessionKey: string,
  matched: EngineEvent[],
  out: Finding[],
): void {
  const t = rule.threshold!;
  for (const list of groupBy(matched, t.groupKey).values()) {
    const counts = new Map<string, number>();
    const start = burstStart(list, t.windowMs, t.count, t.distinct, counts);
    if (start >= 0) out.push(burstFinding(rule, sessionKey, list, start, counts.size));
  }
}

/**
 * Where the first window holding `count` events (or distinct values) starts in `list`, or -1; `counts` is left
 * holding what that window counted.
 */
function burstStart(
  list: readonly EngineEvent[],
  windowMs: number,
  count: number,
  distinct: ((e: EngineEvent) => string[]) | undefined,
  counts: Map<string, number>,
): number {
  let start = 0;
  // Each event's distinct values are read once, when it enters the window, and kept for when it leaves it.
  const seen: string[][] | undefined = distinct ? [] : undefined;
  for (let end = 0; end < list.length; end++) {
    const e = list[end]!;
    if (seen) {
      const keys = distinct!(e);
      seen.push(keys);
      for (let i = 0; i < keys.length; i++) counts.set(keys[i]!, (counts.get(keys[i]!) ?? 0) + 1);
    } else counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    while (e.time - list[start]!.time > windowMs) {
      if (seen) for (const k of seen[start]!) uncount(counts, k);
      else uncount(counts, list[start]!.id);
      start++;
    }
    if (counts.size >= count) return start;
  }
  return -1;
}

/** Reports the whole burst: every matching event of the group within the window from its start. */
function burstFinding(
  rule: CompiledRule,
  sessionKey: string,
  list: readonly EngineEvent[],
  start: number,
  reached: number,
): Finding {
  const t = rule.threshold!;
  const from = list[start]!.time;
  const burst = list.filter((x) => x.time >= from && x.time <= from + t.windowMs);
  return buildFinding(rule, sessionKey, burst, thresholdLead(rule, reached, burst.length));
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
  out: Finding[],
): void {
  const seq = rule.sequence!;
  for (const list of sequenceGroups(seq, [...matched.keys()]).values()) {
    const found = firstChain(list, matched, seq.steps.length, seq.windowMs);
    if (found) out.push(sequenceFinding(rule, sessionKey, found));
  }
}

/** The first chain of events completing steps 0 … steps-1 in order within the window, if any. */
function firstChain(
  list: readonly EngineEvent[],
  matched: Map<EngineEvent, Set<number>>,
  steps: number,
  windowMs: number,
): EngineEvent[] | undefined {
  const last = steps - 1;
  const partial: (EngineEvent[] | undefined)[] = new Array(steps);
  for (const e of list) {
    const at = matched.get(e)!;
    // Highest step first, so one event never serves two consecutive steps.
    for (let s = last; s >= 0; s--) {
      if (!at.has(s)) continue;
      let chain: EngineEvent[];
      if (s === 0) chain = [e];
      else {
        const prev = partial[s - 1];
        if (!prev || e.time - prev[0]!.time > windowMs) continue;
        chain = [...prev, e];
      }
      if (s === last) return chain;
      if (!partial[s] || chain[0]!.time >= partial[s]![0]!.time) partial[s] = chain;
    }
  }
  return undefined;
}

function sequenceFinding(rule: CompiledRule, sessionKey: string, found: EngineEvent[]): Finding {
  const steps = rule.sequence!.steps;
  const lead = `sequence ${steps.map((st, k) => `${st.name} (${found[k]!.record.eventName})`).join(' → ')}`;
  return buildFinding(rule, sessionKey, found, lead);
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
  out: Finding[],
): void {
  const seq = rule.sequence!;
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
      out.push(unorderedFinding(rule, sessionKey, latest as EngineEvent[]));
      break;
    }
  }
}

function unorderedFinding(rule: CompiledRule, sessionKey: string, latest: EngineEvent[]): Finding {
  const seq = rule.sequence!;
  const chain = [...new Set(latest)].sort((a, b) => a.time - b.time);
  const lead = `all of ${seq.steps.map((st, k) => `${st.name} (${latest[k]!.record.eventName})`).join(', ')} within ${seq.windowMs / 60_000} min`;
  return buildFinding(rule, sessionKey, chain, lead);
}
