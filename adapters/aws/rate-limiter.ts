/**
 * Request budget per account and region for LookupEvents (AWS: 2 requests per second per account and region).
 *
 * A sliding window rather than a classic token bucket: a bucket holding 2 tokens that refills at 2/s lets 3 requests
 * into one second (2 at once, 1 at +0.5 s), which is exactly what AWS throttles. Here at most `limit` requests start
 * within any `windowMs + marginMs`, counted from when each request finished (see `slots`).
 */
export interface RateLimiterOptions {
  /** Requests allowed per window (default 2). */
  limit?: number;
  windowMs?: number;
  /** Extra spacing against clock granularity (default 20 ms). */
  marginMs?: number;
  now?: () => number;
}

export class SlidingWindowLimiter {
  private readonly limit: number;
  private readonly spanMs: number;
  private readonly now: () => number;
  /**
   * One entry per recent request: when it finished, or +Infinity while in flight. Counting from the end of a
   * request (not its start) is what makes the guarantee hold at the server: AWS sees a request arrive somewhere
   * between our start and our end, so "start the next one a window after the previous one ended" can never put
   * too many into one of its seconds, however long signing, connecting or the network took.
   */
  private readonly slots: number[] = [];
  private wake: (() => void)[] = [];
  /** Serialises waiters so they are admitted in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: RateLimiterOptions = {}) {
    this.limit = Math.max(1, Math.floor(options.limit ?? 2));
    this.spanMs = (options.windowMs ?? 1000) + (options.marginMs ?? 20);
    this.now = options.now ?? Date.now;
  }

  /**
   * Resolves when one more request may start, with a `done` to call when it has finished (answer or error);
   * rejects if `signal` aborts first.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    const turn = this.queue.then(() => this.waitForSlot(signal));
    // A rejected turn (abort) must not block the ones behind it.
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  /** After a throttling answer: count the window as full so the next request waits a whole window. */
  penalise(): void {
    const t = this.now();
    for (let i = 0; i < this.slots.length; i++)
      if (this.slots[i] !== Number.POSITIVE_INFINITY) this.slots[i] = t;
    while (this.slots.length < this.limit) this.slots.push(t);
  }

  private async waitForSlot(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      signal?.throwIfAborted();
      const t = this.now();
      for (let i = this.slots.length - 1; i >= 0; i--)
        if (t - this.slots[i]! >= this.spanMs) this.slots.splice(i, 1);
      if (this.slots.length < this.limit) {
        const slot = { released: false };
        this.slots.push(Number.POSITIVE_INFINITY);
        return () => {
          if (slot.released) return;
          slot.released = true;
          const i = this.slots.indexOf(Number.POSITIVE_INFINITY);
          if (i >= 0) this.slots[i] = this.now();
          for (const w of this.wake.splice(0)) w();
        };
      }
      const oldest = Math.min(...this.slots);
      if (oldest === Number.POSITIVE_INFINITY) {
        // Every slot is in flight: wait for one to finish.
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal?.reason);
          signal?.addEventListener('abort', onAbort, { once: true });
          this.wake.push(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          });
        });
      } else {
        await sleep(this.spanMs - (t - oldest), signal);
      }
    }
  }
}

/** One limiter per key (e.g. `123456789012/us-east-1`). */
export class RateLimiterPool {
  private readonly limiters = new Map<string, SlidingWindowLimiter>();
  constructor(private readonly options: RateLimiterOptions = {}) {}

  for(key: string): SlidingWindowLimiter {
    let limiter = this.limiters.get(key);
    if (!limiter) {
      limiter = new SlidingWindowLimiter(this.options);
      this.limiters.set(key, limiter);
    }
    return limiter;
  }
}

/** setTimeout as a promise that rejects with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with full jitter: a random wait in [base, min(cap, base·2^attempt)]. */
export function backoffMs(
  attempt: number,
  baseMs = 250,
  capMs = 20_000,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return baseMs + random() * Math.max(0, ceiling - baseMs);
}

const sharedPools = new Map<string, RateLimiterPool>();

/**
 * The process-wide pool for one rate: AWS counts requests per account and region, not per query, so two analysts'
 * look-ups running at the same time in the bot must share one budget instead of each taking 2 requests per second.
 */
export function sharedLimiterPool(options: RateLimiterOptions = {}): RateLimiterPool {
  const key = `${options.limit ?? 2}/${options.windowMs ?? 1000}/${options.marginMs ?? 20}`;
  let pool = sharedPools.get(key);
  if (!pool) {
    pool = new RateLimiterPool(options);
    sharedPools.set(key, pool);
  }
  return pool;
}
