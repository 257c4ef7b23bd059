/**
 * Building and posting a digest. The scheduled one covers yesterday (local day in the configured
 * time zone) and is posted once: a ledger row per date, written before the post and settled after
 * (reconciled through the post's metadata after a crash). On-demand digests (`/cartographer digest`)
 * post where they were asked for. Either way the day's facts join the baseline afterwards.
 */
import { randomBytes } from 'node:crypto';
import { formatBytes } from '../../adapters/aws/athena-query.ts';
import type { AlertCase } from '../../adapters/state/triage-store.ts';
import { dayBounds, dayOf, previousDay } from '../../engine/digest/day.ts';
import { type GroupedDigestExtras, percent } from '../../engine/digest/grouped.ts';
import { type ProducedDigest, produceDigest } from '../../engine/digest/produce.ts';
import type { SessionSummary } from '../../engine/model.ts';
import { analyze } from '../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { isAggregating, type RecordSource, type SourceName } from '../../engine/source.ts';
import { buildDigestMessage } from '../messages/digest.ts';
import type { SlackMessage } from '../messages/limits.ts';
import type { SchedulerDeps } from './deps.ts';
import { readForScan } from './scan-source.ts';

export const SOURCE_LABEL: Record<SourceName, string> = {
  local: 'local CloudTrail files',
  lookup: 'CloudTrail LookupEvents',
  athena: 'Athena',
};

const RECONCILE_SLACK_MS = 5 * 60_000;

export type DigestDeps = SchedulerDeps;

export interface DigestRequest {
  /** `YYYY-MM-DD`; default: today (on demand). */
  date?: string;
  defaultDate: string;
  /** Where it will be posted (its buttons only work there). */
  channel: string;
}

/** Reads the source and builds the digest message, storing what "Open session" will need. */
export async function composeDigest(
  deps: DigestDeps,
  request: DigestRequest,
): Promise<{ produced: ProducedDigest; message: SlackMessage }> {
  const [source, stages] = await Promise.all([deps.source(), deps.stages()]);
  const produced = await produceDigest(source, stages, {
    ...(request.date ? { date: request.date } : {}),
    defaultDate: request.defaultDate,
    timeZone: deps.config.timeZone,
    baselineDays: deps.config.baselineDays,
    storedBaseline: (from, before) => deps.state.baseline(from, before),
    keepRecords: deps.store !== undefined,
    read: (query, signal) => readForScan(source, query, signal),
  });
  const refs = new Map<string, string | undefined>();
  const writes: Promise<void>[] = [];
  const sessionRef = (key: string): string | undefined => {
    if (refs.has(key)) return refs.get(key);
    const saved = saveSessionRef(deps, produced, key, request.channel, source);
    if (saved) writes.push(saved.write);
    refs.set(key, saved?.ref);
    return saved?.ref;
  };
  const cost = digestCostLine(produced);
  const message = buildDigestMessage(produced.digest, {
    sessionRef,
    sourceLabel: SOURCE_LABEL[deps.sourceName],
    notes: produced.notes,
    ...(deps.triage ? { openAlerts: await openAlertsOf(deps, produced.digest.date) } : {}),
    ...(cost ? { costLine: cost } : {}),
  });
  if (produced.stats) {
    deps.logger.info(
      { date: produced.digest.date, coverage: produced.coverage, ...produced.stats },
      produced.coverage !== undefined && produced.coverage < 1 ? 'digest incomplete' : 'digest scanned',
    );
  }
  // The buttons' references are in the store before the message that carries them is posted.
  await Promise.all(writes);
  return { produced, message };
}

/** The scheduled digest of yesterday, exactly once per date. Returns what happened. */
export async function runScheduledDigest(
  deps: DigestDeps,
): Promise<'posted' | 'already-posted' | 'no-channel'> {
  const channel = deps.config.digestChannel;
  if (!channel) return 'no-channel';
  const date = previousDay(dayOf(deps.clock.now(), deps.config.timeZone));
  const key = `digest:${date}`;
  const record = await deps.state.getDigest(date);
  if (record?.state === 'posted') return 'already-posted';
  if (record?.state === 'pending') {
    const ts = await deps.outbox.find(record.channel, key, record.createdAt - RECONCILE_SLACK_MS);
    if (ts) {
      await deps.state.markDigestPosted(date, ts);
      deps.logger.info({ date, ts }, 'digest was posted before the restart; recorded it');
      return 'already-posted';
    }
  }
  // The scheduled digest always covers its own date (never a replayed local day): it is about yesterday.
  const { produced, message } = await composeDigest(deps, { date, defaultDate: date, channel });
  await deps.state.beginDigest(date, channel, Date.now());
  let ts: string;
  try {
    ts = await deps.outbox.post(channel, message, key);
  } catch (err) {
    await deps.state.dropDigest(date);
    throw err;
  }
  await deps.state.markDigestPosted(date, ts);
  await recordHeadline(deps, produced.digest.date, channel, ts, message.text);
  await deps.state.addBaseline(produced.digest.date, produced.digest.observed);
  deps.logger.info({ date, ts, sessions: produced.digest.totals.sessions }, 'daily digest posted');
  return 'posted';
}

/** `/cartographer digest [date]`: the same digest now, in the channel that asked. */
export async function runDigestNow(
  deps: DigestDeps,
  channel: string,
  date: string | undefined,
): Promise<ProducedDigest> {
  const today = dayOf(deps.clock.now(), deps.config.timeZone);
  const { produced, message } = await composeDigest(deps, {
    ...(date ? { date } : {}),
    defaultDate: today,
    channel,
  });
  const ts = await deps.outbox.post(channel, message, `digest-request:${produced.digest.date}:${newId()}`);
  await recordHeadline(deps, produced.digest.date, channel, ts, message.text);
  await deps.state.addBaseline(produced.digest.date, produced.digest.observed);
  return produced;
}

/** Alerts raised on the digest's day that nobody has resolved yet (with who holds them). */
async function openAlertsOf(deps: DigestDeps, date: string): Promise<AlertCase[]> {
  const { start, end } = dayBounds(date, deps.config.timeZone);
  return (
    (await deps.triage?.listCases({
      states: ['open', 'acknowledged'],
      eventFrom: start,
      eventBefore: end,
      limit: 200,
    })) ?? []
  );
}

/** The App Home tab shows the latest digest's headline. */
async function recordHeadline(deps: DigestDeps, date: string, channel: string, ts: string, text: string) {
  await deps.triage
    ?.recordDigest({ date, channel, ts, text, postedAt: Date.now() })
    .catch((err) => deps.logger.warn({ err: String(err) }, 'could not record the digest headline'));
}

/** The "Open session" reference of a digest line, at once; `write` settles when it is stored. */
function saveSessionRef(
  deps: DigestDeps,
  produced: ProducedDigest,
  key: string,
  channel: string,
  source: RecordSource,
): { ref: string; write: Promise<void> } | undefined {
  const s = produced.sessions.get(key);
  const store = deps.store;
  if (!store || !s) return undefined;
  const createdAt = new Date().toISOString();
  const sessionId = newId();
  const ref = newId();
  const write = (async () => {
    // A grouped digest (Athena) has no records of its own: the session is fetched whole, afterwards.
    const whole = await wholeSession(deps, produced, key, source);
    await store.saveSession({
      id: sessionId,
      query: { kind: 'session', value: key, source: deps.sourceName, channel },
      summary: whole?.summary ?? s.summary,
      records: [...(whole?.records ?? s.records ?? new Map())].map(([id, record]) => ({ id, record })),
      createdAt,
    });
    await store.saveRef({ id: ref, action: 'open_session', sessionId, eventIds: [], createdAt });
  })();
  write.catch(() => {}); // awaited with the others before the digest is posted
  return { ref, write };
}

/** The whole events and full summary of a session of a grouped digest, by its buckets and time range. */
async function wholeSession(
  deps: DigestDeps,
  produced: ProducedDigest,
  key: string,
  source: RecordSource,
): Promise<{ summary: SessionSummary; records: Map<string, CloudTrailRecord> } | undefined> {
  const grouped = (produced as Partial<GroupedDigestExtras>).grouped?.get(key);
  if (!grouped || !isAggregating(source)) return undefined;
  const fetched = await source.sessionEvents(
    [{ refs: grouped.buckets.map((b) => b.ref), first: grouped.start, last: grouped.end }],
    {},
    deps.signal ? { signal: deps.signal } : {},
  );
  const stages = await deps.stages();
  const analysis = analyze(each(fetched.items), stages, { keepEvents: true });
  for await (const r of analysis.sessions) {
    if (r.key.replace(/#\d+$/, '') !== grouped.baseKey) continue;
    const { events, ...summary } = r;
    return {
      summary: { ...summary, key, findings: grouped.findings, risk: grouped.risk },
      records: new Map((events ?? []).map((e) => [e.id, e.record])),
    };
  }
  return undefined;
}

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** "covered 100 % of the day · 3 Athena queries, 53.8 MB scanned, $0.0003 · 2,002 rows read". */
export function digestCostLine(produced: ProducedDigest): string | undefined {
  const s = produced.stats;
  if (!s) return undefined;
  const share = produced.coverage === undefined ? '' : `covered ${percent(produced.coverage)} of the day · `;
  return `${share}${s.queries} Athena ${s.queries === 1 ? 'query' : 'queries'}, ${formatBytes(s.bytesScanned)} scanned, $${s.costUsd.toFixed(4)} · ${s.rows.toLocaleString('en-US')} rows read`;
}

function newId(): string {
  return randomBytes(9).toString('base64url');
}
