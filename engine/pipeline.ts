import { EventDeduper } from './dedupe.ts';
import { toEngineEvent } from './events.ts';
import { isoSecond } from './ingest/event-time.ts';
import type { CredentialLineage, EngineEvent, Finding, InputsSummary, SessionSummary } from './model.ts';
import { formatOrigin, type Rejected } from './record.ts';
import { type OpenSession, Sessionizer } from './sessions/sessionizer.ts';
import type { SourceItem } from './source.ts';
import type { Enricher, PipelineStages, SessionContext, SignalMapping, StreamDetector } from './stages.ts';

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

export interface Analysis<T = SessionReport> {
  /** Sessions in order of start time, each emitted once it can no longer grow. */
  sessions: AsyncIterable<T>;
  /** Complete once `sessions` is drained. */
  inputs: InputsSummary;
  truncated?: string;
  stats?: { bytesScanned?: number; costUsd?: number };
}

/**
 * A closed session with everything needed to finish it on this thread or another: what the stages that saw
 * every event in arrival order (credential lineage, cross-session thresholds) found for it when it closed.
 */
export interface SessionJob {
  ctx: SessionContext;
  start: number;
  end: number;
  eventCount: number;
  errorCount: number;
  /** In the one event order. */
  events: EngineEvent[];
  /** Per event, the lineage the observing enricher knew at close (absent: the enricher finds it itself). */
  lineage?: (CredentialLineage | undefined)[];
  /** The cross-session findings (absent: the detector counts them itself). */
  across?: Finding[];
}

export interface Finished<T> {
  value: T;
  /** Stage failures, reported in `inputs.rejected` where a one-thread run reports them. */
  errors: Rejected[];
}

/** Turns closed sessions into output: here (`local`), or elsewhere when `remote` takes the job. */
export interface SessionFinisher<T> {
  local(job: SessionJob): Finished<T>;
  /** A promise of the result, or undefined when the job is better finished here (the other side is busy). */
  remote?(job: SessionJob): Promise<Finished<T>> | undefined;
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
  const keepEvents = options.keepEvents ?? false;
  return analyzeWith(items, stages, options, { local: (job) => finishJob(job, stages, keepEvents) });
}

/**
 * `analyze` with the closed sessions turned into output by `finisher` (summarize's JSON text, on worker
 * threads): the output, its order and `inputs` are those of a one-thread run whichever side finishes a session.
 */
export function analyzeWith<T>(
  items: AsyncIterable<SourceItem>,
  stages: PipelineStages,
  options: AnalyzeOptions,
  finisher: SessionFinisher<T>,
): Analysis<T> {
  const inputs: InputsSummary = { files: 0, records: 0, duplicates: 0, rejected: [] };
  const analysis: Analysis<T> = { inputs, sessions: run() };
  const idleGapMs = (options.idleGapMinutes ?? 30) * 60_000;
  const latenessMs = (options.latenessMinutes ?? 15) * 60_000;

  async function* run(): AsyncGenerator<T> {
    const dedupe = new EventDeduper();
    const ready: Held<T>[] = [];
    const outbox: Held<T>[] = [];
    /** Stage failures of sessions finished elsewhere, put where a one-thread run reports them, at the end. */
    const lateErrors: { at: number; closeNo: number; errors: Rejected[] }[] = [];
    let closeNo = 0;
    // Rules counting across sessions see every event as it arrives (their own history, for this run only).
    const stream = stages.detector?.begin?.({ latenessMs });
    const active: PipelineStages = stream ? { ...stages, detector: stream } : stages;
    const maxHeldEvents = options.maxHeldEvents ?? 200_000;
    const sessionizer = new Sessionizer({
      idleGapMs,
      latenessMs,
      maxOpenEvents: maxHeldEvents,
      onClose: (s) => {
        if (options.sessionKey !== undefined && !matchesKey(s, options.sessionKey)) {
          stream?.forget(s.events);
          return;
        }
        const job = closedJob(s, active);
        const held: Held<T> = hold(job, options.keepEvents ? job.events.length : 0);
        const remote = finisher.remote?.(job);
        if (remote) {
          const at = inputs.rejected.length;
          const no = closeNo++;
          held.pending = remote.then((r) => {
            held.done = r;
            if (r.errors.length > 0) lateErrors.push({ at, closeNo: no, errors: r.errors });
          });
        } else {
          closeNo++;
          held.done = finisher.local(job);
          for (const e of held.done.errors) inputs.rejected.push(e);
        }
        ready.push(held);
        heldEvents += held.events;
        closedSinceCheck = true;
      },
    });
    // Whether held reports can go out changes only when a session closes or time moves on, so the check
    // (a pass over open sessions and a sort) runs then, not once per record.
    let closedSinceCheck = false;
    let watermarkAtCheck = Number.NEGATIVE_INFINITY;
    let heldEvents = 0;
    const valve = { reports: 0, behind: '' };
    const take = itemTaker({ inputs, analysis, dedupe, stages, stream, sessionizer });
    let turns = 0;
    for await (const item of items) {
      take(item);
      if (ready.length > 0 && (closedSinceCheck || sessionizer.watermark - watermarkAtCheck >= 60_000)) {
        closedSinceCheck = false;
        watermarkAtCheck = sessionizer.watermark;
        // Anything starting before both the open sessions and the lateness horizon is final.
        const inOrder = Math.min(sessionizer.earliestOpenStart, sessionizer.watermark - latenessMs);
        const horizon = heldEvents > maxHeldEvents ? Number.POSITIVE_INFINITY : inOrder;
        for (const held of takeReady(ready, horizon)) {
          heldEvents -= held.events;
          if (Date.parse(held.start) >= inOrder) {
            valve.reports++;
            valve.behind ||= sessionizer.earliestOpenKey ?? '';
          }
          outbox.push(held);
        }
      }
      // Everything above runs in promise jobs only: without a turn of the event loop now and then, neither the
      // callbacks of written output (process.nextTick, holding the text) nor worker results would ever run.
      if ((++turns & 511) === 0) await nextTurn();
      // Most items close nothing: no generator (and its promises) per item for an empty outbox.
      if (outbox.length > 0) yield* drain(outbox, outbox.length > 2000);
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
    for (const held of takeReady(ready, Number.POSITIVE_INFINITY)) outbox.push(held);
    yield* drain(outbox, true);
    placeLateErrors(inputs.rejected, lateErrors);
  }

  return analysis;
}

/** What a source item does to one analysis: records are numbered, de-duplicated, observed and sessionised. */
function itemTaker<T>(parts: {
  inputs: InputsSummary;
  analysis: Analysis<T>;
  dedupe: EventDeduper;
  stages: PipelineStages;
  stream: ReturnType<NonNullable<NonNullable<PipelineStages['detector']>['begin']>> | undefined;
  sessionizer: Sessionizer;
}): (item: SourceItem) => void {
  const { inputs, analysis, dedupe, stages, stream, sessionizer } = parts;
  let seq = 0;
  return (item: SourceItem): void => {
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
  };
}

/** A closed session waiting for its turn in start order (and, finished elsewhere, for its result). */
interface Held<T> {
  start: string;
  key: string;
  /** Events it holds in memory (kept for the report). */
  events: number;
  done?: Finished<T>;
  pending?: Promise<void>;
}

function hold<T>(job: SessionJob, events: number): Held<T> {
  return { start: isoSecond(job.start), key: job.ctx.key, events };
}

/** The finished reports at the head of the outbox, in order; `all`: wait for each until it is empty. */
async function* drain<T>(outbox: Held<T>[], all: boolean): AsyncGenerator<T> {
  let n = 0;
  while (n < outbox.length) {
    const held = outbox[n]!;
    if (!held.done) {
      if (!all) break;
      await held.pending;
    }
    n++;
    yield held.done!.value;
  }
  outbox.splice(0, n);
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Inserts stage failures reported later where they happened (by position, then close order). */
function placeLateErrors(
  rejected: Rejected[],
  late: { at: number; closeNo: number; errors: Rejected[] }[],
): void {
  late.sort((a, b) => b.at - a.at || b.closeNo - a.closeNo);
  for (const l of late) rejected.splice(l.at, 0, ...l.errors);
}

function takeReady<T>(ready: Held<T>[], horizon: number): Held<T>[] {
  ready.sort((a, b) => cmpStr(a.start, b.start) || cmpStr(a.key, b.key));
  let n = 0;
  while (n < ready.length && Date.parse(ready[n]!.start) < horizon) n++;
  return ready.splice(0, n);
}

/** What finishing a closed session needs from the stages that observed every event (see SessionJob). */
function closedJob(s: OpenSession, stages: PipelineStages): SessionJob {
  const facts = s.facts;
  const events = s.events; // already in the one event order
  const job: SessionJob = {
    ctx: facts.context(),
    start: facts.start,
    end: facts.end,
    eventCount: facts.eventCount,
    errorCount: facts.errorCount,
    events,
  };
  const enricher = stages.enricher;
  if (enricher?.lineageFor && enricher.enrichWith) {
    const lineage = new Array<CredentialLineage | undefined>(events.length);
    for (let i = 0; i < events.length; i++) lineage[i] = enricher.lineageFor(events[i]!);
    job.lineage = lineage;
  }
  const detector = stages.detector as StreamDetector | undefined;
  if (detector?.acrossSessions && detector.detectGiven) {
    job.across = detector.acrossSessions(job.ctx.key, events, job.ctx.end);
  }
  return job;
}

function matchesKey(s: OpenSession, wanted: string): boolean {
  return s.facts.key === wanted || s.facts.baseKey === wanted || s.facts.accessKeyIds.has(wanted);
}

/**
 * Runs the stages on a closed session and builds its report. A stage that throws costs that stage's output
 * for this session only; the failure is reported (in `errors`), the run goes on.
 */
export function finishJob(
  job: SessionJob,
  stages: PipelineStages,
  keepEvents: boolean,
): Finished<SessionReport> {
  const { ctx, events } = job;
  const errors: Rejected[] = [];
  const onStageError = (stage: string, e: unknown) =>
    errors.push({ where: `session ${ctx.key}`, reason: `${stage} failed: ${(e as Error)?.message ?? e}` });
  const guard = <T>(stage: string, fallback: T, run: () => T): T => {
    try {
      return run();
    } catch (e) {
      onStageError(stage, e);
      return fallback;
    }
  };
  if (stages.enricher) enrichAll(stages.enricher, job, onStageError);
  const mapper = stages.signalMapper;
  // Every event unmapped only without a mapper or when it failed: no id list per session otherwise.
  const mapping: SignalMapping = (mapper &&
    guard<SignalMapping | undefined>('signal mapping', undefined, () => mapper.map(ctx, events))) ?? {
    signals: [],
    unmappedEventIds: events.map((e) => e.id),
  };
  const enricher = stages.enricher;
  if (enricher?.annotateSignals && mapping.signals.length > 0) {
    guard('signal enrichment', undefined, () => enricher.annotateSignals?.(mapping.signals, events));
  }
  const detector = stages.detector;
  const across = job.across;
  const findings = detector
    ? guard('detection', [], () =>
        across && detector.detectGiven
          ? detector.detectGiven(ctx, events, mapping.signals, across)
          : detector.detect(ctx, events, mapping.signals),
      )
    : [];
  const report: SessionReport = {
    key: ctx.key,
    kind: ctx.kind,
    principal: ctx.principal,
    accessKeyIds: ctx.accessKeyIds,
    sourceIps: ctx.sourceIps,
    userAgents: ctx.userAgents,
    regions: ctx.regions,
    start: isoSecond(job.start),
    end: isoSecond(job.end),
    eventCount: job.eventCount,
    errorCount: job.errorCount,
    signals: mapping.signals,
    unmappedEventIds: mapping.unmappedEventIds,
    findings,
  };
  if (ctx.mfa !== undefined) report.mfa = ctx.mfa;
  if (detector) {
    const risk = guard('risk scoring', undefined, () => detector.score(ctx, findings));
    if (risk) report.risk = risk;
  }
  if (keepEvents) report.events = events;
  return { value: report, errors };
}

function enrichAll(
  enricher: Enricher,
  job: SessionJob,
  onStageError: (stage: string, e: unknown) => void,
): void {
  const { events, lineage } = job;
  const withLineage = lineage && enricher.enrichWith ? enricher.enrichWith : undefined;
  // No guard() here: a closure and a message per event cost more than enriching some of them.
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    try {
      if (withLineage) withLineage(e, lineage![i]);
      else enricher.enrich(e);
    } catch (error) {
      onStageError(`enrichment of event ${e.id}`, error);
    }
  }
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
