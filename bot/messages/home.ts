/**
 * The bot's App Home tab: the alerts I hold, the open alerts nobody has resolved yet (each linked to
 * its message, where the buttons are), and the latest digest's headline. Published with views.publish
 * when the tab is opened and again for the people concerned whenever an alert changes hands.
 */
import type { AlertCase, DigestHeadline } from '../../adapters/state/triage-store.ts';
import { OUTCOME_LABEL } from '../actions/case-transitions.ts';
import { context, section } from './chunk.ts';
import { mrkdwnLink } from './console-links.ts';
import { clip, esc, mention, plural, SEVERITY_ICON, utc } from './format.ts';
import type { Block, BotHomeView } from './limits.ts';

export interface HomeInput {
  userId: string;
  /** Not resolved and held by the user. */
  mine: AlertCase[];
  /** Not resolved, newest first (the user's own included). */
  open: AlertCase[];
  /** How many unresolved alerts there are in all (the list may be cut). */
  openTotal: number;
  digest?: DigestHeadline;
  /** The message of an alert or digest (a permalink), when known. */
  link: (channel: string, ts: string) => string | undefined;
  now: number;
}

const SHOWN = 15;

export function buildHome(input: HomeInput): BotHomeView {
  const blocks: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: 'Cartographer · triage', emoji: true } },
    section(
      `*Assigned to you* (${input.mine.length})\n${input.mine.length ? lines(input.mine.slice(0, SHOWN), input) : '_Nothing: pick an alert with *Assign to…* in its message._'}`,
    ),
    { type: 'divider' },
    section(
      `*Open alerts* (${input.openTotal})\n${input.open.length ? lines(input.open.slice(0, SHOWN), input) : '_None open._'}${input.openTotal > Math.min(input.open.length, SHOWN) ? `\n_…and ${plural(input.openTotal - Math.min(input.open.length, SHOWN), 'more', 'more')}_` : ''}`,
    ),
    { type: 'divider' },
    section(digestLine(input)),
    context(
      `Updated ${utc(new Date(input.now).toISOString())} · acknowledge, assign and resolve in the alert message itself`,
    ),
  ];
  return { type: 'home', blocks };
}

function lines(cases: AlertCase[], input: HomeInput): string {
  return clip(cases.map((c) => caseLine(c, input)).join('\n'), 2900);
}

function caseLine(c: AlertCase, input: HomeInput): string {
  const title = esc(clip(c.title, 120));
  const state =
    c.state === 'resolved'
      ? `resolved as ${OUTCOME_LABEL[c.outcome ?? 'true-positive']}`
      : c.state === 'acknowledged'
        ? 'acknowledged'
        : c.lastAction === 'reopened'
          ? 'reopened'
          : 'open';
  const holder = c.assignee && c.assignee !== input.userId ? ` · held by ${mention(c.assignee)}` : '';
  const link = input.link(c.channel, c.ts);
  const shown = link ? mrkdwnLink({ url: link, label: c.title }, title) : title;
  return `${SEVERITY_ICON[c.severity] ?? ':white_circle:'} ${shown} · ${state}${holder} · ${esc(clip(shortPrincipal(c.principal), 80))} · ${utc(new Date(c.eventAt).toISOString())}`;
}

function digestLine(input: HomeInput): string {
  const d = input.digest;
  if (!d) return '*Latest digest*\n_No digest posted yet (`/cartographer digest` builds one now)._';
  const link = input.link(d.channel, d.ts);
  const text = esc(clip(d.text, 600));
  return `*Latest digest* · ${d.date}\n${link ? mrkdwnLink({ url: link, label: d.date }, text) : text}`;
}

function shortPrincipal(p: string): string {
  return /^arn:[\w-]+:[\w-]+::\d*:(.+)$/.exec(p)?.[1] ?? p;
}
