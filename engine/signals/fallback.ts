/**
 * What is left after the rules: no console event stays unexplained when a page-level answer exists
 * ("Viewed the RDS console: 45 events"), and a programmatic session's repeated calls become one line
 * ("`s3:GetObject` ×120 on bucket X"). Both are single linear passes over the leftover events.
 */
import type { EngineEvent } from '../model.ts';
import { asString, valuesAt } from './json-path.ts';
import type { LabelledEvent } from './labeller.ts';
import type { FallbackFile } from './schema.ts';
import type { UserAgentClassifier } from './user-agent.ts';
import { changesSomething } from './writes.ts';

export interface FallbackSignal {
  id: string;
  suppressed: boolean;
  name: string;
  summary: string;
  url?: string;
  service: string;
  members: EngineEvent[];
  details: Record<string, unknown>;
}

const prefixOf = (key: string) => key.slice(0, key.indexOf(':'));
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

export function fallbackSignals(
  data: FallbackFile,
  ua: UserAgentClassifier,
  leftovers: readonly LabelledEvent[],
): FallbackSignal[] {
  const consoleFamilies = new Set(data.pages.userAgents.flatMap((n) => ua.expand(n)));
  const out: FallbackSignal[] = [];

  // Page visits: per service, consecutive console events no more than gapSeconds apart.
  const visits = new Map<string, { members: LabelledEvent[]; last: number }>();
  const closeVisit = (prefix: string, v: { members: LabelledEvent[] }) => {
    const page = data.pages.services[prefix];
    const members = v.members.map((m) => m.event);
    const region = members[0]!.record.awsRegion ?? 'us-east-1';
    const fill = (t: string) => t.replaceAll('{{service}}', prefix).replaceAll('{{region}}', region);
    const name = fill(page?.name ?? data.pages.default.name);
    const counts = tally(members, (e) => e.record.eventName);
    out.push({
      id: `Console_${idPart(prefix)}`,
      name,
      summary: `${name}: ${members.length} event${members.length === 1 ? '' : 's'} no console action explains (${topCalls(counts)}).`,
      url: page?.url !== undefined ? fill(page.url) : data.pages.default.url && fill(data.pages.default.url),
      service: page?.service ?? prefix,
      suppressed: page?.suppressed ?? false,
      members,
      details: { pageLevel: true, eventCount: members.length, eventNames: counts, region },
    });
  };

  // Programmatic runs: the same call, consecutive within gapSeconds, over however many resources.
  interface Run {
    members: LabelledEvent[];
    last: number;
    resources: Map<string, number>;
  }
  const runs = new Map<string, Run>();
  const closeRun = (r: Run) => {
    const first = r.members[0]!;
    const prefix = prefixOf(first.key);
    const members = r.members.map((m) => m.event);
    const on = describeResources(data.collapse.resourceNouns[prefix], r.resources);
    const times = members.length > 1 ? ` ×${members.length}` : '';
    const failed = members.filter((e) => e.record.errorCode);
    const errorCodes = tally(failed, (e) => e.record.errorCode as string);
    const resources = [...r.resources.keys()];
    out.push({
      id: members.length > 1 ? `Repeated_${idPart(first.key)}` : `Call_${idPart(first.key)}`,
      name: `\`${first.key}\`${times}${on}`,
      summary: `Called ${first.key}${times}${on}${failed.length ? `; ${failed.length} failed (${topCalls(errorCodes)})` : ''}.`,
      service: prefix,
      suppressed: false,
      members,
      details: {
        eventCount: members.length,
        eventName: first.key,
        ...(resources.length === 1 ? { resource: resources[0] } : {}),
        ...(resources.length > 0
          ? { resources: resources.slice(0, 20), resourceCount: resources.length }
          : {}),
        userAgentFamily: first.family,
        errorCount: failed.length,
        writeCount: members.filter(changesSomething).length,
        region: first.event.record.awsRegion,
      },
    });
  };

  for (const le of leftovers) {
    const t = le.event.time;
    if (consoleFamilies.has(le.family)) {
      const prefix = prefixOf(le.key);
      const v = visits.get(prefix);
      if (v && t - v.last <= data.pages.gapSeconds * 1000) {
        v.members.push(le);
        v.last = t;
      } else {
        if (v) closeVisit(prefix, v);
        visits.set(prefix, { members: [le], last: t });
      }
      continue;
    }
    const resource = resourceOf(data, le);
    const r = runs.get(le.key);
    if (r && t - r.last <= data.collapse.gapSeconds * 1000) {
      r.members.push(le);
      r.last = t;
      if (resource !== undefined) r.resources.set(resource, (r.resources.get(resource) ?? 0) + 1);
    } else {
      if (r) closeRun(r);
      runs.set(le.key, {
        members: [le],
        last: t,
        resources: new Map(resource === undefined ? [] : [[resource, 1]]),
      });
    }
  }
  for (const [prefix, v] of visits) closeVisit(prefix, v);
  for (const r of runs.values()) closeRun(r);
  return out;
}

/** " on bucket X", " on 37 buckets (a, b, c and 34 more)", or nothing. */
function describeResources(noun: string | undefined, resources: Map<string, number>): string {
  const names = [...resources.keys()];
  if (names.length === 0) return '';
  if (names.length === 1) return ` on ${noun ? `${noun} ` : ''}${names[0]}`;
  const shown = names.slice(0, 3).join(', ');
  const more = names.length > 3 ? ` and ${names.length - 3} more` : '';
  return ` on ${names.length} ${noun ? `${noun}s` : 'resources'} (${shown}${more})`;
}

function resourceOf(data: FallbackFile, le: LabelledEvent): string | undefined {
  return resourceName(data, le.key, le.event);
}

/** The resource an event acts on (bucket, user, key …), by the per-service paths of fallback.yaml. */
export function resourceName(data: FallbackFile, key: string, event: EngineEvent): string | undefined {
  const paths = data.collapse.resourcePaths[prefixOf(key)] ?? data.collapse.resourcePaths['*'] ?? [];
  for (const p of paths) {
    const v = valuesAt(event.record.requestParameters, p).find(
      (x) => x !== null && x !== undefined && x !== '',
    );
    if (v !== undefined) return asString(v);
  }
  return undefined;
}
