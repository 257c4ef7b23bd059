/**
 * Proposals for new console pages (rules/signals/pages/*.yaml) from the events of a console session that
 * only got a page-level answer ("Viewed the RDS console: …"). Each burst of one service's unexplained calls
 * becomes one proposed page: its first call as the anchor, the others as calls, a window that covers the
 * burst, and a name guessed from the service and the anchor's noun. Pure: the CLI prints the result.
 */
import type { EngineEvent, Signal } from '../model.ts';
import { eventKey } from './conditions.ts';
import type { Phrases } from './phrases.ts';

export interface PageSuggestion {
  /** The pages file it would go into, e.g. `RDS.yaml`. */
  file: string;
  service: string;
  page: {
    id: string;
    name: string;
    summary: string;
    anchor: string[];
    calls: string[];
    lookback: number;
    lookahead: number;
  };
  /** Where the calls were seen, for the file's `sources`. */
  seen: { start: string; end: string; events: number; counts: Record<string, number> };
}

/** Calls of one service more than this far apart are separate page loads. */
const BURST_GAP_MS = 10_000;

export function suggestPages(
  signals: readonly Signal[],
  events: readonly EngineEvent[],
  phrases: Phrases,
): PageSuggestion[] {
  const byId = new Map(events.map((e) => [e.id, e]));
  const out: PageSuggestion[] = [];
  const taken = new Set<string>();
  for (const s of signals) {
    if (!s.details.pageLevel) continue;
    const members = s.eventIds.map((id) => byId.get(id)).filter((e): e is EngineEvent => !!e);
    for (const burst of bursts(members)) {
      const suggestion = suggestion1(burst, phrases, taken);
      taken.add(suggestion.page.id);
      out.push(suggestion);
    }
  }
  return out;
}

function bursts(members: readonly EngineEvent[]): EngineEvent[][] {
  const out: EngineEvent[][] = [];
  let current: EngineEvent[] = [];
  for (const e of members) {
    const last = current[current.length - 1];
    if (last && e.time - last.time > BURST_GAP_MS) {
      out.push(current);
      current = [];
    }
    current.push(e);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function suggestion1(burst: EngineEvent[], phrases: Phrases, taken: ReadonlySet<string>): PageSuggestion {
  const keys = burst.map((e) => eventKey(e.record));
  const counts: Record<string, number> = {};
  for (const k of keys) counts[k] = (counts[k] ?? 0) + 1;
  // The anchor: the first listing call (a page usually opens by listing something), else the first call.
  const anchor = keys.find((k) => phrases.call(k).listing) ?? keys[0]!;
  const prefix = anchor.slice(0, anchor.indexOf(':'));
  const service = phrases.service(prefix);
  const serviceId = service.replace(/[^A-Za-z0-9]+/g, '');
  const noun = phrases.call(anchor).noun;
  const nounId = noun
    .replace(/(^|\s)(\w)/g, (_m, _s, c: string) => c.toUpperCase())
    .replace(/[^A-Za-z0-9]+/g, '');
  let id = `${serviceId}_${nounId || 'Page'}`;
  for (let n = 2; taken.has(id); n++) id = `${serviceId}_${nounId || 'Page'}${n}`;
  const anchorTime = burst[keys.indexOf(anchor)]!.time;
  const first = burst[0]!.time;
  const last = burst[burst.length - 1]!.time;
  return {
    file: `${serviceId}.yaml`,
    service: serviceId,
    page: {
      id,
      name: `Clicked ${service} → ${noun}`,
      summary: `Viewed the ${service} ${noun} in {{region}}.`,
      anchor: [anchor],
      calls: [...new Set(keys)].filter((k) => k !== anchor),
      lookback: Math.ceil((anchorTime - first) / 1000) + 1,
      lookahead: Math.ceil((last - anchorTime) / 1000) + 1,
    },
    seen: {
      start: new Date(first).toISOString(),
      end: new Date(last).toISOString(),
      events: burst.length,
      counts,
    },
  };
}
