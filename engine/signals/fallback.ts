/**
 * What is left after the rules: console reads no page explains get a page-level answer ("Viewed the RDS
 * console: 45 events"); every other call (programmatic clients, AWS services, and console writes, which
 * must stay visible one by one) is said in plain words by summaries.ts. Single linear passes.
 */

import type { EngineEvent } from '../model.ts';
import type { UserAgentClassifier } from '../user-agent.ts';
import { type FallbackSignal, fallbackSignal } from './fallback-types.ts';
import type { LabelledEvent } from './labeller.ts';
import type { Phrases } from './phrases.ts';
import { prefixOf } from './resources.ts';
import type { FallbackFile } from './schema.ts';
import { summarizeCalls } from './summaries.ts';
import { changesSomething } from './writes.ts';

export type { FallbackSignal } from './fallback-types.ts';

const idPart = (s: string) => s.replace(/[^A-Za-z0-9]+/g, '_');

function tally(members: readonly EngineEvent[], keyOf: (e: EngineEvent) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of members) {
    const k = keyOf(e);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function topCalls(counts: Record<string, number>, max = 4): string {
  const list = Object.entries(counts).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = list.slice(0, max).map(([k, n]) => (n > 1 ? `${k} ×${n}` : k));
  if (list.length > max) shown.push(`${list.length - max} more`);
  return shown.join(', ');
}

interface Visit {
  prefix: string;
  members: LabelledEvent[];
  last: number;
}

export function fallbackSignals(
  data: FallbackFile,
  ua: UserAgentClassifier,
  phrases: Phrases,
  leftovers: readonly LabelledEvent[],
): FallbackSignal[] {
  const consoleFamilies = new Set(data.pages.userAgents.flatMap((n) => ua.expand(n)));
  const out: FallbackSignal[] = [];
  const calls: LabelledEvent[] = [];

  // Page visits: per service, consecutive console reads no more than gapSeconds apart. Their signals are
  // made after the loop, closed visits first (one call site: no cold call inside the loop).
  const visits = new Map<string, Visit>();
  const closed: Visit[] = [];
  for (const le of leftovers) {
    if (!consoleFamilies.has(le.family) || changesSomething(le.event)) {
      calls.push(le);
      continue;
    }
    const t = le.event.time;
    const prefix = prefixOf(le.key);
    const v = visits.get(prefix);
    if (v && t - v.last <= data.pages.gapSeconds * 1000) {
      v.members.push(le);
      v.last = t;
    } else {
      if (v) closed.push(v);
      visits.set(prefix, { prefix, members: [le], last: t });
    }
  }
  for (const v of visits.values()) closed.push(v);
  for (const v of closed) out.push(visitSignal(data, v.prefix, v.members));
  if (calls.length > 0) {
    for (const s of summarizeCalls({ data, phrases }, calls)) out.push(s);
  }
  return out;
}

/** "Viewed the RDS console: 45 events no console action explains (DescribeDBInstances ×40, …)". */
function visitSignal(data: FallbackFile, prefix: string, list: readonly LabelledEvent[]): FallbackSignal {
  const page = data.pages.services[prefix];
  const members: EngineEvent[] = [];
  for (const m of list) members.push(m.event);
  const region = members[0]!.record.awsRegion ?? 'us-east-1';
  const fill = (t: string) => t.replaceAll('{{service}}', prefix).replaceAll('{{region}}', region);
  const name = fill(page?.name ?? data.pages.default.name);
  const counts = tally(members, (e) => e.record.eventName);
  const summary = `${name}: ${members.length} event${members.length === 1 ? '' : 's'} no console action explains (${topCalls(counts)}).`;
  const url =
    page?.url !== undefined ? fill(page.url) : data.pages.default.url && fill(data.pages.default.url);
  return fallbackSignal(
    `Console_${idPart(prefix)}`,
    name,
    summary,
    url,
    page?.service ?? prefix,
    page?.suppressed ?? false,
    members,
    {
      pageLevel: true,
      eventCount: members.length,
      eventNames: counts,
      region,
    },
  );
}
