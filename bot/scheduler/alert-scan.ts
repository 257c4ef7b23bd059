/**
 * The near-real-time alert scan, run every few minutes:
 *
 *   for each scope (source × account × region):
 *     window = [watermark − lateness, now]   (CloudTrail delivers up to ~15 min late, so every scan
 *                                              re-reads the tail of the previous one; the ledger
 *                                              drops what was already posted)
 *     findings ≥ minimum severity → ledger row 'pending' → Slack post (with metadata) → 'posted'
 *     watermark := now, only after every post of the scope went through.
 *
 * A crash anywhere repeats at most the current scope's window, and the ledger (reconciled against
 * Slack at start-up) keeps a repeat from posting twice. After downtime the scan catches up at most
 * `catchupMaxMs` and says so in the channel.
 */
import { randomBytes } from 'node:crypto';
import type { AlertRow } from '../../adapters/state/scheduler-state.ts';
import type { Finding, Severity } from '../../engine/model.ts';
import { analyze, type SessionReport } from '../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { RecordSource } from '../../engine/source.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { type AlertInput, buildAlert, buildAlertRepeat, buildCatchUpNote } from '../messages/alert.ts';
import { duration, utc } from '../messages/format.ts';
import { alertKey, resourceOf, threadKey } from './alert-key.ts';
import type { SchedulerDeps } from './deps.ts';
import { type ScanScope, scanItems, scanScopes } from './scan-source.ts';
import type { OutboxPoster } from './slack-outbox.ts';

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
/** Read this much before the window so sessions (and sequence rules) see what led up to it. */
const CONTEXT_MS = 30 * 60_000;
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
}

/** A finding to alert on, keyed for the ledger (also built by the SQS consumer, bot/queue/). */
export interface Candidate {
  finding: Finding;
  key: string;
  session: SessionReport;
}

export async function runAlertScan(deps: AlertScanDeps): Promise<ScanResult> {
  const { config, clock, state, logger } = deps;
  const channel = config.alertChannel;
  const result: ScanResult = { scopes: 0, posted: 0, repeats: 0, snoozed: 0, notes: [] };
  if (!channel) return result;
  const [source, stages] = await Promise.all([deps.source(), deps.stages()]);
  const intervalMs = config.alertEveryMinutes * 60_000;
  for (const scope of scanScopes(deps.sourceName, config.accounts, config.regions)) {
    result.scopes++;
    const now = clock.now();
    const wm = await state.getWatermark(scope.id);
    let from: number;
    const notes: string[] = [];
    if (wm === undefined) {
      from = now - intervalMs;
      logger.info({ scope: scope.id, from: new Date(from).toISOString() }, 'first alert scan of this scope');
    } else if (now - wm > config.catchupMaxMs) {
      from = now - config.catchupMaxMs;
      notes.push(
        `Alert scans were down from ${utc(iso(wm))} to ${utc(iso(now))} (${duration(iso(wm), iso(now))}).`,
        `Caught up only the last ${duration(iso(from), iso(now))} (CARTOGRAPHER_CATCHUP_MAX_HOURS); ${utc(iso(wm))} – ${utc(iso(from))} was not scanned for ${scope.id}: run /cartographer digest for those days.`,
      );
    } else {
      from = wm;
      if (now - wm > 3 * intervalMs) {
        notes.push(
          `Caught up ${duration(iso(wm), iso(now))} of alert scans missed while Cartographer was down (${scope.id}, since ${utc(iso(wm))}).`,
        );
      }
    }
    const since = from - config.latenessMs;
    if (notes.length > 0) {
      await postOnce(deps, channel, `note:${scope.id}:${wm ?? 0}`, 'catch-up', buildCatchUpNote(notes));
      result.notes.push(...notes);
    }
    const candidates = await findCandidates(deps, source, stages, scope, since, now);
    for (const c of candidates) {
      const outcome = await deliver(deps, channel, c);
      if (outcome === 'posted') result.posted++;
      else if (outcome === 'repeat') result.repeats++;
      else if (outcome === 'snoozed') result.snoozed++;
    }
    // Only now: everything up to `now` was posted (or is in the ledger as snoozed).
    await state.setWatermark(scope.id, now);
  }
  const now = clock.now();
  await state.prune({
    // A finding can be re-read for catch-up + lateness + context after it happened; keep a week more.
    ledgerBefore: Date.now() - config.catchupMaxMs - config.latenessMs - CONTEXT_MS - LEDGER_SPARE_MS,
    threadsBefore: now - config.repeatWindowMs - config.catchupMaxMs - config.latenessMs - CONTEXT_MS,
    snoozesBefore: now,
  });
  return result;
}

async function findCandidates(
  deps: AlertScanDeps,
  source: RecordSource,
  stages: PipelineStages,
  scope: ScanScope,
  since: number,
  until: number,
): Promise<Candidate[]> {
  const min = RANK[deps.config.alertMinSeverity];
  const analysis = analyze(scanItems(source, scope, since - CONTEXT_MS, until), stages, {
    keepEvents: true,
    latenessMinutes: deps.config.latenessMs / 60_000,
  });
  const out: Candidate[] = [];
  const seen = new Set<string>();
  for await (const session of analysis.sessions) {
    const times = new Map((session.events ?? []).map((e) => [e.id, e.time]));
    for (const f of session.findings) {
      const t = Date.parse(f.time);
      // New when some of its evidence is in this window: a threshold crossed now may have started in
      // the context read before it (the first scan saw too few events to fire).
      const last = Math.max(t, ...f.eventIds.map((id) => times.get(id) ?? t));
      if (RANK[f.severity] < min || last < since || t >= until) continue;
      const key = alertKey(f);
      if (seen.has(key) || (await deps.state.getAlert(key))) continue;
      seen.add(key);
      out.push({ finding: f, key, session });
    }
  }
  for (const r of analysis.inputs.rejected.slice(0, 5)) {
    deps.logger.warn({ scope: scope.id, where: r.where, reason: r.reason }, 'alert scan: unusable input');
  }
  return out.sort((a, b) => a.finding.time.localeCompare(b.finding.time) || a.key.localeCompare(b.key));
}

export type Outcome = 'posted' | 'repeat' | 'snoozed' | 'known';

/** Ledger row 'pending' → Slack post (thread for a repeat, none when snoozed) → 'posted'. */
export async function deliver(deps: AlertScanDeps, channel: string, c: Candidate): Promise<Outcome> {
  const { state, config, clock } = deps;
  const f = c.finding;
  const records = new Map<string, CloudTrailRecord>();
  for (const e of c.session.events ?? []) if (f.eventIds.includes(e.id)) records.set(e.id, e.record);
  const principal = f.principal ?? c.session.principal.arn ?? c.session.key;
  const resource = resourceOf(records.get(f.eventIds[0] ?? ''));
  const tk = threadKey(f.ruleId, principal, resource);
  const t = Date.parse(f.time);
  const row = {
    key: c.key,
    ruleId: f.ruleId,
    principal,
    resource,
    severity: f.severity,
    channel,
    threadKey: tk,
    eventAt: t,
    createdAt: Date.now(),
  };
  if ((await state.snoozedUntil(f.ruleId, principal, clock.now())) !== undefined) {
    await state.beginAlert({ ...row, state: 'snoozed' });
    deps.logger.info({ rule: f.ruleId, principal }, 'alert snoozed: recorded, not posted');
    return 'snoozed';
  }
  const thread = await state.getThread(tk);
  const repeat = thread && thread.channel === channel && Math.abs(t - thread.lastAt) <= config.repeatWindowMs;
  if (!(await state.beginAlert({ ...row, state: 'pending', ...(repeat ? { threadTs: thread.ts } : {}) })))
    return 'known';
  const input: AlertInput = {
    finding: f,
    alertKey: c.key,
    sessionKey: c.session.key,
    resource,
    sourceIps: c.session.sourceIps,
    records,
    repeatWindowHours: Math.round(config.repeatWindowMs / 3_600_000),
  };
  const rawRef = await saveEvidence(deps, c, records);
  if (rawRef) input.rawRef = rawRef;
  const accountName = await deps.accountNames?.();
  if (accountName) input.accountName = accountName;
  let ts: string;
  try {
    ts = await deps.outbox.post(
      channel,
      repeat ? buildAlertRepeat(input) : buildAlert(input),
      c.key,
      repeat ? thread.ts : undefined,
    );
  } catch (err) {
    // Not posted: forget the row so the next scan (same window, watermark unchanged) tries again.
    await state.dropAlert(c.key);
    throw err;
  }
  await state.markAlertPosted(c.key, ts);
  if (!repeat) await openCase(deps, { ...row, ts, title: f.title });
  await state.touchThread(tk, {
    channel,
    ts: repeat ? thread.ts : ts,
    lastAt: repeat ? Math.max(thread.lastAt, t) : t,
  });
  return repeat ? 'repeat' : 'posted';
}

/** The alert's case (acknowledge, assign, resolve); a failure only delays it to the first click. */
async function openCase(
  deps: AlertScanDeps,
  a: {
    key: string;
    channel: string;
    ts: string;
    ruleId: string;
    title: string;
    severity: string;
    principal: string;
    eventAt: number;
  },
): Promise<void> {
  await deps.triage
    ?.openCase({
      key: a.key,
      channel: a.channel,
      ts: a.ts,
      ruleId: a.ruleId,
      title: a.title,
      severity: a.severity,
      principal: a.principal,
      eventAt: a.eventAt,
      lastAt: Date.now(),
    })
    .catch((err) => deps.logger.warn({ err: String(err), key: a.key }, 'could not open the alert case'));
}

/** Stores the finding's records in the bot's store and returns the "Show raw events" reference. */
async function saveEvidence(
  deps: AlertScanDeps,
  c: Candidate,
  records: Map<string, CloudTrailRecord>,
): Promise<string | undefined> {
  if (!deps.store) return undefined;
  const { events: _events, ...summary } = c.session;
  const sessionId = newId();
  const createdAt = new Date().toISOString();
  await deps.store.saveSession({
    id: sessionId,
    query: {
      kind: 'session',
      value: c.session.key,
      source: deps.sourceName,
      channel: deps.config.alertChannel ?? '',
    },
    summary: { ...summary, findings: [c.finding] },
    records: [...records].map(([id, record]) => ({ id, record })),
    createdAt,
  });
  const ref = newId();
  await deps.store.saveRef({
    id: ref,
    action: 'raw',
    sessionId,
    eventIds: c.finding.eventIds,
    extra: { findingId: c.finding.id },
    createdAt,
  });
  return ref;
}

/** A notice posted at most once (ledger row keyed like an alert). */
async function postOnce(
  deps: AlertScanDeps,
  channel: string,
  key: string,
  kind: string,
  message: Parameters<OutboxPoster['post']>[1],
): Promise<void> {
  const row = {
    key,
    ruleId: kind,
    principal: '',
    resource: '',
    severity: 'info',
    channel,
    threadKey: key,
    eventAt: 0,
    createdAt: Date.now(),
  };
  if (!(await deps.state.beginAlert({ ...row, state: 'pending' }))) return;
  try {
    const ts = await deps.outbox.post(channel, message, key);
    await deps.state.markAlertPosted(key, ts);
  } catch (err) {
    await deps.state.dropAlert(key);
    throw err;
  }
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

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function newId(): string {
  return randomBytes(9).toString('base64url');
}
