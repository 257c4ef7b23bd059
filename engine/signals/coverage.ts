/**
 * How much of a session the signal engine names: each event is counted under the kind of signal that
 * holds it. "Named" means a rule gave it a user action (a Cloud Console Cartographer definition, a
 * console page of pages/*.yaml, or a sentence for programmatic calls and writes); page-level answers
 * ("Viewed the RDS console: …"), bare calls ("Called …") and unmapped events are not named.
 */
import type { Signal } from '../model.ts';

export type EventCategory = 'defs' | 'pages' | 'summary' | 'page-level' | 'call' | 'unmapped';

export const NAMED: ReadonlySet<EventCategory> = new Set(['defs', 'pages', 'summary']);

export interface Coverage {
  events: number;
  named: number;
  byCategory: Record<EventCategory, number>;
}

/** The category of a signal, from what the engine wrote into its details. */
export function categoryOf(s: Signal): EventCategory {
  const d = s.details;
  if (d.pageLevel) return 'page-level';
  if (d.from === 'defs' || d.from === 'pages' || d.from === 'summary') return d.from;
  return 'call';
}

export function coverageOf(signals: readonly Signal[], unmappedEventIds: readonly string[]): Coverage {
  const byCategory: Record<EventCategory, number> = {
    defs: 0,
    pages: 0,
    summary: 0,
    'page-level': 0,
    call: 0,
    unmapped: unmappedEventIds.length,
  };
  for (const s of signals) byCategory[categoryOf(s)] += s.eventIds.length;
  let events = 0;
  let named = 0;
  for (const [k, n] of Object.entries(byCategory) as [EventCategory, number][]) {
    events += n;
    if (NAMED.has(k)) named += n;
  }
  return { events, named, byCategory };
}
