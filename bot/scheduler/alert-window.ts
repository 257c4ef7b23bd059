/**
 * Where an alert scan of one scope starts (its watermark, bounded catch-up after downtime) and which findings of
 * what it read are new in its window. Shared by the per-scope scan (local files, LookupEvents) and the grouped
 * scan of all scopes at once (Athena).
 */
import { longestRuleWindowMs } from '../../engine/detections/pushdown.ts';
import type { Finding, Severity } from '../../engine/model.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { duration, utc } from '../messages/format.ts';
import type { SchedulerDeps } from './deps.ts';

export const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
/** Read at least this much before the window so sessions see what led up to it. */
const MIN_CONTEXT_MS = 30 * 60_000;

/**
 * How much to read before the window: so sessions see what led up to it, and every threshold and sequence of the
 * enabled rules (cross-session counts included) sees its whole window: the longest rule window, at least 30 min.
 */
export function contextMs(stages: PipelineStages): number {
  return longestRuleWindowMs(stages, MIN_CONTEXT_MS);
}

/** The window's start (before lateness) and the catch-up notes to post once. */
export async function windowStart(
  deps: SchedulerDeps,
  scopeId: string,
  now: number,
): Promise<{ from: number; wm: number | undefined; notes: string[] }> {
  const { config, state, logger } = deps;
  const intervalMs = config.alertEveryMinutes * 60_000;
  const wm = await state.getWatermark(scopeId);
  const notes: string[] = [];
  let from: number;
  if (wm === undefined) {
    from = now - intervalMs;
    logger.info({ scope: scopeId, from: iso(from) }, 'first alert scan of this scope');
  } else if (now - wm > config.catchupMaxMs) {
    from = now - config.catchupMaxMs;
    notes.push(
      `Alert scans were down from ${utc(iso(wm))} to ${utc(iso(now))} (${duration(iso(wm), iso(now))}).`,
      `Caught up only the last ${duration(iso(from), iso(now))} (CARTOGRAPHER_CATCHUP_MAX_HOURS); ${utc(iso(wm))} – ${utc(iso(from))} was not scanned for ${scopeId}: run /cartographer digest for those days.`,
    );
  } else {
    from = wm;
    if (now - wm > 3 * intervalMs) {
      notes.push(
        `Caught up ${duration(iso(wm), iso(now))} of alert scans missed while Cartographer was down (${scopeId}, since ${utc(iso(wm))}).`,
      );
    }
  }
  return { from, wm, notes };
}

/**
 * A finding is the window's when it is severe enough, happened before `until`, and some of its evidence is in
 * [since, until]: a threshold crossed now may have started in the context read before the window.
 */
export function inWindow(
  f: Finding,
  times: ReadonlyMap<string, number>,
  since: number,
  until: number,
  min: Severity,
): boolean {
  const t = Date.parse(f.time);
  const last = Math.max(t, ...f.eventIds.map((id) => times.get(id) ?? t));
  return RANK[f.severity] >= RANK[min] && last >= since && t < until;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
