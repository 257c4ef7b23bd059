import { EventDeduper } from './dedupe.ts';
import { toEngineEvent } from './events.ts';
import type { EngineEvent, InputsSummary, SessionSummary } from './model.ts';
import { formatOrigin } from './record.ts';
import { type OpenSession, Sessionizer } from './sessions/sessionizer.ts';
import type { SourceItem } from './source.ts';
import type { PipelineStages, SignalMapping, StreamDetector } from './stages.ts';

export interface AnalyzeOptions {
  /** Idle gap that splits a session, minutes (default 30). */
  idleGapMinutes?: number;
  /** Only this session: its key, its key before idle splitting, or one of its access key IDs. */
  sessionKey?: string;
  /** Attach the session's events (time order, enriched) to each report. */
  keepEvents?: boolean;
  /** How late an event may arrive behind the newest one, minutes (default 15). */
  latenessMinutes?: number;
  /**
   * Closed sessions wait for every earlier-starting session to close, so that output is in start order.
   * A session that never pauses (an AWS service polling all day) would hold everything behind it; past
   * this many held events (default 200,000; only `keepEvents` reports hold events), the held reports go
   * out anyway and the long session comes later, out of order (said in `inputs.skipped`). The same number
   * bounds events in open sessions when input comes far out of time order (engine/sessions/sessionizer.ts).
   */
  maxHeldEvents?: number;
}

export interface SessionReport extends SessionSummary {
  events?: EngineEvent[];
}

export interface Analysis {
  /** Sessions in order of start time, each emitted once it can no longer grow. */
  sessions: AsyncIterable<SessionReport>;
  /** Complete once `sessions` is drained. */
  inputs: InputsSummary;
  truncated?: string;
  stats?: { bytesScanned?: number; costUsd?: number };
}

/**
 * Source items in, session reports out:
 *   dedupe by event id → Enricher.observe, StreamDetector.observe (arrival order) → sessionizer → on close, in time order:
 *   Enricher.enrich each event → SignalMapper.map → Detector.detect → Detector.score.
 * Closed sessions are held (as summaries, events dropped unless `keepEvents`) only until every session
 * that could start earlier has closed, so reports come out in start order with bounded memory.
 */
export function analyze(
  items: AsyncIterable<SourceItem>,
  stages: PipelineStages,
  options: AnalyzeOptions = {},
): Analysis {
  const inputs: InputsSummary = { files: 0, records: 0, duplicates: 0, rejected: [] };
  const analysis: Analysis = { inputs, sessions: run() };
  const idleGapMs = (options.idleGapMinutes ?? 30) * 60_000;
  const latenessMs = (options.latenessMinutes ?? 15) * 60_000;

  async function* run(): AsyncGenerator<SessionReport> {
    const dedupe = new EventDeduper();
    const ready: SessionReport[] = [];
    // Rules counting across sessions see every event as it arrives (their own history, for this run only).
    const stream = stages.detector?.begin?.({ latenessMs });
    const active: PipelineStages = stream ? { ...stages, detector: stream } : stages;
    const maxHeldEvents = options.maxHeldEvents ?? 200_000;
    const sessionizer = new Sessionizer({
      idleGapMs,
      latenessMs,
      maxOpenEvents: maxHeldEvents,
      onClose: (s) => {
        const report = finish(s, active, options, (stage, e) =>
          inputs.rejected.push({
            where: `session ${s.facts.key}`,
            reason: `${stage} failed: ${(e as Error)?.message ?? e}`,
          }),
        );
        if (report) {
          ready.push(report);
          heldEvents += report.events?.length ?? 0;
        }
        closedSinceCheck = true;
      },
    });
    // Whether held reports can go out changes only when a session closes or time moves on, so the check
    // (a pass over open sessions and a sort) runs then, not once per record.
    let closedSinceCheck = false;
    let watermarkAtCheck = Number.NEGATIVE_INFINITY;
    let heldEvents = 0;
    const valve = { reports: 0, behind: '' };
    let seq = 0;
    for await (const item of items) {
      switch (item.kind) {
        case 'record': {
          const event = toEngineEvent(item.record, seq++);
          inputs.records++;
          if (!dedupe.firstSighting(event.id)) {
            inputs.duplicates = dedupe.duplicates;
            break;
          }
          stages.enricher?.observe(event);
          stream?.observe(event);
          sessionizer.add(event, item.origin.file);
          break;
        }
        case 'rejected':
          inputs.rejected.push({ where: formatOrigin(item.origin), reason: item.reason });
          break;
        case 'file':
          inputs.files++;
          break;
        case 'skipped':
          if (!inputs.skipped) inputs.skipped = [];
          inputs.skipped.push({ where: formatOrigin(item.origin), reason: item.reason });
          break;
        case 'truncated':
          analysis.truncated = item.reason;
          break;
        case 'stats':
          analysis.stats = {
            ...analysis.stats,
            ...(item.bytesScanned !== undefined ? { bytesScanned: item.bytesScanned } : {}),
            ...(item.costUsd !== undefined ? { costUsd: item.costUsd } : {}),
          };
          break;
      }
      if (ready.length > 0 && (closedSinceCheck || sessionizer.watermark - watermarkAtCheck >= 60_000)) {
        closedSinceCheck = false;
        watermarkAtCheck = sessionizer.watermark;
        // Anything starting before both the open sessions and the lateness horizon is final.
        const inOrder = Math.min(sessionizer.earliestOpenStart, sessionizer.watermark - latenessMs);
        const horizon = heldEvents > maxHeldEvents ? Number.POSITIVE_INFINITY : inOrder;
        for (const report of takeReady(ready, horizon)) {
          heldEvents -= report.events?.length ?? 0;
          if (Date.parse(report.start) >= inOrder) {
            valve.reports++;
            valve.behind ||= sessionizer.earliestOpenKey ?? '';
          }
          yield report;
        }
      }
    }
    sessionizer.closeAll();
    inputs.duplicates = dedupe.duplicates;
    const notes = sessionizer.notes();
    if (valve.reports > 0)
      notes.push({
        where: 'sessions',
        reason: `${valve.reports} session report(s) went out before a session that started earlier and had not paused (${valve.behind}), because more than ${maxHeldEvents} events of finished sessions were waiting behind it: the output is not in start order there`,
      });
    if (notes.length > 0) inputs.skipped = [...(inputs.skipped ?? []), ...notes];
    yield* takeReady(ready, Number.POSITIVE_INFINITY);
  }

  return analysis;
}

function* takeReady(ready: SessionReport[], horizon: number): Generator<SessionReport> {
  ready.sort((a, b) => cmpStr(a.start, b.start) || cmpStr(a.key, b.key));
  let n = 0;
  while (n < ready.length && Date.parse(ready[n]!.start) < horizon) n++;
  const out = ready.splice(0, n);
  yield* out;
}

function matchesKey(s: OpenSession, wanted: string): boolean {
  return s.facts.key === wanted || s.facts.baseKey === wanted || s.facts.accessKeyIds.has(wanted);
}

/**
 * Runs the stages on a closed session and builds its report (undefined when filtered out). A stage that
 * throws costs that stage's output for this session only; the failure is reported, the run goes on.
 */
function finish(
  s: OpenSession,
  stages: PipelineStages,
  options: AnalyzeOptions,
  onStageError: (stage: string, error: unknown) => void,
): SessionReport | undefined {
  if (options.sessionKey !== undefined && !matchesKey(s, options.sessionKey)) {
    (stages.detector as StreamDetector | undefined)?.forget?.(s.events);
    return undefined;
  }
  const events = s.events; // already in the one event order
  const facts = s.facts;
  const ctx = facts.context();
  const guard = <T>(stage: string, fallback: T, run: () => T): T => {
    try {
      return run();
    } catch (e) {
      onStageError(stage, e);
      return fallback;
    }
  };
  const enricher = stages.enricher;
  if (enricher) {
    // No guard() here: a closure and a message per event cost more than enriching some of them.
    for (const e of events) {
      try {
        enricher.enrich(e);
      } catch (error) {
        onStageError(`enrichment of event ${e.id}`, error);
      }
    }
  }
  const unmapped: SignalMapping = { signals: [], unmappedEventIds: events.map((e) => e.id) };
  const mapper = stages.signalMapper;
  const mapping = mapper ? guard('signal mapping', unmapped, () => mapper.map(ctx, events)) : unmapped;
  if (enricher?.annotateSignals && mapping.signals.length > 0) {
    guard('signal enrichment', undefined, () => enricher.annotateSignals?.(mapping.signals, events));
  }
  const detector = stages.detector;
  const findings = detector
    ? guard('detection', [], () => detector.detect(ctx, events, mapping.signals))
    : [];
  const report: SessionReport = {
    key: ctx.key,
    kind: ctx.kind,
    principal: ctx.principal,
    accessKeyIds: ctx.accessKeyIds,
    sourceIps: ctx.sourceIps,
    userAgents: ctx.userAgents,
    regions: ctx.regions,
    start: isoSeconds(facts.start),
    end: isoSeconds(facts.end),
    eventCount: facts.eventCount,
    errorCount: facts.errorCount,
    signals: mapping.signals,
    unmappedEventIds: mapping.unmappedEventIds,
    findings,
  };
  if (ctx.mfa !== undefined) report.mfa = ctx.mfa;
  if (detector) {
    const risk = guard('risk scoring', undefined, () => detector.score(ctx, findings));
    if (risk) report.risk = risk;
  }
  if (options.keepEvents) report.events = events;
  return report;
}

/** CloudTrail's own spelling: whole seconds, `Z`. */
function isoSeconds(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
