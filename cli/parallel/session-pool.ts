/**
 * Worker threads for `summarize --format json --threads N`: the main thread reads, parses, de-duplicates,
 * observes and groups every event (the parts whose result depends on all events and their order) and hands
 * closed sessions to N − 1 workers (session-worker.ts), which finish them into JSON text. The main thread
 * finishes a session itself whenever every worker has enough queued, so both kinds of work share the cores.
 * The output is the one-thread output byte for byte: analyzeWith keeps start order and error positions.
 */
import { Worker } from 'node:worker_threads';
import type { Finished, SessionFinisher, SessionJob } from '../../engine/pipeline.ts';
import type { Rejected } from '../../engine/record.ts';

export interface WorkerSetup {
  withEvents: boolean;
  ruleDirs?: string[];
}

interface Slot {
  worker: Worker;
  /** Events sent and not answered yet. */
  queued: number;
  waiting: Map<
    number,
    { events: number; resolve: (f: Finished<string>) => void; reject: (e: Error) => void }
  >;
}

/** Queued events per worker beyond which the main thread finishes sessions itself (~0.1 s of work). */
const QUEUE_EVENTS = 4000;

export class SessionPool {
  readonly #slots: Slot[];
  #nextId = 0;
  #failure: Error | undefined;

  constructor(workers: number, setup: WorkerSetup) {
    this.#slots = Array.from({ length: workers }, () => this.#start(setup));
  }

  /** A SessionFinisher that sends jobs here while a worker has room and finishes them with `local` otherwise. */
  finisher(local: (job: SessionJob) => Finished<string>): SessionFinisher<string> {
    return { local, remote: (job) => this.#send(job) };
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #start(setup: WorkerSetup): Slot {
    const worker = new Worker(bootstrap(), { eval: true, workerData: setup });
    const slot: Slot = { worker, queued: 0, waiting: new Map() };
    worker.on('message', (m: { id?: number; text?: string; errors?: Rejected[]; failure?: string }) => {
      if (m.id === undefined) return;
      const w = slot.waiting.get(m.id)!;
      slot.waiting.delete(m.id);
      slot.queued -= w.events;
      if (m.failure !== undefined) w.reject(new Error(`worker thread: ${m.failure}`));
      else w.resolve({ value: m.text!, errors: m.errors ?? [] });
    });
    worker.on('error', (e) => this.#fail(slot, e));
    worker.on('exit', (code) => {
      if (slot.waiting.size > 0) this.#fail(slot, new Error(`worker thread exited (${code})`));
    });
    return slot;
  }

  #fail(slot: Slot, e: Error): void {
    this.#failure ??= e;
    for (const w of slot.waiting.values()) w.reject(e);
    slot.waiting.clear();
  }

  #send(job: SessionJob): Promise<Finished<string>> | undefined {
    if (this.#failure) throw this.#failure;
    let best: Slot | undefined;
    for (const s of this.#slots) if (!best || s.queued < best.queued) best = s;
    const events = job.events.length;
    if (!best || (best.queued > 0 && best.queued + events > QUEUE_EVENTS)) return undefined;
    const id = this.#nextId++;
    best.queued += events;
    const slot = best;
    return new Promise((resolve, reject) => {
      slot.waiting.set(id, { events, resolve, reject });
      slot.worker.postMessage({ id, job });
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
