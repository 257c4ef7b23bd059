/**
 * Runs one lookup through the engine: a RecordSource read with the query, fed to `analyze()` with
 * the default stages. The bot never parses CloudTrail itself; this is the only place it touches the
 * engine, behind a small interface so tests can wrap the source (slow, failing) and keep the rest real.
 */
import type { InputsSummary } from '../../engine/model.ts';
import { analyze, type SessionReport } from '../../engine/pipeline.ts';
import type {
  RecordSource,
  SourceItem,
  SourceName,
  SourceProgress,
  SourceQuery,
} from '../../engine/source.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { createTimeSlicer } from './time-slice.ts';

export interface AnalyzeRequest {
  source: SourceName;
  query: SourceQuery;
  /** Keep only this session (session-key lookups). */
  sessionKey?: string;
  /** How many sessions to keep with their events (default 5). */
  keep?: number;
  signal: AbortSignal;
  onProgress: (p: SourceProgress) => void;
}

export interface AnalyzeResult {
  /** The `keep` worst sessions (highest risk, then earliest), with their events. */
  sessions: SessionReport[];
  /** Every other session found, by key only: memory stays bounded however wide the lookup. */
  others: { key: string; risk?: number }[];
  inputs: InputsSummary;
  truncated?: string;
  stats?: { bytesScanned?: number; costUsd?: number };
}

export interface SessionAnalyzer {
  analyze(request: AnalyzeRequest): Promise<AnalyzeResult>;
  /** Forget loaded rules (after an allow-list change) so the next lookup sees them. */
  reloadStages(): void;
  /** Loads the rules now (at start, before requests arrive) instead of in the first lookup. */
  warm?(): Promise<void>;
}

export type SourceProvider = (name: SourceName) => Promise<RecordSource>;

/** Progress from sources that do not report it themselves (local files): every this many records. */
const COUNT_EVERY = 500;

export function createPipelineAnalyzer(options: {
  sources: SourceProvider;
  stages: () => Promise<PipelineStages>;
}): SessionAnalyzer {
  let stages: Promise<PipelineStages> | undefined;
  const loadStages = () => {
    stages ??= options.stages().catch((err) => {
      stages = undefined; // a broken rule file must not poison every later lookup
      throw err;
    });
    return stages;
  };
  return {
    reloadStages() {
      stages = undefined;
    },
    async warm() {
      await loadStages();
    },
    async analyze(req) {
      const [source, loaded] = await Promise.all([options.sources(req.source), loadStages()]);
      const items = countingItems(
        source.read(req.query, { signal: req.signal, onProgress: req.onProgress }),
        req,
      );
      const analysisOptions: { keepEvents: boolean; sessionKey?: string } = { keepEvents: true };
      if (req.sessionKey) analysisOptions.sessionKey = req.sessionKey;
      const analysis = analyze(items, loaded, analysisOptions);
      const keep = req.keep ?? 5;
      const sessions: SessionReport[] = [];
      const others: { key: string; risk?: number }[] = [];
      const slicer = createTimeSlicer();
      for await (const s of analysis.sessions) {
        if (req.signal.aborted) break;
        await slicer.maybeYield();
        sessions.push(s);
        if (sessions.length > keep) {
          sessions.sort(worstFirst);
          const dropped = sessions.pop()!;
          others.push(dropped.risk ? { key: dropped.key, risk: dropped.risk.score } : { key: dropped.key });
        }
      }
      if (req.signal.aborted) throw abortReason(req.signal);
      sessions.sort(worstFirst);
      const result: AnalyzeResult = { sessions, others, inputs: analysis.inputs };
      if (analysis.truncated) result.truncated = analysis.truncated;
      if (analysis.stats) result.stats = analysis.stats;
      return result;
    },
  };
}

/** Highest risk first, then earliest start: the order sessions are posted in. */
export function worstFirst(a: SessionReport, b: SessionReport): number {
  return (b.risk?.score ?? 0) - (a.risk?.score ?? 0) || a.start.localeCompare(b.start);
}

async function* countingItems(
  items: AsyncIterable<SourceItem>,
  req: AnalyzeRequest,
): AsyncGenerator<SourceItem> {
  let records = 0;
  // Reading and parsing run in microtasks: give Slack's requests a turn every few milliseconds.
  const slicer = createTimeSlicer();
  for await (const item of items) {
    await slicer.maybeYield();
    if (req.signal.aborted) throw abortReason(req.signal);
    if (item.kind === 'record') {
      records++;
      if (records % COUNT_EVERY === 0)
        req.onProgress({ message: `read ${records.toLocaleString('en-US')} events`, records });
    }
    yield item;
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? 'cancelled'));
}
