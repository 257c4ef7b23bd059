/**
 * Worker threads for `summarize --format json --threads N`: the main thread reads, parses, de-duplicates,
 * observes and groups every event (the parts whose result depends on all events and their order) and hands
 * closed sessions to N − 1 workers (session-worker.ts), which finish them into JSON text. The main thread
 * finishes a session itself whenever every worker has enough queued, so both kinds of work share the cores.
 * The output is the one-thread output byte for byte: analyzeWith keeps start order and error positions.
 */
import { Worker } from 'node:worker_threads';
import type { StageOptions } from '../../compose/stages.ts';
import type { Finished, SessionFinisher, SessionJob } from '../../engine/pipeline.ts';
import type { Rejected } from '../../engine/record.ts';
import { postWithSharedParts } from './shared-parts.ts';

export interface WorkerSetup {
  withEvents: boolean;
  /**
   * The main thread's stage settings (allow-list file, rule folders), read once there: the worker then loads only
   * what finishing needs, not the CLI's settings and source modules (ingest, configuration, AWS adapters).
   * Settings only: a live allow-list store cannot cross to another thread.
   */
  stages: Omit<StageOptions, 'allowlist'>;
}

interface Waiting {
  job: SessionJob;
  resolve: (f: Finished<string>) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  /** Events sent and not answered yet. */
  queued: number;
  waiting: Map<number, Waiting>;
  /** Dead or closing: sent nothing more. */
  failed: boolean;
}

/**
 * Queued events per worker beyond which the main thread finishes sessions itself (~0.2 s of work). Sessions close
 * in bursts; 8000 lets the worker take a burst the main thread would otherwise finish (4000 left the worker idle
 * for part of the run). With WORKER_YOUNG_MB: 1M records on two threads 18.3 → 16.7 s, peak 382 → 396 MB.
 */
const QUEUE_EVENTS = 8000;
/** Larger sessions are finished on the main thread, so a worker's heap stays small (WORKER_HEAP_MB). */
const MAX_JOB_EVENTS = 10_000;
const WORKER_HEAP_MB = 160;
/**
 * The worker's young generation: a job's events die once its JSON is written, so a larger nursery collects them
 * young; at 24 MB a worker ran ~180 scavenges over 200k records, at 48 MB about half as many.
 */
const WORKER_YOUNG_MB = 48;

export class SessionPool {
  readonly #slots: Slot[];
  readonly #local: (job: SessionJob) => Finished<string>;
  #nextId = 0;

  /** `local` finishes a job on this thread: when every worker is busy, and for the jobs of a worker that died. */
  constructor(workers: number, setup: WorkerSetup, local: (job: SessionJob) => Finished<string>) {
    this.#local = local;
    this.#slots = Array.from({ length: workers }, () => this.#start(setup));
  }

  /** A SessionFinisher that sends jobs here while a worker has room and finishes them here otherwise. */
  finisher(): SessionFinisher<string> {
    return { local: this.#local, remote: (job) => this.#send(job) };
  }

  async close(): Promise<void> {
    for (const s of this.#slots) s.failed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #start(setup: WorkerSetup): Slot {
    const worker = new Worker(bootstrap(), {
      eval: true,
      workerData: setup,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    const slot: Slot = { worker, queued: 0, waiting: new Map(), failed: false };
    worker.on('message', (m: { id?: number; text?: string; errors?: Rejected[]; failure?: string }) => {
      if (m.id === undefined) return;
      const w = slot.waiting.get(m.id);
      if (!w) return;
      slot.waiting.delete(m.id);
      slot.queued -= w.job.events.length;
      // A session the worker could not finish is finished here, as one thread would (errors and all).
      if (m.failure !== undefined) this.#finishHere(w);
      else w.resolve({ value: m.text!, errors: m.errors ?? [] });
    });
    worker.on('error', () => this.#retire(slot));
    worker.on('exit', () => this.#retire(slot));
    return slot;
  }

  /** A worker that died (out of memory, say): its sessions are finished here, none is lost or changed. */
  #retire(slot: Slot): void {
    slot.failed = true;
    const left = [...slot.waiting.values()];
    slot.waiting.clear();
    slot.queued = 0;
    for (const w of left) this.#finishHere(w);
  }

  #finishHere(w: Waiting): void {
    try {
      w.resolve(this.#local(w.job));
    } catch (e) {
      w.reject(e);
    }
  }

  #send(job: SessionJob): Promise<Finished<string>> | undefined {
    const events = job.events.length;
    if (events > MAX_JOB_EVENTS) return undefined;
    let best: Slot | undefined;
    for (const s of this.#slots) if (!s.failed && (!best || s.queued < best.queued)) best = s;
    if (!best || (best.queued > 0 && best.queued + events > QUEUE_EVENTS)) return undefined;
    const id = this.#nextId++;
    best.queued += events;
    const slot = best;
    return new Promise((resolve, reject) => {
      slot.waiting.set(id, { job, resolve, reject });
      postWithSharedParts(slot.worker, { id, job });
    });
  }
}

/**
 * The worker's entry: the compiled module when running from JavaScript, else through the same TypeScript loader
 * (tsx) the command runs under.
 */
function bootstrap(): string {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return `import(${JSON.stringify(new URL('./session-worker.js', here).href)});`;
  const entry = new URL('./session-worker.ts', here).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
}
