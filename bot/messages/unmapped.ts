/**
 * Events the signal engine could not attribute to any user action, grouped by API call so an
 * analyst sees "what else happened" without 500 lines of noise: one reply, most frequent first.
 */
import type { SessionSummary } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { RefMaker } from '../actions/ids.ts';
import { context, packSections, section } from './chunk.ts';
import { clock, code, plural } from './format.ts';
import { rawEventsButton } from './headline.ts';
import type { SlackMessage } from './limits.ts';

/** Characters of kinds listed in the one reply (the message stays well under Slack's limits). */
const UNMAPPED_BUDGET = 6000;

export function buildUnmapped(
  session: SessionSummary,
  records: ReadonlyMap<string, CloudTrailRecord>,
  makeRef: RefMaker,
): SlackMessage[] {
  const ids = session.unmappedEventIds;
  if (ids.length === 0) {
    return [
      {
        text: 'Every event was mapped to an action',
        blocks: [context('Every event was mapped to an action.')],
      },
    ];
  }
  const groups = new Map<string, { count: number; first: string; last: string; errors: number }>();
  for (const id of ids) {
    const r = records.get(id);
    const key = r ? `${r.eventSource.replace('.amazonaws.com', '')}:${r.eventName}` : 'unknown event';
    const g = groups.get(key) ?? { count: 0, first: r?.eventTime ?? '', last: r?.eventTime ?? '', errors: 0 };
    g.count += 1;
    if (r?.eventTime && r.eventTime < g.first) g.first = r.eventTime;
    if (r?.eventTime && r.eventTime > g.last) g.last = r.eventTime;
    if (r?.errorCode) g.errors += 1;
    groups.set(key, g);
  }
  const lines = [...groups.entries()]
    .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
    .map(
      ([key, g]) =>
        `• ${code(key)} ×${g.count.toLocaleString('en-US')}${g.first ? ` · ${clock(g.first)}${g.last !== g.first ? `–${clock(g.last)}` : ''}` : ''}${g.errors ? ` · ${plural(g.errors, 'error')}` : ''}`,
    );
  // One reply: the most frequent kinds that fit; the rest is counted (Show raw events has every event).
  const shown: string[] = [];
  let chars = 0;
  for (const l of lines) {
    if (chars + l.length + 1 > UNMAPPED_BUDGET) break;
    shown.push(l);
    chars += l.length + 1;
  }
  if (shown.length < lines.length)
    shown.push(`_…and ${plural(lines.length - shown.length, 'more kind')} (Show raw events)_`);
  return [
    {
      text: `${plural(ids.length, 'event')} not mapped to an action`,
      blocks: [
        context(`*Not mapped to an action* · ${plural(ids.length, 'event')}, ${plural(groups.size, 'kind')}`),
        ...packSections(shown).map(section),
        { type: 'actions', elements: [rawEventsButton(ids.length, makeRef('raw', ids))] },
      ],
    },
  ];
}
