/**
 * The near-real-time alert scan, run every few minutes:
 *
 *   for each scope (source × account × region):
 *     window = [watermark − lateness, now]   (CloudTrail delivers up to ~15 min late, so every scan
 *                                              re-reads the tail of the previous one; the ledger
 *                                              drops what was already posted)
 *     findings ≥ minimum severity → deliverFinding (alert-delivery.ts: ledger 'pending' → Slack → 'posted')
 *     watermark := now, only after every post of the scope went through.
 *
 * A store that groups (Athena) is scanned once per tick for all accounts and regions instead
 * (alert-scan-grouped.ts), with only the rows that can matter brought into Node.
 *
 * A crash anywhere repeats at most the current scope's window, and the ledger (reconciled against
 * Slack at start-up) keeps a repeat from posting twice. After downtime the scan catches up at most
 * `catchupMaxMs` and says so in the channel.
 */
import type { AlertRow } from '../../adapters/state/scheduler-state.ts';
import { analyze } from '../../engine/pipeline.ts';
import { isAggregating, type RecordSource } from '../../engine/source.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { buildCatchUpNote } from '../messages/alert.ts';
import { utc } from '../messages/format.ts';
import { type AlertCandidate, deliverFinding, postOnce } from './alert-delivery.ts';
import { alertKey } from './alert-key.ts';
import { runGroupedAlertScan } from './alert-scan-grouped.ts';
import { contextMs, inWindow, iso, windowStart } from './alert-window.ts';
import type { SchedulerDeps } from './deps.ts';
import { type ScanScope, scanItems, scanScopes } from './scan-source.ts';

export {
  type AlertCandidate,
  /** The names the SQS consumer (bot/queue/) uses for the same delivery. */
  type AlertCandidate as Candidate,
  type Delivery as Outcome,
  deliverFinding,
  deliverFinding as deliver,
} from './alert-delivery.ts';

/** Slack ts are wall-clock; look this far before a pending row's creation when reconciling. */
const RECONCILE_SLACK_MS = 5 * 60_000;
const LEDGER_SPARE_MS = 7 * 86_400_000;

export type AlertScanDeps = SchedulerDeps;

export interface ScanResult {
  scopes: number;
  posted: number;
  repeats: number;
  snoozed: number;
  notes: string[];
  /** Grouped scans: share of the window covered (1 = all). */
  coverage?: number;
}

export async function runAlertScan(deps: AlertScanDeps): Promise<ScanResult> {
  const { config, clock, state } = deps;
  const channel = config.alertChannel;
  const result: ScanResult = { scopes: 0, posted: 0, repeats: 0, snoozed: 0, notes: [] };
  if (!channel) return result;
  const [source, stages] = await Promise.all([deps.source(), deps.stages()]);
  if (isAggregating(source)) {
    const grouped = await runGroupedAlertScan(deps, source, stages, channel);
    Object.assign(result, { scopes: 1, ...grouped });
  } else {
    for (const scope of scanScopes(deps.sourceName, config.accounts, config.regions)) {
      result.scopes++;
      await scanScope(deps, source, stages, scope, channel, result);
    }
  }
  const now = clock.now();
  const context = contextMs(stages);
  await state.prune({
    // A finding can be re-read for catch-up + lateness + context after it happened; keep a week more.
    ledgerBefore: Date.now() - config.catchupMaxMs - config.latenessMs - context - LEDGER_SPARE_MS,
    threadsBefore: now - config.repeatWindowMs - config.catchupMaxMs - config.latenessMs - context,
    snoozesBefore: now,
  });
  return result;
}

async function scanScope(
  deps: AlertScanDeps,
  source: RecordSource,
  stages: PipelineStages,
  scope: ScanScope,
  channel: string,
  result: ScanResult,
): Promise<void> {
  const now = deps.clock.now();
  const { from, wm, notes } = await windowStart(deps, scope.id, now);
  const since = from - deps.config.latenessMs;
  if (notes.length > 0) {
    await postOnce(deps, channel, `note:${scope.id}:${wm ?? 0}`, 'catch-up', buildCatchUpNote(notes));
    result.notes.push(...notes);
  }
  const found = await findCandidates(deps, source, stages, scope, since, now);
  for (const c of found.candidates) {
    const outcome = await deliverFinding(deps, channel, c);
    if (outcome === 'posted') result.posted++;
    else if (outcome === 'repeat') result.repeats++;
    else if (outcome === 'snoozed') result.snoozed++;
  }
  if (found.truncated) {
    // The source stopped early: this window failed. The watermark stays; the next scan reads it again.
    const coverage = Math.max(0, Math.min(1, (found.lastEventAt - since) / Math.max(1, now - since)));
    const note = `Alert scan incomplete for ${scope.id}: the source stopped early (${found.truncated}); about ${(coverage * 100).toFixed(1)} % of ${utc(iso(since))} – ${utc(iso(now))} was read. The next scan reads the window again.`;
    result.notes.push(note);
    result.coverage = Math.min(result.coverage ?? 1, coverage);
    deps.logger.warn({ scope: scope.id, coverage, reason: found.truncated }, 'alert scan incomplete');
    await postOnce(deps, channel, `incomplete:${scope.id}:${since}`, 'incomplete', buildCatchUpNote([note]));
    return;
  }
  // Only now: everything up to `now` was posted (or is in the ledger as snoozed).
  await deps.state.setWatermark(scope.id, now);
}

async function findCandidates(
  deps: AlertScanDeps,
  source: RecordSource,
  stages: PipelineStages,
  scope: ScanScope,
  since: number,
  until: number,
): Promise<{ candidates: AlertCandidate[]; truncated?: string; lastEventAt: number }> {
  const analysis = analyze(scanItems(source, scope, since - contextMs(stages), until, deps.signal), stages, {
    keepEvents: true,
    latenessMinutes: deps.config.latenessMs / 60_000,
  });
  const out: AlertCandidate[] = [];
  const seen = new Set<string>();
  let lastEventAt = since;
  for await (const session of analysis.sessions) {
    lastEventAt = Math.max(lastEventAt, Date.parse(session.end));
    const times = new Map((session.events ?? []).map((e) => [e.id, e.time]));
    for (const f of session.findings) {
      if (!inWindow(f, times, since, until, deps.config.alertMinSeverity)) continue;
      const key = alertKey(f);
      if (seen.has(key) || (await deps.state.getAlert(key))) continue;
      seen.add(key);
      out.push({ finding: f, key, session });
    }
  }
  for (const r of analysis.inputs.rejected.slice(0, 5)) {
    deps.logger.warn({ scope: scope.id, where: r.where, reason: r.reason }, 'alert scan: unusable input');
  }
  const candidates = out.sort(
    (a, b) => a.finding.time.localeCompare(b.finding.time) || a.key.localeCompare(b.key),
  );
  return { candidates, lastEventAt, ...(analysis.truncated ? { truncated: analysis.truncated } : {}) };
}

/**
 * Start-up: settles ledger rows left 'pending' by a crash. If Slack has the post (found by its
 * metadata) the row becomes 'posted'; if not, the row is dropped and the next scan, which re-reads
 * the same window because the watermark was not advanced, posts it.
 */
export async function reconcilePending(
  deps: Pick<AlertScanDeps, 'state' | 'outbox' | 'logger'>,
  /** Only rows at least this old (ms): with replicas, a younger row may be one another replica is posting. */
  minAgeMs = 0,
): Promise<{ confirmed: number; dropped: number }> {
  let confirmed = 0;
  let dropped = 0;
  const before = Date.now() - minAgeMs;
  for (const row of await deps.state.pendingAlerts()) {
    if (row.createdAt > before) continue;
    const outcome = await settlePending(deps, row);
    if (outcome === 'confirmed') confirmed++;
    else if (outcome === 'dropped') dropped++;
  }
  if (confirmed + dropped > 0) {
    deps.logger.info({ confirmed, dropped }, 'reconciled alerts left pending by the previous run');
  }
  return { confirmed, dropped };
}

/**
 * One row left 'pending' (its poster crashed): 'confirmed' when Slack has the post (now 'posted'),
 * 'dropped' when it has not (the row is gone, the alert may be posted again), 'taken' when someone else
 * settled or re-took the row meanwhile (compare-and-delete, so two replicas never both re-post it).
 */
export async function settlePending(
  deps: Pick<AlertScanDeps, 'state' | 'outbox'>,
  row: AlertRow,
): Promise<'confirmed' | 'dropped' | 'taken'> {
  const ts = await deps.outbox.find(row.channel, row.key, row.createdAt - RECONCILE_SLACK_MS, row.threadTs);
  if (ts) {
    await deps.state.markAlertPosted(row.key, ts);
    if (!row.threadTs && row.ruleId !== 'catch-up' && !(await deps.state.getThread(row.threadKey))) {
      await deps.state.touchThread(row.threadKey, { channel: row.channel, ts, lastAt: row.eventAt });
    }
    return 'confirmed';
  }
  return (await deps.state.dropPendingAlert(row.key, row.createdAt)) ? 'dropped' : 'taken';
}
