/**
 * Whether Slack requests are arriving right now. During a burst the receiver answers requests first
 * and the bot's own work (Bolt listeners, lookup slices) steps aside for a moment, so no
 * acknowledgement waits behind work that could as well start a few milliseconds later.
 */

/** A request this recent means more are probably queued behind it. */
export const QUIET_AFTER_MS = 3;
/** Background work never waits longer than this in one go, however long the burst. */
export const MAX_STEP_ASIDE_MS = 400;

let lastRequestAt = Number.NEGATIVE_INFINITY;

export function noteRequest(at = performance.now()): void {
  lastRequestAt = at;
}

export function requestsArriving(at = performance.now()): boolean {
  return at - lastRequestAt < QUIET_AFTER_MS;
}
