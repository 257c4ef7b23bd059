/**
 * The timeline of a session's actions as thread replies, in order, split over as many replies as
 * needed. Consecutive repeats of the same action collapse into one line (`×12`) because a console
 * session's polling would otherwise bury the one click that matters.
 */
import type { SessionSummary, Signal } from '../../engine/model.ts';
import type { RefMaker } from '../actions/ids.ts';
import { context, groupBlocks, SECTION_BUDGET, section } from './chunk.ts';
import { bold, clip, clock, esc, plural } from './format.ts';
import { rawEventsButton } from './headline.ts';
import type { Block, SlackMessage } from './limits.ts';
import { blockTextLength } from './limits.ts';

export interface TimelineOptions {
  /** Include actions the signal engine marked as background noise. */
  includeSuppressed?: boolean;
}

interface TimelineEntry {
  first: Signal;
  count: number;
  eventIds: string[];
  end: string;
}

export function collapseRepeats(signals: readonly Signal[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  for (const s of signals) {
    const last = out[out.length - 1];
    if (
      last &&
      last.first.id === s.id &&
      last.first.summary === s.summary &&
      last.first.suppressed === s.suppressed
    ) {
      last.count += 1;
      last.eventIds.push(...s.eventIds);
      last.end = s.end;
    } else {
      out.push({ first: s, count: 1, eventIds: [...s.eventIds], end: s.end });
    }
  }
  return out;
}

function line(e: TimelineEntry): string {
  const s = e.first;
  const repeat = e.count > 1 ? ` ×${e.count} (until ${clock(e.end)})` : '';
  const noise = s.suppressed ? ' _(background)_' : '';
  const summary = s.summary && s.summary !== s.name ? ` — ${esc(clip(s.summary, 400))}` : '';
  const link = s.url && /^https:\/\//.test(s.url) ? ` <${s.url.replace(/[<>|]/g, '')}|open>` : '';
  return `\`${clock(s.start)}\` ${bold(s.name, 150)}${summary}${repeat}${noise} · ${plural(e.eventIds.length, 'event')}${link}`;
}

/** One or more thread replies; each carries a "Show raw events" button for the events it lists. */
export function buildTimeline(
  session: SessionSummary,
  makeRef: RefMaker,
  options: TimelineOptions = {},
): SlackMessage[] {
  const signals = options.includeSuppressed ? session.signals : session.signals.filter((s) => !s.suppressed);
  const title = options.includeSuppressed ? 'All actions, including background' : 'Timeline';
  if (signals.length === 0) {
    const text = `${title}: no ${options.includeSuppressed ? '' : 'user '}actions recognised in this session.`;
    return [{ text, blocks: [section(`*${title}*\nNo actions recognised in this session.`)] }];
  }
  const entries = collapseRepeats(signals);
  // Pack entries into sections while remembering which entries each section holds (for its button).
  const sections: { text: string; eventIds: string[] }[] = [];
  let cur = '';
  let curIds: string[] = [];
  for (const e of entries) {
    const l = clip(line(e), SECTION_BUDGET);
    if (cur && cur.length + 1 + l.length > SECTION_BUDGET) {
      sections.push({ text: cur, eventIds: curIds });
      cur = '';
      curIds = [];
    }
    cur = cur ? `${cur}\n${l}` : l;
    curIds.push(...e.eventIds);
  }
  if (cur) sections.push({ text: cur, eventIds: curIds });

  const blocks = sections.map((s) => ({ block: section(s.text), eventIds: s.eventIds }));
  const groups = groupBlocks(
    blocks.map((b) => b.block),
    (b) => blockTextLength(b),
    4,
    400,
  );
  const messages: SlackMessage[] = [];
  let offset = 0;
  groups.forEach((group, i) => {
    const ids = blocks.slice(offset, offset + group.length).flatMap((b) => b.eventIds);
    offset += group.length;
    const part = groups.length > 1 ? ` (part ${i + 1} of ${groups.length})` : '';
    const out: Block[] = [context(`*${title}*${part} · ${plural(signals.length, 'action')}`), ...group];
    out.push({
      type: 'actions',
      elements: [rawEventsButton(ids.length, makeRef('raw', ids))],
    });
    messages.push({ text: `${title}${part} of ${session.key}`, blocks: out });
  });
  return messages;
}
