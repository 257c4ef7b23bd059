/**
 * Delivering one finding to Slack exactly once, whoever found it (the scheduled scans, an event-driven consumer):
 *
 *   snoozed → ledger row 'snoozed', not posted
 *   else    → ledger row 'pending' → Slack post (metadata names the ledger key) → 'posted'
 *
 * A crash between the post and 'posted' is settled at start-up from the post's metadata (reconcilePending in
 * alert-scan.ts), so a repeat of the same finding is never posted twice; a post that fails drops the row so the
 * next scan (same window: the watermark only moves after delivery) tries again.
 */
import { randomBytes } from 'node:crypto';
import type { AlertCase } from '../../adapters/state/triage-store.ts';
import type { Finding } from '../../engine/model.ts';
import type { SessionReport } from '../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { type AlertInput, buildAlert, buildAlertRepeat } from '../messages/alert.ts';
import { resourceOf, threadKey } from './alert-key.ts';
import type { SchedulerDeps } from './deps.ts';
import type { OutboxPoster } from './slack-outbox.ts';

export interface AlertCandidate {
  finding: Finding;
  /** alertKey(finding): the ledger key. */
  key: string;
  /** The session the finding is in, with its events (the evidence records among them). */
  session: SessionReport;
  /** A context line for the message (what the scan that found it cost). */
  costLine?: string;
}

export type Delivery = 'posted' | 'repeat' | 'snoozed' | 'known';

export async function deliverFinding(
  deps: SchedulerDeps,
  channel: string,
  c: AlertCandidate,
): Promise<Delivery> {
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
    ...(c.costLine ? { costLine: c.costLine } : {}),
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
  deps: SchedulerDeps,
  a: Pick<AlertCase, 'key' | 'channel' | 'ts' | 'ruleId' | 'title' | 'severity' | 'principal' | 'eventAt'>,
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
  deps: SchedulerDeps,
  c: AlertCandidate,
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
export async function postOnce(
  deps: SchedulerDeps,
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

function newId(): string {
  return randomBytes(9).toString('base64url');
}
