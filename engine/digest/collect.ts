/**
 * Reads a source through the pipeline and files each session under the local day it started on,
 * with its baseline facts. Events are dropped as soon as the facts are taken, so memory holds
 * summaries only.
 */
import type { InputsSummary, SessionSummary } from '../model.ts';
import { analyze } from '../pipeline.ts';
import type { SourceItem } from '../source.ts';
import type { PipelineStages } from '../stages.ts';
import type { DigestSessionInput } from './build.ts';
import { dayOf } from './day.ts';
import { emptyFacts, type FactSets, mergeFacts, sessionFacts } from './facts.ts';

export interface CollectedDays {
  /** Sessions by local start day, `YYYY-MM-DD`. */
  days: Map<string, DigestSessionInput[]>;
  inputs: InputsSummary;
  truncated?: string;
}

export async function collectDays(
  items: AsyncIterable<SourceItem>,
  stages: PipelineStages,
  timeZone: string,
  /** Keep the raw records of sessions with findings (for "Open session"; costs memory). */
  keepRecords = false,
): Promise<CollectedDays> {
  const analysis = analyze(items, stages, { keepEvents: true });
  const days = new Map<string, DigestSessionInput[]>();
  for await (const report of analysis.sessions) {
    const facts = sessionFacts(report);
    const { events: _events, ...summary } = report;
    const day = dayOf(Date.parse(summary.start), timeZone);
    let list = days.get(day);
    if (!list) {
      list = [];
      days.set(day, list);
    }
    const input: DigestSessionInput = { summary: summary as SessionSummary, facts };
    if (keepRecords && summary.findings.length > 0) {
      input.records = new Map(report.events?.map((e) => [e.id, e.record]));
    }
    list.push(input);
  }
  const out: CollectedDays = { days, inputs: analysis.inputs };
  if (analysis.truncated) out.truncated = analysis.truncated;
  return out;
}

export function latestDay(days: CollectedDays['days']): string | undefined {
  return [...days.keys()].sort().at(-1);
}

/** Facts of the days strictly before `date` and at most `maxDays` before it, and how many such days had data. */
export function baselineFrom(
  days: CollectedDays['days'],
  date: string,
  earliest: string,
): { facts: FactSets; days: number } {
  const facts = emptyFacts();
  let n = 0;
  for (const [day, sessions] of days) {
    if (day >= date || day < earliest) continue;
    n++;
    for (const s of sessions) mergeFacts(facts, s.facts);
  }
  return { facts, days: n };
}
