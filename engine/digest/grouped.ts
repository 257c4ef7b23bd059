/**
 * The digest from a store that groups (Athena), with the same result as reading every event: sessions from the
 * store's buckets, findings and risk from the prefiltered events (engine/grouped-analysis.ts), the day's facts and
 * the baseline days' facts grouped by the store. Only buckets, prefiltered events and grouped facts travel.
 *
 * The day is scanned whole when the store can answer it; otherwise in smaller parts, and the digest states the share
 * of the day it covered.
 */
import { pushdownOf } from '../detections/pushdown.ts';
import { analyzeGrouped, type GroupedSession, groupedSummary } from '../grouped-analysis.ts';
import { type CoveredScan, scanCovering, scanStats } from '../scan-parts.ts';
import { principalOf } from '../sessions/session-key.ts';
import {
  type AggregatingSource,
  addRowKinds,
  type BucketIdentity,
  type GroupedFacts,
  type GroupedScanStats,
} from '../source.ts';
import type { PipelineStages } from '../stages.ts';
import { buildDigest, type DigestSessionInput } from './build.ts';
import { dayBounds, dayOf, previousDay } from './day.ts';
import { emptyFacts, type FactSets, mergeFacts, principalIdentity, uaProduct } from './facts.ts';
import { networkOf } from './networks.ts';
import type { ProducedDigest, ProduceOptions } from './produce-types.ts';

/** Session buckets: shorter than the idle gap (30 min), long enough to keep busy principals to few rows. */
const BUCKET_MS = 15 * 60_000;
const IDLE_GAP_MS = 30 * 60_000;
/** A day that cannot be scanned whole is split down to parts of this length before a part counts as failed. */
const MIN_PART_MS = 15 * 60_000;

export interface GroupedDigestExtras {
  /** Share of the day covered (1 = all of it). */
  coverage: number;
  stats: GroupedScanStats;
  /** The day's sessions with their buckets (to fetch a shown session's events afterwards). */
  grouped: Map<string, GroupedSession>;
}

export async function produceGroupedDigest(
  source: AggregatingSource,
  stages: PipelineStages,
  options: ProduceOptions,
): Promise<ProducedDigest & GroupedDigestExtras> {
  const date = options.date ?? options.defaultDate;
  const day = dayBounds(date, options.timeZone);
  const scope = {
    ...(options.query?.accounts ? { accounts: options.query.accounts } : {}),
    ...(options.query?.regions ? { regions: options.query.regions } : {}),
  };
  const covered = await scanCovering(
    source,
    {
      ...scope,
      since: new Date(day.start),
      until: new Date(day.end),
      pushdown: pushdownOf(stages),
      bucketMs: BUCKET_MS,
      idleGapMs: IDLE_GAP_MS,
      facts: true,
    },
    { ...(options.signal ? { signal: options.signal } : {}), minPartMs: MIN_PART_MS },
  );
  const scans = covered.parts.map((p) => p.scan);
  const analysis = analyzeGrouped(
    {
      buckets: scans.flatMap((s) => s.buckets),
      items: scans.flatMap((s) => s.items),
      hits: scans.flatMap((s) => s.hits ?? []),
      // Every part is the same request (one pushdown), so the same rules were counted in each.
      counted: scans[0]?.counted ?? [],
      // Threshold findings the store computed hold for the sessions of one scan; parts of a split range read events
      // instead (scanCovering asks them for no bursts).
      ...(scans.length === 1 && scans[0]!.burstRules
        ? { burstRules: scans[0]!.burstRules, bursts: scans[0]!.bursts ?? [] }
        : {}),
    },
    stages,
    { idleGapMs: IDLE_GAP_MS },
  );
  const dayOfSession = (s: GroupedSession) => dayOf(s.start, options.timeZone);
  const daySessions = analysis.sessions.filter((s) => dayOfSession(s) === date);
  const inputs: DigestSessionInput[] = daySessions.map((s) => {
    const facts = emptyFacts();
    const who = principalIdentity(s.principal);
    if (who) facts.principals.add(who);
    return { summary: groupedSummary(s), facts };
  });
  const family = userAgentFamily(stages);
  const observed = factSets(
    scans.flatMap((s) => (s.facts ? [s.facts] : [])),
    family,
  );
  const stats = scanStats(covered.parts);
  const baseline = await baselineFor(source, options, date, scope, family, stats);
  const digest = buildDigest(inputs, {
    date,
    timeZone: options.timeZone,
    baseline: baseline.facts,
    baselineDays: baseline.days,
    observed,
  });
  return {
    digest,
    notes: coverageNotes(covered, date),
    sessions: new Map(inputs.map((s) => [s.summary.key, s])),
    inputs: analysis.inputs,
    ...(covered.failed.length ? { truncated: `covered ${percent(covered.coverage)} of ${date}` } : {}),
    coverage: covered.coverage,
    stats,
    grouped: new Map(daySessions.map((s) => [s.key, s])),
  };
}

/** "The digest covers 62.5 % of 2026-01-05: …" when a part could not be scanned; nothing on a whole day. */
function coverageNotes(covered: CoveredScan, date: string): string[] {
  if (covered.failed.length === 0) return [];
  const missing = covered.failed
    .slice(0, 3)
    .map((f) => `${iso(f.since)}–${iso(f.until)}`)
    .join(', ');
  return [
    `Incomplete: this digest covers ${percent(covered.coverage)} of ${date}; not scanned: ${missing}${covered.failed.length > 3 ? ', …' : ''} (${covered.failed[0]!.reason.split('\n')[0]}).`,
  ];
}

export function percent(share: number): string {
  const p = share * 100;
  return `${p === 100 || p === 0 ? p.toFixed(0) : p.toFixed(1)} %`;
}

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

/** The enricher's user-agent family (console sessions count as `console`), as sessionFacts takes it from events. */
function userAgentFamily(stages: PipelineStages): (ua: string, console: boolean) => string {
  const enricher = stages.enricher;
  return (ua, console) => {
    if (!enricher) return uaProduct(ua);
    const record = {
      eventTime: '1970-01-01T00:00:00Z',
      eventSource: 'facts.amazonaws.com',
      eventName: 'Facts',
      userAgent: ua,
      ...(console ? { sessionCredentialFromConsole: 'true' } : {}),
    };
    const event = { record, time: 0, id: 'facts', seq: 0 } as Parameters<typeof enricher.enrich>[0];
    enricher.enrich(event);
    return event.enrichment?.userAgentFamily ?? uaProduct(ua);
  };
}

function factSets(
  grouped: readonly GroupedFacts[],
  family: (ua: string, console: boolean) => string,
): FactSets {
  const facts = emptyFacts();
  for (const g of grouped) {
    for (const r of g.regions) facts.regions.add(r);
    for (const s of g.services) facts.services.add(s.replace(/\.amazonaws\.com$/, ''));
    for (const ip of g.networkSamples) {
      const net = networkOf(ip);
      if (net) facts.networks.add(net);
    }
    for (const u of g.userAgents) facts.userAgents.add(family(u.userAgent, u.console));
  }
  facts.userAgents.delete('unknown');
  return facts;
}

/**
 * The baseline: what the caller stored from earlier digests; when that holds no day, the earlier days' facts as
 * the store groups them (per event identity rather than per session principal, a near-identical set).
 */
async function baselineFor(
  source: AggregatingSource,
  options: ProduceOptions,
  date: string,
  scope: { accounts?: string[]; regions?: string[] },
  family: (ua: string, console: boolean) => string,
  stats: GroupedScanStats,
): Promise<{ facts: FactSets; days: number }> {
  // No baseline asked for (baselineDays 0): nothing to read, and nothing is reported as new.
  if (options.baselineDays <= 0) return { facts: emptyFacts(), days: 0 };
  const earliest = previousDay(date, options.baselineDays);
  const stored = await options.storedBaseline?.(earliest, date);
  if (stored && stored.days > 0) return stored;
  const since = dayBounds(earliest, options.timeZone).start;
  const until = dayBounds(date, options.timeZone).start - 1000;
  const answer = await source.baseline(
    { ...scope, since: new Date(since), until: new Date(until) },
    options.signal ? { signal: options.signal } : {},
  );
  for (const k of ['queries', 'bytesScanned', 'costUsd', 'rows', 'eventRows'] as const)
    stats[k] += answer.stats[k];
  addRowKinds(stats, answer.stats);
  const facts = factSets([answer.facts], family);
  for (const id of answer.identities) {
    const who = identityPrincipal(id);
    if (who) facts.principals.add(who);
  }
  const days = new Set(answer.quarters.map((q) => dayOf(Date.parse(`${q}:00Z`), options.timeZone)));
  days.delete(date);
  return { facts: stored ? mergeFacts(facts, stored.facts) : facts, days: days.size };
}

function identityPrincipal(id: BucketIdentity): string | undefined {
  return id.userIdentity ? principalIdentity(principalOf(id.userIdentity)) : undefined;
}
