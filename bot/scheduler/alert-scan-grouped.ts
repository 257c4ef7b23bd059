/**
 * The alert scan over a store that groups (Athena): ONE statement per tick for every account and region (they are
 * partition predicates of the same query), sessions from its buckets, findings from the prefiltered events; the
 * sessions that get an alert are then fetched whole (one more statement) for the message and its raw events.
 *
 * Never silently partial: a window the store cannot answer (row cap, time-out) is retried in halves down to
 * MIN_PART_MS; the watermark moves only to the end of what was scanned, and Slack and the log say "incomplete"
 * with the share of the window covered.
 */
import { formatBytes } from '../../adapters/aws/athena-query.ts';
import { pushdownOf } from '../../engine/detections/pushdown.ts';
import { analyzeGrouped, type GroupedSession } from '../../engine/grouped-analysis.ts';
import { analyze, type SessionReport } from '../../engine/pipeline.ts';
import { isRangeTooLarge } from '../../engine/scan-parts.ts';
import { type AggregatingSource, addRowKinds, type GroupedScanStats } from '../../engine/source.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { buildCatchUpNote } from '../messages/alert.ts';
import { utc } from '../messages/format.ts';
import { type AlertCandidate, deliverFinding, postOnce } from './alert-delivery.ts';
import { alertKey } from './alert-key.ts';
import { contextMs, inWindow, iso, windowStart } from './alert-window.ts';
import type { SchedulerDeps } from './deps.ts';

/** Buckets shorter than the idle gap; the same as the digest's. */
const BUCKET_MS = 15 * 60_000;
const IDLE_GAP_MS = 30 * 60_000;
/** A window part this short that still cannot be scanned is reported as not covered. */
export const MIN_PART_MS = 5 * 60_000;

export interface GroupedScanOutcome {
  posted: number;
  repeats: number;
  snoozed: number;
  notes: string[];
  /** Share of the window scanned (1 = all). */
  coverage: number;
  stats: GroupedScanStats;
}

interface Run {
  deps: SchedulerDeps;
  source: AggregatingSource;
  stages: PipelineStages;
  scopeId: string;
  channel: string;
  out: GroupedScanOutcome;
  covered: number;
  failed?: { since: number; until: number; reason: string };
}

export async function runGroupedAlertScan(
  deps: SchedulerDeps,
  source: AggregatingSource,
  stages: PipelineStages,
  channel: string,
): Promise<GroupedScanOutcome> {
  // One watermark for every account and region: they are read by the same statement.
  const scopeId = `${source.name}/all`;
  const now = deps.clock.now();
  const { from, wm, notes } = await windowStart(deps, scopeId, now);
  const out: GroupedScanOutcome = {
    posted: 0,
    repeats: 0,
    snoozed: 0,
    notes: [],
    coverage: 0,
    stats: { queries: 0, bytesScanned: 0, costUsd: 0, rows: 0, eventRows: 0 },
  };
  if (notes.length > 0) {
    await postOnce(deps, channel, `note:${scopeId}:${wm ?? 0}`, 'catch-up', buildCatchUpNote(notes));
    out.notes.push(...notes);
  }
  const since = from - deps.config.latenessMs;
  const run: Run = { deps, source, stages, scopeId, channel, out, covered: 0 };
  await scanPart(run, since, now);
  out.coverage = Math.min(1, run.covered / Math.max(1, now - since));
  deps.logger.info(
    { scope: scopeId, ...out.stats, coverage: out.coverage, posted: out.posted },
    'alert scan',
  );
  if (run.failed) await reportIncomplete(run, since, now);
  return out;
}

/** Scans [since, until]; on a cap or time-out, its halves in order. False once a part could not be scanned. */
async function scanPart(run: Run, since: number, until: number): Promise<boolean> {
  const { deps, source, stages } = run;
  let scan: Awaited<ReturnType<AggregatingSource['scan']>>;
  try {
    scan = await source.scan(
      {
        since: new Date(since - contextMs(stages)),
        until: new Date(until),
        ...(deps.config.accounts.length ? { accounts: deps.config.accounts } : {}),
        ...(deps.config.regions.length ? { regions: deps.config.regions } : {}),
        pushdown: pushdownOf(stages),
        bucketMs: BUCKET_MS,
        idleGapMs: IDLE_GAP_MS,
      },
      deps.signal ? { signal: deps.signal } : {},
    );
  } catch (err) {
    if (!isRangeTooLarge(err)) throw err;
    if (until - since <= MIN_PART_MS) {
      run.failed = { since, until, reason: (err as Error).message.split('\n')[0] ?? String(err) };
      return false;
    }
    const mid = since + Math.floor((until - since) / 2000) * 1000;
    return (await scanPart(run, since, mid)) && (await scanPart(run, mid + 1000, until));
  }
  addStats(run.out.stats, scan.stats);
  const analysis = analyzeGrouped(scan, stages, { idleGapMs: IDLE_GAP_MS });
  const candidates = await candidatesOf(run, analysis.sessions, since, until, scan.stats);
  for (const c of candidates) {
    const outcome = await deliverFinding(deps, run.channel, c);
    if (outcome === 'posted') run.out.posted++;
    else if (outcome === 'repeat') run.out.repeats++;
    else if (outcome === 'snoozed') run.out.snoozed++;
  }
  // Only now: everything up to `until` was posted (or is in the ledger as snoozed).
  const wm = await deps.state.getWatermark(run.scopeId);
  await deps.state.setWatermark(run.scopeId, Math.max(wm ?? 0, until));
  run.covered += until - since;
  return true;
}

async function candidatesOf(
  run: Run,
  sessions: readonly GroupedSession[],
  since: number,
  until: number,
  stats: GroupedScanStats,
): Promise<AlertCandidate[]> {
  const found: { finding: GroupedSession['findings'][number]; key: string; session: GroupedSession }[] = [];
  const seen = new Set<string>();
  const min = run.deps.config.alertMinSeverity;
  for (const s of sessions) {
    const times = new Map([...s.countedTimes, ...s.events.map((e) => [e.id, e.time] as const)]);
    for (const f of s.findings) {
      const key = alertKey(f);
      if (!inWindow(f, times, since, until, min) || seen.has(key) || (await run.deps.state.getAlert(key)))
        continue;
      seen.add(key);
      found.push({ finding: f, key, session: s });
    }
  }
  if (found.length === 0) return [];
  const reports = await wholeSessions(run, [...new Set(found.map((x) => x.session))], stats);
  const costLine = `Athena scan of ${utc(iso(since))} – ${utc(iso(until))}: ${formatBytes(stats.bytesScanned)} scanned, $${stats.costUsd.toFixed(4)} (${stats.queries} ${stats.queries === 1 ? 'query' : 'queries'})`;
  return found
    .map((x) => ({ finding: x.finding, key: x.key, session: reports.get(x.session)!, costLine }))
    .sort((a, b) => a.finding.time.localeCompare(b.finding.time) || a.key.localeCompare(b.key));
}

/**
 * The alerted sessions' whole events (one statement), analysed like any session; key, findings and risk stay those of
 * the grouped analysis. If the fetch fails, the alert still goes out with the prefiltered events.
 */
async function wholeSessions(
  run: Run,
  sessions: GroupedSession[],
  stats: GroupedScanStats,
): Promise<Map<GroupedSession, SessionReport>> {
  const out = new Map<GroupedSession, SessionReport>();
  const { deps, source, stages } = run;
  let reports: SessionReport[] = [];
  try {
    const fetched = await source.sessionEvents(
      sessions.map((s) => ({ refs: s.buckets.map((b) => b.ref), first: s.start, last: s.end })),
      {
        ...(deps.config.accounts.length ? { accounts: deps.config.accounts } : {}),
        ...(deps.config.regions.length ? { regions: deps.config.regions } : {}),
      },
      deps.signal ? { signal: deps.signal } : {},
    );
    addStats(stats, fetched.stats);
    addStats(run.out.stats, fetched.stats);
    const analysis = analyze(iterate(fetched.items), stages, {
      keepEvents: true,
      idleGapMinutes: IDLE_GAP_MS / 60_000,
    });
    for await (const r of analysis.sessions) reports.push(r);
  } catch (err) {
    deps.logger.warn(
      { err: (err as Error).message },
      'alert scan: could not fetch the alerted sessions whole',
    );
    reports = [];
  }
  for (const s of sessions) {
    const whole = reports.find(
      (r) => r.key.replace(/#\d+$/, '') === s.baseKey && Date.parse(r.start) <= s.end,
    );
    const base: SessionReport = whole ?? fallbackReport(s);
    out.set(s, { ...base, key: s.key, principal: s.principal, findings: s.findings, risk: s.risk });
  }
  return out;
}

function fallbackReport(s: GroupedSession): SessionReport {
  const ips = [...new Set(s.events.map((e) => e.record.sourceIPAddress).filter((x): x is string => !!x))];
  return {
    key: s.key,
    kind: 'unknown',
    principal: s.principal,
    accessKeyIds: [],
    sourceIps: ips,
    userAgents: [],
    regions: [],
    start: iso(s.start),
    end: iso(s.end),
    eventCount: s.eventCount,
    errorCount: s.errorCount,
    signals: [],
    unmappedEventIds: [],
    findings: s.findings,
    risk: s.risk,
    events: s.events,
  };
}

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function reportIncomplete(run: Run, since: number, until: number): Promise<void> {
  const f = run.failed!;
  const share = `${(run.out.coverage * 100).toFixed(1)} %`;
  const wm = await run.deps.state.getWatermark(run.scopeId);
  const note =
    `Alert scan incomplete: covered ${share} of ${utc(iso(since))} – ${utc(iso(until))}; ` +
    `${utc(iso(f.since))} – ${utc(iso(f.until))} could not be scanned (${f.reason}). ` +
    `The next scan retries from ${wm === undefined ? 'the same start' : utc(iso(wm))}.`;
  run.out.notes.push(note);
  run.deps.logger.warn(
    {
      scope: run.scopeId,
      coverage: run.out.coverage,
      failedFrom: iso(f.since),
      failedUntil: iso(f.until),
      reason: f.reason,
    },
    'alert scan incomplete',
  );
  await postOnce(
    run.deps,
    run.channel,
    `incomplete:${run.scopeId}:${f.since}`,
    'incomplete',
    buildCatchUpNote([note]),
  );
}

function addStats(into: GroupedScanStats, add: GroupedScanStats): void {
  into.queries += add.queries;
  into.bytesScanned += add.bytesScanned;
  into.costUsd += add.costUsd;
  into.rows += add.rows;
  into.eventRows += add.eventRows;
  addRowKinds(into, add);
}
