/**
 * One lookup, start to finish, after the command was acknowledged:
 *   progress message in the channel → updated (at most once a second) as the source reports →
 *   replaced by the answer: for a session, its summary with a thread of three replies (timeline,
 *   findings by rule, unmapped events; long ones page in place); for a user or an IP, one overview
 *   message ranking the sessions, each opened into the thread on request.
 * Failures end in a thread message that says what to fix; nothing here may throw into Bolt.
 */
import { randomBytes } from 'node:crypto';
import { athenaCostText } from '../../adapters/aws/athena-cost.ts';
import type { StoredQuery, StoredSession } from '../../adapters/store/bot-store.ts';
import { CartographerError } from '../../engine/errors.ts';
import type { SessionSummary } from '../../engine/model.ts';
import type { SessionReport } from '../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { SourceName, SourceQuery } from '../../engine/source.ts';
import type { RefAction, StoredRefMaker } from '../actions/ids.ts';
import { buildFindingsPage } from '../messages/findings.ts';
import { buildHeadline } from '../messages/headline.ts';
import type { SlackMessage } from '../messages/limits.ts';
import { failureMessage, infoMessage, noResultsMessage, progressMessage } from '../messages/notices.ts';
import { buildOverview, isQuiet } from '../messages/overview.ts';
import { buildTimelinePage } from '../messages/timeline.ts';
import { buildUnmapped } from '../messages/unmapped.ts';
import { isNotInChannel, slackErrorCode } from '../poster.ts';
import type { BotServices, CommandResult, LookupRequest, LookupTarget } from '../types.ts';
import { describeFailure } from './failures.ts';

const ACCESS_KEY = /^(AKIA|ASIA)[A-Z0-9]{12,}$/;
export const SOURCE_LABEL: Record<SourceName, string> = {
  local: 'local CloudTrail files',
  lookup: 'CloudTrail LookupEvents',
  athena: 'Athena',
};
/** Sessions posted per session-key lookup; more are listed in one line. */
const MAX_SESSIONS_POSTED = 5;
/** Sessions a user/ip overview lists with an "Open" button; more are counted (a user lookup can span weeks). */
const MAX_OVERVIEW_SESSIONS = 10;
const PROGRESS_INTERVAL_MS = 1000;
/** Records cached per session for the raw-events button (about 30 MB of JSON at most). */
const MAX_CACHED_RECORDS = 20_000;

export function newId(): string {
  return randomBytes(9).toString('base64url');
}

export function toSourceQuery(req: LookupRequest): { query: SourceQuery; sessionKey?: string } {
  const query: SourceQuery = {};
  if (req.since) query.since = req.since;
  switch (req.kind) {
    case 'session':
      if (ACCESS_KEY.test(req.value)) return { query: { ...query, accessKeyId: req.value } };
      return { query, sessionKey: req.value };
    case 'user':
      return { query: { ...query, user: req.value } };
    case 'ip':
      return { query: { ...query, sourceIp: req.value } };
  }
}

export function describeRequest(req: LookupRequest): string {
  const what = req.kind === 'session' ? req.value : `${req.kind} ${req.value}`;
  return `${what}${req.since ? ` since ${req.since.toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''}`;
}

export async function runLookup(
  req: LookupRequest,
  target: LookupTarget,
  svc: BotServices,
): Promise<CommandResult> {
  const { poster } = svc;
  const label = describeRequest(req);
  const where = SOURCE_LABEL[req.source];
  let progressTs: string;
  try {
    progressTs = await poster.post(target.channel, progressMessage(`Looking up ${label} in ${where}…`));
  } catch (err) {
    const code = slackErrorCode(err);
    const hint = isNotInChannel(code)
      ? 'Invite me to this channel first (`/invite @Cartographer`), or run the command where I am a member.'
      : 'Slack refused the message; see the bot log.';
    await target
      .respond(failureMessage(`I could not post in this channel (${code ?? 'error'})`, hint))
      .catch(() => {});
    return { outcome: 'error', detail: code ?? String(err) };
  }

  return svc.limiter.run(
    () => analyseAndPost(req, target, svc, progressTs, label, where),
    (position) => {
      void poster
        .update(
          target.channel,
          progressTs,
          progressMessage(`Queued: ${position} lookup(s) ahead of ${label}…`),
        )
        .catch(() => {});
    },
  );
}

async function analyseAndPost(
  req: LookupRequest,
  target: LookupTarget,
  svc: BotServices,
  progressTs: string,
  label: string,
  where: string,
): Promise<CommandResult> {
  const { poster, config, logger } = svc;
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new LookupTimeout(config.lookupTimeoutMs)),
    config.lookupTimeoutMs,
  );
  // AWS sources phrase their own progress ("Looking up ASIA… in 17 regions: …"); local reads only count.
  const progress = throttledProgress((line) =>
    poster.update(
      target.channel,
      progressTs,
      progressMessage(/^Looking up /.test(line) ? line : `Looking up ${label} in ${where}: ${line}`),
    ),
  );
  try {
    const { query, sessionKey } = toSourceQuery(req);
    const request = {
      source: req.source,
      query,
      signal: controller.signal,
      onProgress: (p: { message: string }) => progress.push(p.message),
    };
    const keep = req.kind === 'session' ? MAX_SESSIONS_POSTED : MAX_OVERVIEW_SESSIONS;
    const result = await svc.analyzer.analyze(
      sessionKey ? { ...request, sessionKey, keep } : { ...request, keep },
    );
    await progress.stop();
    if (result.sessions.length === 0) {
      const rejected = result.inputs.rejected.length;
      const hint = `Read ${result.inputs.records.toLocaleString('en-US')} records from ${where}${rejected ? ` (${rejected} unusable)` : ''}. ${req.since ? 'Try a longer --since' : 'Try --since 7d'}${req.source === 'local' ? ', or --source lookup / --source athena for live CloudTrail' : ''}.`;
      await poster.update(target.channel, progressTs, noResultsMessage(label, hint));
      return { outcome: 'no-results' };
    }
    const first = result.inputs.rejected[0];
    const rejected = first
      ? { count: result.inputs.rejected.length, first: `${first.where}: ${first.reason}` }
      : undefined;
    // What an Athena lookup cost goes into the answer's source line and the audit line.
    const cost = result.stats ? athenaCostText(result.stats) : undefined;
    await postSessions(
      req,
      result.sessions,
      result.others,
      result.truncated,
      rejected,
      target,
      progressTs,
      svc,
      cost,
    );
    return { outcome: 'ok', detail: `${result.sessions.length} session(s)${cost ? `; ${cost}` : ''}` };
  } catch (err) {
    await progress.stop();
    const failure = describeFailure(err, req);
    logger.warn({ err: errorSummary(err), lookup: label }, 'lookup failed');
    await poster
      .update(
        target.channel,
        progressTs,
        failureMessage(`Lookup of ${label} failed`, 'details in the thread'),
      )
      .catch(() => {});
    await poster.post(target.channel, failureMessage(failure.what, failure.hint), progressTs).catch((e) => {
      logger.error({ err: errorSummary(e) }, 'could not post the failure message');
    });
    return { outcome: 'error', detail: failure.what };
  } finally {
    clearTimeout(timer);
  }
}

interface Outcome {
  reports: SessionReport[];
  others: { key: string; risk?: number }[];
  truncated: string | undefined;
  rejected: { count: number; first: string } | undefined;
}

async function postSessions(
  req: LookupRequest,
  reports: SessionReport[],
  others: { key: string; risk?: number }[],
  truncated: string | undefined,
  rejected: { count: number; first: string } | undefined,
  target: LookupTarget,
  progressTs: string,
  svc: BotServices,
  cost?: string,
): Promise<void> {
  const sourceLabel = `${SOURCE_LABEL[req.source]}${cost ? ` (${cost})` : ''}`;
  const accountName = await svc.accountNames();
  const outcome: Outcome = { reports, others, truncated, rejected };
  if (req.kind !== 'session')
    return postOverview(req, outcome, target, progressTs, svc, accountName, sourceLabel);
  // Worst first (the analyzer's order): the session that matters on top.
  const shown = reports.slice(0, MAX_SESSIONS_POSTED);
  for (const [i, report] of shown.entries()) {
    const { summary, records } = splitReport(report);
    const stored = await storeSession(req, target.channel, summary, records, svc);
    const makeRef = refMaker(stored.id, svc);
    const headline = buildHeadline(
      {
        session: summary,
        sourceLabel,
        requestedBy: target.user,
        index: i + 1,
        of: shown.length,
        accountName,
        ...(truncated ? { truncated } : {}),
        ...(rejected ? { rejected } : {}),
      },
      makeRef,
    );
    await makeRef.flush();
    let parentTs: string;
    if (i === 0) {
      await svc.poster.update(target.channel, progressTs, headline);
      parentTs = progressTs;
    } else {
      parentTs = await svc.poster.post(target.channel, headline);
    }
    await postThread(summary, records, parentTs, target.channel, makeRef, svc);
  }
  const rest = [...reports.slice(shown.length).map((r) => r.key), ...others.map((o) => o.key)];
  if (rest.length > 0) {
    await svc.poster.post(
      target.channel,
      infoMessage(
        `${rest.length} more session(s) not shown (lowest risk): ${rest.slice(0, 10).join(', ')}${rest.length > 10 ? ', …' : ''}. Narrow the lookup with --since or look one up with /cartographer session <key>.`,
      ),
    );
  }
}

/** A user or IP lookup: one overview message in place of the progress line; sessions open on request. */
async function postOverview(
  req: LookupRequest,
  outcome: Outcome,
  target: LookupTarget,
  progressTs: string,
  svc: BotServices,
  accountName: (id: string) => string | undefined,
  sourceLabel: string,
): Promise<void> {
  const summaries = outcome.reports.map(splitReport);
  const refs: (string | undefined)[] = [];
  for (const { summary, records } of summaries) {
    // Quiet sessions are folded into a count: nothing to open, nothing to keep.
    if (isQuiet(summary)) {
      refs.push(undefined);
      continue;
    }
    const stored = await storeSession(req, target.channel, summary, records, svc);
    const makeRef = refMaker(stored.id, svc);
    refs.push(makeRef('open_session', []));
    await makeRef.flush();
  }
  const overview = buildOverview({
    kind: req.kind === 'ip' ? 'ip' : 'user',
    value: req.value,
    sessions: summaries.map((x) => x.summary),
    others: outcome.others,
    openRef: (i) => refs[i],
    sourceLabel,
    requestedBy: target.user,
    accountName,
    ...(outcome.truncated ? { truncated: outcome.truncated } : {}),
    ...(outcome.rejected ? { rejected: outcome.rejected } : {}),
  });
  await svc.poster.update(target.channel, progressTs, overview);
}

/** Keeps a posted session (summary and records) for its buttons. */
async function storeSession(
  req: LookupRequest,
  channel: string,
  summary: SessionSummary,
  records: Map<string, CloudTrailRecord>,
  svc: BotServices,
): Promise<StoredSession> {
  const query: StoredQuery = { kind: req.kind, value: req.value, source: req.source, channel };
  if (req.since) query.since = req.since.toISOString();
  const stored: StoredSession = {
    id: newId(),
    query,
    summary,
    // Very large sessions keep the first records only; "Show raw events" says how many are missing.
    records: [...records.entries()].slice(0, MAX_CACHED_RECORDS).map(([id, record]) => ({ id, record })),
    createdAt: new Date().toISOString(),
  };
  await svc.store.saveSession(stored);
  return stored;
}

/**
 * The thread of a session: three replies whatever its size — the timeline and the findings (grouped
 * by rule) each as one reply that pages in place ("Show N more"), then the events no action explains.
 */
export async function postThread(
  summary: SessionSummary,
  records: ReadonlyMap<string, CloudTrailRecord>,
  parentTs: string,
  channel: string,
  makeRef: StoredRefMaker,
  svc: BotServices,
): Promise<void> {
  const replies = [
    buildTimelinePage(summary, makeRef, 0),
    buildFindingsPage(summary, records, makeRef, 0),
    ...buildUnmapped(summary, records, makeRef),
  ];
  await makeRef.flush();
  for (const m of replies) await svc.poster.post(channel, m, parentTs);
}

/** Posts up to maxTimelineReplies messages; the rest goes into one text file so the thread stays readable. */
export async function postCapped(
  messages: SlackMessage[],
  channel: string,
  threadTs: string,
  fileLabel: string,
  svc: BotServices,
): Promise<void> {
  const max = svc.config.maxTimelineReplies;
  for (const m of messages.slice(0, max)) await svc.poster.post(channel, m, threadTs);
  if (messages.length <= max) return;
  const rest = messages.slice(max);
  const text = rest.flatMap((m) =>
    (m.blocks ?? []).flatMap((b) => (b.type === 'section' && b.text ? [b.text.text] : [])),
  );
  const safe = fileLabel.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 80);
  await svc.poster.upload(channel, threadTs, {
    filename: `cartographer-${safe}-rest.txt`,
    content: `${text.join('\n').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')}\n`,
    comment: `The timeline continues in this file (${rest.length} more part(s)).`,
  });
}

export function refMaker(sessionId: string, svc: BotServices): StoredRefMaker {
  let pending: Promise<void>[] = [];
  const make = (action: RefAction, eventIds: string[], extra?: Record<string, unknown>) => {
    const id = newId();
    const saved = svc.store.saveRef({
      id,
      action,
      sessionId,
      eventIds,
      createdAt: new Date().toISOString(),
      ...(extra ? { extra } : {}),
    });
    saved.catch(() => {}); // observed by flush(), which rethrows
    pending.push(saved);
    return id;
  };
  return Object.assign(make, {
    async flush() {
      const writes = pending;
      pending = [];
      await Promise.all(writes);
    },
  });
}

/** Separates the summary (posted, cached) from the records (cached for the raw-events button). */
export function splitReport(report: SessionReport): {
  summary: SessionSummary;
  records: Map<string, CloudTrailRecord>;
} {
  const { events, ...summary } = report;
  const records = new Map<string, CloudTrailRecord>();
  for (const e of events ?? []) records.set(e.id, e.record);
  return { summary, records };
}

export class LookupTimeout extends CartographerError {
  readonly code = 'timeout';
  override name = 'LookupTimeout';
  constructor(readonly ms: number) {
    super(`the lookup took longer than ${Math.round(ms / 1000)} s`);
  }
}

/** Calls `send` with the latest line at most once per interval, never concurrently, never after stop(). */
function throttledProgress(send: (line: string) => Promise<unknown>) {
  let latest: string | undefined;
  let lastSent = 0;
  let inFlight: Promise<unknown> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const flush = () => {
    timer = undefined;
    if (stopped || latest === undefined || inFlight) return;
    const line = latest;
    latest = undefined;
    lastSent = Date.now();
    inFlight = send(line)
      .catch(() => {}) // progress is best effort
      .finally(() => {
        inFlight = undefined;
        if (latest !== undefined && !stopped) schedule();
      });
  };
  const schedule = () => {
    if (timer || stopped) return;
    timer = setTimeout(flush, Math.max(0, PROGRESS_INTERVAL_MS - (Date.now() - lastSent)));
  };
  return {
    push(line: string) {
      latest = line;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

function errorSummary(err: unknown): { name?: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}
