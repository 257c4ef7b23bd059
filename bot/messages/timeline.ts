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
import { pagerButtons } from './pager.ts';

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

interface TimelinePage {
  sections: { text: string; eventIds: string[] }[];
  /** 1-based positions of the first and last action on the page. */
  from: number;
  to: number;
}

/** The timeline cut into pages that each fit one message (~7,600 characters, under 50 blocks). */
function timelinePages(signals: readonly Signal[]): TimelinePage[] {
  // Pack entries into sections while remembering which entries (and actions) each section holds.
  const sections: { text: string; eventIds: string[]; from: number; to: number }[] = [];
  let cur: (typeof sections)[number] | undefined;
  let position = 0;
  for (const e of collapseRepeats(signals)) {
    const l = clip(line(e), SECTION_BUDGET);
    if (cur && cur.text.length + 1 + l.length > SECTION_BUDGET) {
      sections.push(cur);
      cur = undefined;
    }
    cur ??= { text: '', eventIds: [], from: position + 1, to: position };
    cur.text = cur.text ? `${cur.text}\n${l}` : l;
    cur.eventIds.push(...e.eventIds);
    position += e.count;
    cur.to = position;
  }
  if (cur) sections.push(cur);
  const groups = groupBlocks(
    sections.map((x) => section(x.text)),
    (b) => blockTextLength(b),
    4,
    400,
  );
  const pages: TimelinePage[] = [];
  let offset = 0;
  for (const group of groups) {
    const mine = sections.slice(offset, offset + group.length);
    offset += group.length;
    pages.push({ sections: mine, from: mine[0]?.from ?? 1, to: mine.at(-1)?.to ?? 0 });
  }
  return pages;
}

function selectSignals(session: SessionSummary, options: TimelineOptions) {
  const signals = options.includeSuppressed ? session.signals : session.signals.filter((s) => !s.suppressed);
  const title = options.includeSuppressed ? 'All actions, including background' : 'Timeline';
  return { signals, title };
}

function emptyTimeline(title: string, options: TimelineOptions): SlackMessage {
  const text = `${title}: no ${options.includeSuppressed ? '' : 'user '}actions recognised in this session.`;
  return { text, blocks: [section(`*${title}*\nNo actions recognised in this session.`)] };
}

/** One or more thread replies; each carries a "Show raw events" button for the events it lists. */
export function buildTimeline(
  session: SessionSummary,
  makeRef: RefMaker,
  options: TimelineOptions = {},
): SlackMessage[] {
  const { signals, title } = selectSignals(session, options);
  if (signals.length === 0) return [emptyTimeline(title, options)];
  const pages = timelinePages(signals);
  return pages.map((page, i) => {
    const ids = page.sections.flatMap((x) => x.eventIds);
    const part = pages.length > 1 ? ` (part ${i + 1} of ${pages.length})` : '';
    const out: Block[] = [
      context(`*${title}*${part} · ${plural(signals.length, 'action')}`),
      ...page.sections.map((x) => section(x.text)),
      { type: 'actions', elements: [rawEventsButton(ids.length, makeRef('raw', ids))] },
    ];
    return { text: `${title}${part} of ${session.key}`, blocks: out };
  });
}

/**
 * One page of the timeline as one thread reply: "Show N more actions" and "Previous" update this
 * same message in place (`page` is 0-based and clamped), so a long session costs one reply.
 */
export function buildTimelinePage(
  session: SessionSummary,
  makeRef: RefMaker,
  page: number,
  options: TimelineOptions = {},
): SlackMessage {
  const { signals, title } = selectSignals(session, options);
  if (signals.length === 0) return emptyTimeline(title, options);
  const pages = timelinePages(signals);
  const i = Math.min(Math.max(0, page), pages.length - 1);
  const p = pages[i]!;
  const ids = p.sections.flatMap((x) => x.eventIds);
  const range =
    pages.length > 1
      ? ` · actions ${p.from}–${p.to} of ${signals.length}`
      : ` · ${plural(signals.length, 'action')}`;
  const rest = signals.length - p.to;
  const view = options.includeSuppressed ? 'all_actions' : 'timeline';
  const elements = [
    rawEventsButton(ids.length, makeRef('raw', ids)),
    ...pagerButtons(
      { view, page: i },
      pages.length,
      rest > 0 ? `Show ${plural(rest, 'more action')}` : undefined,
      makeRef,
    ),
  ];
  const blocks: Block[] = [
    context(`*${title}*${range}${pages.length > 1 ? ` · page ${i + 1} of ${pages.length}` : ''}`),
    ...p.sections.map((x) => section(x.text)),
    { type: 'actions', elements },
  ];
  return {
    text: `${title}${pages.length > 1 ? ` (page ${i + 1} of ${pages.length})` : ''} of ${session.key}`,
    blocks,
  };
}
