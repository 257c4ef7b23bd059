/**
 * Lookups share the event loop with Slack's requests. Records flow through async generators whose
 * continuations are microtasks, and local files are read synchronously: without a real yield, one
 * lookup holds the loop for every file it scans while acknowledgements wait.
 *
 * A lookup calls `maybeYield()` per item. Once it has run for a slice (2 ms), it queues for a turn.
 * Turns are handed out one per event-loop iteration (setImmediate), shared by every lookup in the
 * process: however many lookups run, an iteration holds at most about one slice of their work
 * before the loop reads new requests again. On an idle loop iterations are back to back, so a lone
 * lookup loses almost nothing.
 */

import { MAX_STEP_ASIDE_MS, QUIET_AFTER_MS, requestsArriving } from '../receiver/request-pressure.ts';

/** Milliseconds of lookup work per event-loop iteration. */
export const SLICE_MS = 2;

export interface TimeSlicer {
  /** Undefined while the slice has budget left (no await needed); else resolves on the lookup's next turn. */
  maybeYield(): Promise<void> | undefined;
}

const now = () => performance.now();
const waiting: (() => void)[] = [];
let turnScheduled = false;
/** Since when the next turn has been held back for arriving Slack requests. */
let steppingAsideSince: number | undefined;

function grantNextTurn(): void {
  turnScheduled = false;
  // While a burst of Slack requests is being acknowledged, lookups wait (a bounded moment).
  // Once that moment is used up, turns go on as usual until the requests stop (no starvation).
  const t = now();
  if (!requestsArriving(t)) steppingAsideSince = undefined;
  else {
    steppingAsideSince ??= t;
    if (t - steppingAsideSince < MAX_STEP_ASIDE_MS) {
      turnScheduled = true;
      setTimeout(grantNextTurn, QUIET_AFTER_MS);
      return;
    }
  }
  waiting.shift()?.();
  // Queued from inside the check phase, the next grant runs on the next iteration, after its poll.
  if (waiting.length > 0) scheduleTurn();
}

function scheduleTurn(): void {
  if (turnScheduled) return;
  turnScheduled = true;
  setImmediate(grantNextTurn);
}

/** One per lookup (or per loop over a lookup's items). */
export function createTimeSlicer(budgetMs = SLICE_MS): TimeSlicer {
  let sliceStart = now();
  return {
    maybeYield() {
      if (now() - sliceStart < budgetMs) return undefined;
      return new Promise<void>((resolve) => {
        waiting.push(() => {
          sliceStart = now();
          resolve();
        });
        scheduleTurn();
      });
    },
  };
}
