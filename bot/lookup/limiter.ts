/**
 * At most N lookups run at once; the rest wait their turn. A burst of commands (an incident call
 * where everyone types at once) then slows answers down instead of exhausting memory or AWS quotas.
 */
export interface Limiter {
  /** Runs `task` when a slot is free; `onQueued` is told the queue position if it has to wait. */
  run<T>(task: () => Promise<T>, onQueued?: (position: number) => void): Promise<T>;
  readonly running: number;
  readonly waiting: number;
}

export function createLimiter(max: number): Limiter {
  let running = 0;
  const queue: (() => void)[] = [];
  const next = () => {
    if (running < max) queue.shift()?.();
  };
  return {
    get running() {
      return running;
    },
    get waiting() {
      return queue.length;
    },
    async run(task, onQueued) {
      if (running >= max) {
        onQueued?.(queue.length + 1);
        await new Promise<void>((resolve) => queue.push(resolve));
      }
      running++;
      try {
        return await task();
      } finally {
        running--;
        next();
      }
    },
  };
}
