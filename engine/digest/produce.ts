/**
 * One digest, start to finish, shared by `cartographer digest` and the bot: pick the day, read the
 * source, file sessions by day, compare with the baseline, build.
 *
 * Which day: the given date; else `defaultDate` (today for on-demand runs, yesterday for the
 * scheduled one). Local files are a replay of the past (the bundled demo is from 2023): when the
 * chosen day has no events there but the files hold older days, the digest covers the files'
 * latest day and says so in `notes`.
 */
import type { InputsSummary } from '../model.ts';
import type { RecordSource, SourceItem, SourceQuery } from '../source.ts';
import type { PipelineStages } from '../stages.ts';
import { buildDigest, type Digest, type DigestSessionInput } from './build.ts';
import { baselineFrom, collectDays, latestDay } from './collect.ts';
import { dayBounds, previousDay } from './day.ts';
import { type FactSets, mergeFacts } from './facts.ts';

export interface ProduceOptions {
  date?: string;
  defaultDate: string;
  timeZone: string;
  baselineDays: number;
  /** A stored baseline (the bot's), merged with the earlier days found in the source itself. */
  storedBaseline?: (fromDay: string, beforeDay: string) => Promise<{ facts: FactSets; days: number }>;
  keepRecords?: boolean;
  /** Base query (accounts, regions…); the day bounds are added here. */
  query?: SourceQuery;
  signal?: AbortSignal;
  /** How to read a query (default `source.read`); scans pass one that pulls only what detections need. */
  read?: (query: SourceQuery, signal?: AbortSignal) => AsyncIterable<SourceItem>;
}

export interface ProducedDigest {
  digest: Digest;
  notes: string[];
  /** The day's sessions by key (with records when `keepRecords`). */
  sessions: Map<string, DigestSessionInput>;
  inputs: InputsSummary;
  truncated?: string;
}

export async function produceDigest(
  source: RecordSource,
  stages: PipelineStages,
  options: ProduceOptions,
): Promise<ProducedDigest> {
  const notes: string[] = [];
  let date = options.date ?? options.defaultDate;
  const earliest = previousDay(date, options.baselineDays);
  const query: SourceQuery = { ...options.query };
  // Local files are read whole (the data's own days decide); AWS sources only the needed days.
  if (source.name !== 'local' || options.date) {
    query.since = new Date(dayBounds(source.name === 'local' ? earliest : date, options.timeZone).start);
    query.until = new Date(dayBounds(date, options.timeZone).end);
  }
  const items = options.read
    ? options.read(query, options.signal)
    : source.read(query, options.signal ? { signal: options.signal } : {});
  const collected = await collectDays(items, stages, options.timeZone, options.keepRecords ?? false);
  if (!options.date && source.name === 'local' && !collected.days.has(date)) {
    const last = latestDay(collected.days);
    if (last && last < date) {
      const others = [...collected.days.keys()]
        .filter((d) => d !== last)
        .sort()
        .reverse();
      notes.push(
        `The local CloudTrail files have no events on ${date}; they end on ${last}, so this digest covers ${last}.` +
          (others.length
            ? ` They also hold ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}: ask for a date to see another day.`
            : ''),
      );
      date = last;
    }
  }
  const dayEarliest = previousDay(date, options.baselineDays);
  const fromData = baselineFrom(collected.days, date, dayEarliest);
  const stored = await options.storedBaseline?.(dayEarliest, date);
  const baselineFacts = stored ? mergeFacts(fromData.facts, stored.facts) : fromData.facts;
  const baselineDays = Math.max(fromData.days, stored?.days ?? 0);
  const dayInputs = collected.days.get(date) ?? [];
  const digest = buildDigest(dayInputs, {
    date,
    timeZone: options.timeZone,
    baseline: baselineFacts,
    baselineDays,
  });
  if (collected.truncated) notes.push(`The source stopped early: ${collected.truncated}.`);
  const out: ProducedDigest = {
    digest,
    notes,
    sessions: new Map(dayInputs.map((s) => [s.summary.key, s])),
    inputs: collected.inputs,
  };
  if (collected.truncated) out.truncated = collected.truncated;
  return out;
}
