/**
 * `summarize --format json` sessions: each closed session is finished and written as JSON text at once (on this
 * thread or a worker's, see session-pool.ts), so what waits for its turn in start order is text, not events.
 */
import { setFlagsFromString } from 'node:v8';
import {
  type Analysis,
  type AnalyzeOptions,
  analyzeWith,
  type Finished,
  finishJob,
  type SessionJob,
} from '../../engine/pipeline.ts';
import type { SourceItem } from '../../engine/source.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { stageOptions } from '../command-support.ts';
import { sessionJson } from '../format/session-json.ts';
import { SessionPool } from './session-pool.ts';

export interface JsonSessionsOptions extends AnalyzeOptions {
  withEvents: boolean;
  /** Threads in all (1: this one only). */
  threads: number;
  ruleDirs?: string[];
}

export interface JsonSessions extends Analysis<string> {
  /** Stops the worker threads (call once the sessions are drained or abandoned). */
  close(): Promise<void>;
}

/**
 * With worker threads, how much V8 lets each heap grow past what survived its last full collection, percent (its
 * default is up to 4× for a busy heap). Two heaps at the default took a million events to 535 MB resident; this
 * keeps them under 500 MB. The flag is process-wide and read at each collection. One thread keeps V8's default:
 * it stays under 500 MB without it, and a tight factor costs a quarter more CPU there.
 */
const HEAP_GROWING_PERCENT = 100;

export function jsonSessions(
  items: AsyncIterable<SourceItem>,
  stages: PipelineStages,
  options: JsonSessionsOptions,
): JsonSessions {
  const local = (job: SessionJob): Finished<string> => {
    const done = finishJob(job, stages, options.withEvents);
    return { value: sessionJson(done.value, options.withEvents), errors: done.errors };
  };
  const analyzeOptions: AnalyzeOptions = { ...options, keepEvents: options.withEvents };
  if (options.threads <= 1) {
    return { ...analyzeWith(items, stages, analyzeOptions, { local }), close: async () => {} };
  }
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const pool = new SessionPool(
    options.threads - 1,
    { withEvents: options.withEvents, stages: stageOptions(options.ruleDirs ?? []) },
    local,
  );
  return { ...analyzeWith(items, stages, analyzeOptions, pool.finisher()), close: () => pool.close() };
}
