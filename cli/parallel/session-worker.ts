/**
 * A worker thread of `summarize --threads N`: finishes the closed sessions the main thread sends (enrichment,
 * signals, detections, risk; the lineage and cross-session findings come with each job from the thread that saw
 * every event) and answers with the session's JSON text, so the main thread only reads, groups and writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadStageFactory } from '../../compose/stages.ts';
import { finishJob, type SessionJob } from '../../engine/pipeline.ts';
import { sessionJson } from '../format/session-json.ts';
import type { WorkerSetup } from './session-pool.ts';

const setup = workerData as WorkerSetup;
const port = parentPort!;
// The same settings as the main thread's stages (allow-list file, `rulesDirs`), as the main thread read them.
const stages = (await loadStageFactory(setup.stages))();

port.on('message', (message: { id: number; job: SessionJob }) => {
  try {
    const done = finishJob(message.job, stages, setup.withEvents);
    port.postMessage({
      id: message.id,
      text: sessionJson(done.value, setup.withEvents),
      errors: done.errors,
    });
  } catch (e) {
    port.postMessage({ id: message.id, failure: (e as Error)?.stack ?? String(e) });
  }
});
port.postMessage({ ready: true });
