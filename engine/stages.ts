/**
 * The stages of the analysis pipeline, as small interfaces.
 *
 *   source items ─▶ dedupe ─▶ Enricher.observe, StreamDetector.observe (every event, arrival order)
 *                          ─▶ sessionizer ─▶ on session close:
 *                                 Enricher.enrich (each event, time order)
 *                                 SignalMapper.map (session events, time order)
 *                                 Detector.detect (session + events + signals)
 *                                 Detector.score
 *
 * `engine/pipeline.ts` wires them; each stage lives in its own module and knows nothing of the others.
 */
import type { DescribeDerivedField } from './detections/event-filter.ts';
import type {
  CredentialLineage,
  EngineEvent,
  Finding,
  Principal,
  SessionKind,
  SessionRisk,
  Signal,
} from './model.ts';

/** What the pipeline knows about a session when it hands it to a stage. */
export interface SessionContext {
  key: string;
  kind: SessionKind;
  principal: Principal;
  accessKeyIds: string[];
  sourceIps: string[];
  userAgents: string[];
  regions: string[];
  mfa?: boolean;
  /**
   * The session's last event time (ms), when `detect` is handed only some of its events (a store's prefiltered
   * events, engine/grouped-analysis.ts): a burst counted across sessions reaches up to it. Absent: the events'.
   */
  end?: number;
}

export interface Enricher {
  /** Sees every event once in arrival order (e.g. to learn which AssumeRole issued which key). Cheap. */
  observe(event: EngineEvent): void;
  /** Attaches `event.enrichment`. Called once per event when its session closes, in time order. */
  enrich(event: EngineEvent): void;
  /**
   * The credential lineage `enrich` would attach now (from what `observe` has seen so far), and `enrich` with a
   * lineage found that way: a session finished on a worker thread gets its lineage from the thread that observed.
   */
  lineageFor?(event: EngineEvent): CredentialLineage | undefined;
  enrichWith?(event: EngineEvent, lineage: CredentialLineage | undefined): void;
  /** Facts about the tables used (e.g. iam-data version), printed in JSON output. */
  readonly info: Record<string, string>;
  /**
   * Adds the facts of each signal's member events to the signal (`details.enrichment`), after mapping,
   * so an action reads "Permissions management, T1098" without the reader opening its events.
   */
  annotateSignals?(signals: readonly Signal[], events: readonly EngineEvent[]): void;
  /**
   * A test on one of the enricher's fields (`enrichment.sourceKind` …) in terms of record fields, so stores that
   * filter (Athena) can be asked for the events it can hold for (engine/detections/pushdown.ts).
   */
  describeField?: DescribeDerivedField;
}

export interface SignalMapping {
  signals: Signal[];
  unmappedEventIds: string[];
}

export interface SignalMapper {
  /** Events are sorted by the deterministic event order (see `engine/order.ts`). */
  map(session: SessionContext, events: readonly EngineEvent[]): SignalMapping;
}

export interface Detector {
  /** Findings of single-event, threshold and sequence rules for one session. */
  detect(session: SessionContext, events: readonly EngineEvent[], signals: readonly Signal[]): Finding[];
  /** 0–100 risk with reasons, from the session's findings. */
  score(session: SessionContext, findings: readonly Finding[]): SessionRisk;
  /**
   * A detector for one analysis, for rules that count across sessions: the pipeline hands it every event as it
   * arrives, so what a session's findings count depends on the events, not on the order sessions close.
   */
  begin?(stream: { latenessMs: number }): StreamDetector;
  /**
   * `detect` with the cross-session findings given (found by the StreamDetector that observed every event, see
   * `StreamDetector.acrossSessions`) instead of counted here: the same findings, in the same order.
   */
  detectGiven?(
    session: SessionContext,
    events: readonly EngineEvent[],
    signals: readonly Signal[],
    across: readonly Finding[],
  ): Finding[];
}

export interface StreamDetector extends Detector {
  /** Every event once, in arrival order, before its session closes. Cheap. */
  observe(event: EngineEvent): void;
  /** A session closed without `detect` (filtered out): its events are done with. */
  forget(events: readonly EngineEvent[]): void;
  /** The cross-session part of `detect` for a closing session (called once, instead of `detect`). */
  acrossSessions?(sessionKey: string, events: readonly EngineEvent[], end?: number): Finding[];
}

/** The stages the pipeline runs; any may be absent (e.g. sessions only). */
export interface PipelineStages {
  enricher?: Enricher;
  signalMapper?: SignalMapper;
  detector?: Detector;
}
