/**
 * Findings of the event rules a store counted (engine/source.ts `GroupedScan.counted`, EventPushdown.countable):
 * per session and rule, the counts, the first events' keys and the first event whole add up to the same
 * EvidenceSummary the detector makes from the events themselves (detections/finding.ts), so the finding is the
 * same one: same id, time, severity, first MAX_EVIDENCE_IDS event ids and explanation. Nothing is sampled that the
 * finding would not also cut: a finding keeps at most MAX_EVIDENCE_IDS ids and states the exact count.
 *
 * Events without an eventID are not counted by the store (Cartographer derives their id); they come with the
 * prefiltered events and are added here (`addEvent`).
 */
import type { CompiledRule } from './detections/compiled-rule.ts';
import { failedCall, findingFrom, MAX_EVIDENCE_IDS, thresholdLead } from './detections/finding.ts';
import { toEngineEvent } from './events.ts';
import type { EngineEvent, Finding } from './model.ts';
import type { CloudTrailRecord } from './record.ts';
import { type BucketSession, bucketRecord, GROUPED_INPUT } from './sessions/buckets.ts';
import { sessionKeyOf } from './sessions/session-key.ts';
import type { BurstHit, EvidenceKey, RuleHits } from './source.ts';

interface Tally {
  count: number;
  succeeded: number;
  keys: EvidenceKey[];
  /** Event name → its first key. */
  names: Map<string, EvidenceKey>;
  first: { key: EvidenceKey; record: CloudTrailRecord };
}

/** Per session, per counted rule: what its matching events add up to. */
export class CountedEvidence {
  readonly bySession = new Map<BucketSession, Map<string, Tally>>();

  constructor(readonly ruleIds: ReadonlySet<string>) {}

  /** Adds a store's groups; a group no session holds is returned (the caller reports it). */
  addHits(hits: readonly RuleHits[], find: FindSession): RuleHits[] {
    return placeAll(hits, hitSession, find, (s, h) => {
      const first = { key: h.first[0]!, record: h.record };
      for (const rule of h.rules) this.add(s, rule, h.count, h.succeeded, h.first, h.names, first);
    });
  }

  /** One prefiltered event of session `s` that matched counted rule `ruleId` (an event the store did not count). */
  addEvent(s: BucketSession, ruleId: string, e: EngineEvent): void {
    const key = {
      time: e.time,
      source: e.record.eventSource ?? '',
      name: e.record.eventName ?? '',
      id: e.id,
    };
    this.add(s, ruleId, 1, failedCall(e.record) ? 0 : 1, [key], [{ name: key.name, key }], {
      key,
      record: e.record,
    });
  }

  private add(
    s: BucketSession,
    ruleId: string,
    count: number,
    succeeded: number,
    keys: readonly EvidenceKey[],
    names: RuleHits['names'],
    first: Tally['first'],
  ): void {
    let rules = this.bySession.get(s);
    if (!rules) {
      rules = new Map();
      this.bySession.set(s, rules);
    }
    let t = rules.get(ruleId);
    if (!t) {
      t = { count: 0, succeeded: 0, keys: [], names: new Map(), first };
      rules.set(ruleId, t);
    } else if (compareKeys(first.key, t.first.key) < 0) t.first = first;
    t.count += count;
    t.succeeded += succeeded;
    for (const k of keys) t.keys.push(k);
    for (const { name, key } of names) {
      const known = t.names.get(name);
      if (!known || compareKeys(key, known) < 0) t.names.set(name, key);
    }
  }

  /** The counted rules' findings of session `s`, and the times of their evidence events (for alert windows). */
  findings(
    s: BucketSession,
    rules: ReadonlyMap<string, CompiledRule>,
    enrich: (e: EngineEvent) => void,
  ): { findings: Finding[]; times: Map<string, number> } {
    const findings: Finding[] = [];
    const times = new Map<string, number>();
    for (const [ruleId, t] of this.bySession.get(s) ?? []) {
      const rule = rules.get(ruleId);
      if (!rule) continue;
      const keys = dedupe(t.keys.sort(compareKeys)).slice(0, MAX_EVIDENCE_IDS);
      for (const k of keys) times.set(k.id, k.time);
      const first = toEngineEvent(t.first.record, 0);
      enrich(first);
      const names = [...t.names].sort((a, b) => compareKeys(a[1], b[1])).map(([n]) => n);
      findings.push(
        findingFrom(rule, s.key, {
          first,
          count: t.count,
          ids: keys.map((k) => k.id),
          names,
          allFailed: t.succeeded === 0,
        }),
      );
    }
    return { findings, times };
  }
}

/**
 * Threshold findings a store computed (engine/source.ts `GroupedScan.bursts`): each is the burst of the first window
 * in which the rule's count was reached in one session and group, with its size, how many calls did not fail, its
 * first MAX_EVIDENCE_IDS keys and first event, which is the detector's EvidenceSummary of that burst (detector.ts
 * thresholdFindings; counted across sessions: cross-session.ts), so the finding is the same one. The store names the
 * finding's session (its base key and the time of one of its events).
 */
export class BurstFindings {
  readonly bySession = new Map<BucketSession, BurstHit[]>();

  constructor(readonly ruleIds: ReadonlySet<string>) {}

  /** Places each finding in the session the store names; one no session holds is returned. */
  add(bursts: readonly BurstHit[], find: FindSession): BurstHit[] {
    return placeAll(
      bursts,
      (b) => b.session,
      find,
      (s, b) => {
        const list = this.bySession.get(s);
        if (list) list.push(b);
        else this.bySession.set(s, [b]);
      },
    );
  }

  findings(
    s: BucketSession,
    rules: ReadonlyMap<string, CompiledRule>,
    enrich: (e: EngineEvent) => void,
  ): { findings: Finding[]; times: Map<string, number> } {
    const findings: Finding[] = [];
    const times = new Map<string, number>();
    for (const b of this.bySession.get(s) ?? []) {
      const rule = rules.get(b.rule);
      if (!rule?.threshold) continue;
      for (const k of b.first) times.set(k.id, k.time);
      const first = toEngineEvent(b.record, 0);
      enrich(first);
      const summary = {
        first,
        count: b.count,
        ids: b.first.map((k) => k.id),
        names: [],
        allFailed: b.succeeded === 0,
      };
      findings.push(findingFrom(rule, s.key, summary, thresholdLead(rule, b.reached, b.count, b.across)));
    }
    return { findings, times };
  }
}

/** The session a store names by its base key and the time of one of its events. */
type FindSession = (base: string, time: number) => BucketSession | undefined;

/** Places each item in the session `find` names for it; the items no session holds are returned. */
function placeAll<T>(
  items: readonly T[],
  sessionOf: (item: T) => { key: string; time: number } | undefined,
  find: FindSession,
  place: (s: BucketSession, item: T) => void,
): T[] {
  const lost: T[] = [];
  for (const item of items) {
    const named = sessionOf(item);
    if (!named) continue;
    const s = find(named.key, named.time);
    if (s) place(s, item);
    else lost.push(item);
  }
  return lost;
}

/** The session a store's group names: its identity's session at the time of its first event (none without one). */
function hitSession(h: RuleHits): { key: string; time: number } | undefined {
  const lead = h.first[0];
  if (!lead) return undefined;
  const bucket = { identity: h.identity, ref: {}, first: lead.time, last: lead.time, events: 0, errors: 0 };
  return { key: sessionKeyOf(bucketRecord(bucket), GROUPED_INPUT), time: lead.time };
}

/** The event order (engine/order.ts compareEvents) on keys. */
export function compareKeys(a: EvidenceKey, b: EvidenceKey): number {
  return a.time - b.time || cmp(a.source, b.source) || cmp(a.name, b.name) || cmp(a.id, b.id);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function dedupe(sorted: EvidenceKey[]): EvidenceKey[] {
  return sorted.filter((k, i) => i === 0 || k.id !== sorted[i - 1]!.id);
}

/** Whether `e` has an id of its own (the store counts only those). */
export function hasEventId(e: EngineEvent): boolean {
  const id = e.record.eventID;
  return typeof id === 'string' && id.length > 0;
}
