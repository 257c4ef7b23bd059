/**
 * One CloudTrail object from the queue, end to end: GetObject → the same ingest and detections as every
 * other source → alert candidates → the scheduler's delivery path (ledger, thread, snooze, Slack post).
 * The object is analysed on its own (a delivery file holds ~5 minutes of one account and region), so
 * rules that need events from other files do not fire here; the daily digest still sees those.
 *
 * Alert keys are the ledger keys of the scheduled scan: a second delivery of the same object, or an
 * event already alerted on by a scan, is a no-op. A row left 'pending' by a replica that died is taken
 * over once it is older than twice the visibility timeout (that replica's message is back in the queue by then).
 */
import type { S3ObjectRef } from '../../adapters/aws/sqs-notification.ts';
import { objectName } from '../../adapters/aws/sqs-objects.ts';
import { CartographerError } from '../../engine/errors.ts';
import { SEVERITIES, type Severity } from '../../engine/model.ts';
import { analyze } from '../../engine/pipeline.ts';
import type { SourceItem } from '../../engine/source.ts';
import { alertKey } from '../scheduler/alert-key.ts';
import { type Candidate, deliver, type Outcome, settlePending } from '../scheduler/alert-scan.ts';
import type { QueueAlertDeps } from './deps.ts';

export interface ObjectOutcome {
  records: number;
  rejected: number;
  posted: number;
  repeats: number;
  snoozed: number;
  known: number;
}

/** The object cannot be used as it is (truncated gzip, nothing but unreadable records). */
export class ObjectFailure extends CartographerError {
  readonly code = 'object';
  override readonly name = 'ObjectFailure';
}

/** What one object holds: its alert candidates (≥ the minimum severity) and how its input went. */
export interface ObjectFindings {
  candidates: Candidate[];
  records: number;
  rejected: { where: string; reason: string }[];
}

/**
 * Fetches and analyses one object. Throws S3ObjectError when S3 refuses it and ObjectFailure when it
 * cannot be used (after `onCandidates` has seen the findings of the records read before a break).
 */
export async function readObjectFindings(
  deps: Pick<QueueAlertDeps, 'objects' | 'stages'>,
  ref: S3ObjectRef,
  minSeverity: Severity,
  onCandidates?: (candidates: Candidate[]) => Promise<void>,
): Promise<ObjectFindings> {
  const name = objectName(ref);
  const [items, stages] = await Promise.all([deps.objects.open(ref), deps.stages()]);
  const broken: { reason?: string } = {};
  const analysis = analyze(watchUnreadable(items, broken), stages, { keepEvents: true });
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const min = SEVERITIES.indexOf(minSeverity);
  for await (const session of analysis.sessions) {
    for (const finding of session.findings) {
      const key = alertKey(finding);
      if (SEVERITIES.indexOf(finding.severity) < min || seen.has(key)) continue;
      seen.add(key);
      candidates.push({ finding, key, session });
    }
  }
  candidates.sort((a, b) => a.finding.time.localeCompare(b.finding.time) || a.key.localeCompare(b.key));
  const { inputs } = analysis;
  // Every good record counts, even those before a break: their findings go out before the object fails.
  await onCandidates?.(candidates);
  if (broken.reason) throw new ObjectFailure(`${name}: ${broken.reason} after ${inputs.records} records`);
  if (inputs.records === 0 && inputs.rejected.length > 0) {
    const first = inputs.rejected[0]!;
    throw new ObjectFailure(`${name}: no CloudTrail record in it (${first.where}: ${first.reason})`);
  }
  return { candidates, records: inputs.records, rejected: inputs.rejected };
}

/** The bot's handling of one object: its findings as Slack alerts, each exactly once. */
export async function alertOnObject(deps: QueueAlertDeps, ref: S3ObjectRef): Promise<ObjectOutcome> {
  const outcome: ObjectOutcome = { records: 0, rejected: 0, posted: 0, repeats: 0, snoozed: 0, known: 0 };
  const found = await readObjectFindings(deps, ref, deps.config.alertMinSeverity, async (candidates) => {
    for (const c of candidates) count(outcome, await deliverOnce(deps, c));
  });
  outcome.records = found.records;
  outcome.rejected = found.rejected.length;
  if (found.rejected.length > 0) {
    deps.logger.warn(
      { object: objectName(ref), rejected: found.rejected.length, first: found.rejected.slice(0, 3) },
      'sqs: records of this object could not be used (the others were analysed)',
    );
  }
  return outcome;
}

/**
 * The ledger decides: a settled key is a no-op; a key another replica is posting right now is waited for
 * (this message stays ours meanwhile: its visibility is renewed); a 'pending' row older than twice the
 * visibility timeout belongs to a replica that died and is taken over (found in Slack, or posted once).
 */
async function deliverOnce(deps: QueueAlertDeps, c: Candidate): Promise<Outcome> {
  const staleMs = 2 * deps.queueSettings.visibilitySeconds * 1000;
  for (;;) {
    const row = await deps.state.getAlert(c.key);
    if (!row) break;
    if (row.state !== 'pending') return 'known';
    if (Date.now() - row.createdAt < staleMs) {
      await new Promise((r) => setTimeout(r, Math.min(250, staleMs / 4)));
      continue;
    }
    const settled = await settlePending(deps, row);
    deps.logger.info(
      { key: c.key, rule: c.finding.ruleId, settled },
      'sqs: alert left pending by a replica that stopped, settled',
    );
    if (settled === 'dropped') break;
    if (settled === 'confirmed') return 'known';
  }
  return deliver(deps, deps.config.alertChannel!, c);
}

function count(o: ObjectOutcome, outcome: Outcome): void {
  if (outcome === 'posted') o.posted++;
  else if (outcome === 'repeat') o.repeats++;
  else if (outcome === 'snoozed') o.snoozed++;
  else o.known++;
}

async function* watchUnreadable(
  items: AsyncIterable<SourceItem>,
  broken: { reason?: string },
): AsyncGenerator<SourceItem> {
  for await (const item of items) {
    if (item.kind === 'rejected' && item.unreadable) broken.reason = item.reason;
    yield item;
  }
}
