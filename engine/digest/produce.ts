/**
 * One digest, start to finish, shared by `cartographer digest` and the bot: pick the day, read the
 * source, file sessions by day, compare with the baseline, build.
 *
 * Which day: the given date; else `defaultDate` (today for on-demand runs, yesterday for the
 * scheduled one). Local files are a replay of the past (the bundled demo is from 2023): when the
 * chosen day has no events there but the files hold older days, the digest covers the files'
 * latest day and says so in `notes`.
 */
import { isAggregating, type RecordSource, type SourceQuery } from '../source.ts';
import type { PipelineStages } from '../stages.ts';
import { buildDigest } from './build.ts';
import { baselineFrom, collectDays, latestDay } from './collect.ts';
import { dayBounds, previousDay } from './day.ts';
import { mergeFacts } from './facts.ts';
import { produceGroupedDigest } from './grouped.ts';
import type { ProducedDigest, ProduceOptions } from './produce-types.ts';

export type { ProducedDigest, ProduceOptions } from './produce-types.ts';

export async function produceDigest(
  source: RecordSource,
  stages: PipelineStages,
  options: ProduceOptions,
): Promise<ProducedDigest> {
  // A store that groups and filters (Athena) is asked for counts and the events that can matter, not every row.
  if (isAggregating(source)) return produceGroupedDigest(source, stages, options);
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
