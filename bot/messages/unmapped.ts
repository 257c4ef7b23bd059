/**
 * Events the signal engine could not attribute to any user action, grouped by API call so an
 * analyst sees "what else happened" without 500 lines of noise.
 */
import type { SessionSummary } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { RefMaker } from '../actions/ids.ts';
import { context, groupBlocks, packSections, section } from './chunk.ts';
import { clock, code, plural } from './format.ts';
import { rawEventsButton } from './headline.ts';
import { blockTextLength, type SlackMessage } from './limits.ts';

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
  const sections = packSections(lines).map(section);
  const messages = groupBlocks(sections, blockTextLength, 4, 400);
  return messages.map((blocks, i) => {
    const part = messages.length > 1 ? ` (part ${i + 1} of ${messages.length})` : '';
    const out = [
      context(
        `*Not mapped to an action*${part} · ${plural(ids.length, 'event')}, ${plural(groups.size, 'kind')}`,
      ),
      ...blocks,
    ];
    if (i === messages.length - 1) {
      out.push({
        type: 'actions',
        elements: [rawEventsButton(ids.length, makeRef('raw', ids))],
      });
    }
    return { text: `${plural(ids.length, 'event')} not mapped to an action${part}`, blocks: out };
  });
}
