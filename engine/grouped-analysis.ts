/**
 * The analysis of a grouped scan (engine/source.ts `GroupedScan`): every session from the store's buckets, and the
 * findings and risk of each from the prefiltered events alone.
 *
 * Why that is the same as analysing every event: an event-level rule fires on events its condition holds for, a
 * threshold counts and a sequence chains only events matching their own conditions, and risk is computed from the
 * findings (and the principal); the prefilter returns every event any of those conditions can hold for, plus the
 * events enrichment must observe (engine/detections/pushdown.ts). Sessions come from the buckets, so the prefiltered
 * events of one session are judged together, under the session's own key, as the local pipeline does.
 * test/adapters/aws/athena-scale.test.ts proves the equivalence on a generated day against `cartographer digest` on the same files.
 *
 * What this does not give: a session's actions (signals), its full address and client lists. Whoever shows a
 * session fetches its events afterwards (AggregatingSource.sessionEvents) and runs the pipeline on them.
 */

import { EventDeduper } from './dedupe.ts';
import type { CompiledRule } from './detections/compiled-rule.ts';
import {
  asciiOnlyFields,
  existsFields,
  PLAIN_ASCII,
  pushdownOf,
  structuredAt,
} from './detections/pushdown.ts';
import { toEngineEvent } from './events.ts';
import { eventFieldGetter } from './field-path.ts';
import { BurstFindings, CountedEvidence, hasEventId } from './grouped-findings.ts';
import { isoSecond } from './ingest/event-time.ts';
import type { EngineEvent, Finding, InputsSummary, SessionRisk, SessionSummary } from './model.ts';
import { compareEvents } from './order.ts';
import { formatOrigin } from './record.ts';
import { type BucketSession, GROUPED_INPUT, sessionIndex, sessionsFromBuckets } from './sessions/buckets.ts';
import { sessionKeyOf } from './sessions/session-key.ts';
import type { GroupedScan } from './source.ts';
import type { PipelineStages, SessionContext } from './stages.ts';

export interface GroupedSession extends BucketSession {
  findings: Finding[];
  risk: SessionRisk;
  /** The session's prefiltered events, enriched, in event order (the evidence of its findings among them). */
  events: EngineEvent[];
  /** Times of evidence events the store counted instead of returning (GroupedScan.counted), by event id. */
  countedTimes: Map<string, number>;
}

export interface GroupedAnalysis {
  sessions: GroupedSession[];
  inputs: InputsSummary;
}

export function analyzeGrouped(
  scan: Pick<GroupedScan, 'buckets' | 'items' | 'counted' | 'hits' | 'burstRules' | 'bursts'>,
  stages: PipelineStages,
  options: { idleGapMs: number; latenessMs?: number },
): GroupedAnalysis {
  const inputs: InputsSummary = { files: 0, records: 0, duplicates: 0, rejected: [] };
  const events = prefilteredEvents(scan, inputs);
  const sessions = sessionsFromBuckets(scan.buckets, options.idleGapMs);
  const find = sessionIndex(sessions);
  const enricher = stages.enricher;
  // Thresholds counted across sessions read the analysis' history (engine/detections/cross-session.ts), filled
  // here with every prefiltered event before any session is judged, as the pipeline fills it on arrival.
  const stream = stages.detector?.begin?.({ latenessMs: options.latenessMs ?? 15 * 60_000 });
  const judging: PipelineStages = stream ? { ...stages, detector: stream } : stages;
  const members = new Map<BucketSession, EngineEvent[]>();
  for (const e of events) {
    enricher?.observe(e);
    stream?.observe(e);
    const s = find(sessionKeyOf(e.record, GROUPED_INPUT), e.time);
    if (!s) {
      inputs.rejected.push({ where: `event ${e.id}`, reason: 'no session bucket holds this event' });
      continue;
    }
    const list = members.get(s);
    if (list) list.push(e);
    else members.set(s, [e]);
  }
  // Sessions are judged in the order of their last event (then start, then key): one order that depends on the
  // events alone.
  const counted = new CountedEvidence(new Set(scan.counted ?? []));
  for (const lost of counted.addHits(scan.hits ?? [], find)) {
    inputs.rejected.push({
      where: `counted events ${lost.first[0]?.id ?? ''}`,
      reason: `no session bucket holds these ${lost.count} events`,
    });
  }
  const bursts = new BurstFindings(new Set(scan.burstRules ?? []));
  for (const lost of bursts.add(scan.bursts ?? [], find)) {
    inputs.rejected.push({
      where: `threshold finding ${lost.rule} at ${lost.first[0]?.id ?? ''}`,
      reason: `no session bucket holds its ${lost.count} events`,
    });
  }
  const order = [...sessions].sort(closeOrder);
  const judged = new Map<BucketSession, GroupedSession>();
  // The rules as the stages' detector exposes them (the stream detector `begin` returns does not).
  const rules = (stages.detector as { rules?: readonly CompiledRule[] } | undefined)?.rules ?? [];
  // Fields of each counted rule the store decides on printable ASCII only (the rest it returns as events).
  const ascii = new Map(
    pushdownOf(stages).rules.map((r) => [
      r.id,
      [...asciiOnlyFields(r.filter)].map((f) => eventFieldGetter(f)),
    ]),
  );
  // Fields of each counted rule tested for presence (a store counts only where no array or object is there).
  const exists = new Map(pushdownOf(stages).rules.map((r) => [r.id, [...existsFields(r.filter)]]));
  const tally = { counted, bursts, rules, ascii, exists };
  for (const s of order) judged.set(s, judge(s, members.get(s) ?? [], judging, inputs, tally));
  return { sessions: sessions.map((s) => judged.get(s)!), inputs };
}

function prefilteredEvents(scan: Pick<GroupedScan, 'items'>, inputs: InputsSummary): EngineEvent[] {
  const dedupe = new EventDeduper();
  const out: EngineEvent[] = [];
  let seq = 0;
  for (const item of scan.items) {
    if (item.kind === 'rejected')
      inputs.rejected.push({ where: formatOrigin(item.origin), reason: item.reason });
    if (item.kind !== 'record') continue;
    inputs.records++;
    const e = toEngineEvent(item.record, seq++);
    if (dedupe.firstSighting(e.id)) out.push(e);
  }
  inputs.duplicates = dedupe.duplicates;
  return out.sort(compareEvents);
}

function judge(
  s: BucketSession,
  events: EngineEvent[],
  stages: PipelineStages,
  inputs: InputsSummary,
  tally: Tally,
): GroupedSession {
  const ctx = contextOf(s, events);
  for (const e of events) {
    try {
      stages.enricher?.enrich(e);
    } catch (error) {
      inputs.rejected.push({
        where: `event ${e.id}`,
        reason: `enrichment failed: ${(error as Error).message}`,
      });
    }
  }
  const detector = stages.detector;
  let findings: Finding[] = [];
  if (detector && events.length > 0) {
    try {
      findings = detector.detect(ctx, events, []);
    } catch (error) {
      inputs.rejected.push({
        where: `session ${s.key}`,
        reason: `detection failed: ${(error as Error).message}`,
      });
    }
  }
  const more = countedFindings(s, events, stages, tally);
  if (more) findings = more.merge(findings);
  const risk = detector ? detector.score(ctx, findings) : { score: 0, reasons: [] };
  return { ...s, findings, risk, events, countedTimes: more?.times ?? new Map() };
}

/**
 * The counted rules' findings of a session (engine/grouped-findings.ts), and how to merge them with the detector's:
 * the detector's findings of those rules are dropped (it saw only the events that other rules let through), and
 * the result is in the detector's order (time, rule order, id).
 */
function countedFindings(
  s: BucketSession,
  events: readonly EngineEvent[],
  stages: PipelineStages,
  { counted, bursts, rules, ascii, exists }: Tally,
): { times: Map<string, number>; merge: (found: Finding[]) => Finding[] } | undefined {
  if (counted.ruleIds.size === 0 && bursts.ruleIds.size === 0) return undefined;
  const byId = new Map(rules.filter((r) => counted.ruleIds.has(r.id)).map((r) => [r.id, r]));
  // The events the store returned instead of counting (engine/detections/pushdown.ts asciiOnlyFields).
  for (const e of events) {
    for (const rule of byId.values()) {
      const fields = ascii.get(rule.id) ?? [];
      const present = exists.get(rule.id) ?? [];
      const decided = present.every((f) => !structuredAt(e.record, f));
      if (hasEventId(e) && decided && fields.every((read) => plainAt(e, read))) continue;
      if (matches(rule, e)) counted.addEvent(s, rule.id, e);
    }
  }
  const enrich = (e: EngineEvent) => {
    try {
      stages.enricher?.enrich(e);
    } catch {
      // The same event failed enrichment among the session's events too; the finding reads its record.
    }
  };
  const { findings, times } = counted.findings(s, byId, enrich);
  // Within-session thresholds the store computed: the detector saw only the events other rules let through.
  const burstRules = new Map(rules.filter((r) => bursts.ruleIds.has(r.id)).map((r) => [r.id, r]));
  const more = bursts.findings(s, burstRules, enrich);
  for (const f of more.findings) findings.push(f);
  for (const [id, t] of more.times) times.set(id, t);
  const replaced = (id: string) => counted.ruleIds.has(id) || bursts.ruleIds.has(id);
  const order = new Map(rules.map((r, i) => [r.id, i]));
  return {
    times,
    merge: (found) =>
      [...found.filter((f) => !replaced(f.ruleId)), ...findings].sort(
        (a, b) =>
          a.time.localeCompare(b.time) ||
          (order.get(a.ruleId) ?? 0) - (order.get(b.ruleId) ?? 0) ||
          a.id.localeCompare(b.id),
      ),
  };
}

function plainAt(e: EngineEvent, read: (e: EngineEvent) => unknown[]): boolean {
  return read(e).every((v) => typeof v !== 'string' || PLAIN_ASCII.test(v));
}

interface Tally {
  counted: CountedEvidence;
  bursts: BurstFindings;
  /** The rules as the stages' detector exposes them. */
  rules: readonly CompiledRule[];
  /** Per counted rule, its fields the store decides on printable ASCII only. */
  ascii: Map<string, ((e: EngineEvent) => unknown[])[]>;
  /** Per counted rule, its fields tested for presence (engine/detections/pushdown.ts existsFields). */
  exists: Map<string, string[]>;
}

/** An event rule's test as the detector runs it (rule-index.ts: by name or source, then the condition). */
function matches(rule: CompiledRule, e: EngineEvent): boolean {
  if (rule.eventNames && !rule.eventNames.has(String(e.record.eventName).toLowerCase())) return false;
  if (rule.eventSources && !rule.eventSources.has(String(e.record.eventSource).toLowerCase())) return false;
  try {
    return rule.match?.(e) ?? false;
  } catch {
    return false;
  }
}

/** What detection and scoring read of a session (key and principal); the rest from the events at hand. */
function contextOf(s: BucketSession, events: readonly EngineEvent[]): SessionContext {
  const distinct = (values: (string | undefined)[]) =>
    [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))].sort();
  return {
    key: s.key,
    kind: 'unknown',
    principal: s.principal,
    accessKeyIds: distinct(events.map((e) => e.record.userIdentity?.accessKeyId)),
    sourceIps: distinct(events.map((e) => e.record.sourceIPAddress)),
    userAgents: distinct(events.map((e) => e.record.userAgent)),
    regions: distinct(events.map((e) => e.record.awsRegion)),
    end: s.end,
  };
}

/**
 * A session summary carrying what the digest ranks by (key, principal, counts, findings, risk); kind, addresses,
 * clients and actions need the session's events (fetched when the session is shown).
 */
export function groupedSummary(s: GroupedSession): SessionSummary {
  const ctx = contextOf(s, s.events);
  return {
    key: s.key,
    kind: 'unknown',
    principal: s.principal,
    accessKeyIds: ctx.accessKeyIds,
    sourceIps: ctx.sourceIps,
    userAgents: ctx.userAgents,
    regions: ctx.regions,
    start: isoSecond(s.start),
    end: isoSecond(s.end),
    eventCount: s.eventCount,
    errorCount: s.errorCount,
    signals: [],
    unmappedEventIds: [],
    findings: s.findings,
    risk: s.risk,
  };
}

/** The order sessions are judged in: by last event, then start, then key. */
function closeOrder(a: BucketSession, b: BucketSession): number {
  return a.end - b.end || a.start - b.start || (a.baseKey < b.baseKey ? -1 : a.baseKey > b.baseKey ? 1 : 0);
}
