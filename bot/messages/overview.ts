/**
 * The answer to `/cartographer user …` and `ip …`: one message, the sessions ranked by risk, one line
 * each with an "Open" button (the session's summary and details then go into this message's thread),
 * quiet sessions folded into a count. A question gets one answer, not one card per session.
 */
import type { SectionBlock } from '@slack/types';
import type { SessionSummary } from '../../engine/model.ts';
import { ACTION_OPEN } from '../actions/ids.ts';
import { context, section } from './chunk.ts';
import { accessKeyLink, accountLabel, linkedCode, mrkdwnLink, principalLink } from './console-links.ts';
import { clip, clock, code, duration, esc, plural, utc } from './format.ts';
import { principalLabel, riskEmoji, severityCounts } from './headline.ts';
import type { Block, SlackMessage } from './limits.ts';

export interface OverviewInput {
  kind: 'user' | 'ip';
  value: string;
  /** Sessions kept with their details, worst first. */
  sessions: SessionSummary[];
  /** Sessions found but not kept (lowest risk), by key. */
  others: { key: string; risk?: number }[];
  /** The "Open" button's value for `sessions[i]` (a stored reference), or undefined for no button. */
  openRef: (index: number) => string | undefined;
  sourceLabel: string;
  requestedBy?: string;
  truncated?: string;
  rejected?: { count: number; first: string };
  accountName?: (accountId: string) => string | undefined;
}

const KIND: Record<string, string> = {
  console: 'console',
  programmatic: 'CLI / SDK',
  service: 'AWS service',
  unknown: 'unknown client',
};

export function isQuiet(s: SessionSummary): boolean {
  return (s.risk?.score ?? 0) === 0 && s.findings.length === 0;
}

export function buildOverview(input: OverviewInput): SlackMessage {
  const ranked = input.sessions.filter((s) => !isQuiet(s));
  const quiet = input.sessions.filter(isQuiet);
  const total = input.sessions.length + input.others.length;
  const worst = input.sessions[0]?.risk?.score;
  const subject = input.kind === 'user' ? esc(clip(input.value, 120)) : `IP ${esc(input.value)}`;
  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: clip(
          `${riskEmoji(worst)} ${input.kind === 'user' ? input.value : `IP ${input.value}`}: ${plural(total, 'session')}${worst !== undefined ? `, worst risk ${worst}/100` : ''}`,
          150,
        ),
        emoji: true,
      },
    },
  ];
  input.sessions.forEach((s, i) => {
    if (!isQuiet(s)) blocks.push(sessionLine(s, input.openRef(i), input.accountName));
  });
  if (ranked.length === 0) blocks.push(section(`No session of ${subject} raised a finding or any risk.`));
  const folded = foldedLine(quiet, input.others);
  if (folded) blocks.push(context(folded));
  blocks.push(context(notes(input)));
  const text = clip(
    `${input.kind === 'user' ? input.value : `IP ${input.value}`}: ${plural(total, 'session')} (${ranked.length} with findings or risk, ${quiet.length + input.others.length} quiet or not shown)${worst !== undefined ? `, worst risk ${worst}/100` : ''}`,
    1000,
  );
  return { text, blocks };
}

function sessionLine(
  s: SessionSummary,
  ref: string | undefined,
  accountName: OverviewInput['accountName'],
): SectionBlock {
  const arn = s.principal.arn ?? s.principal.issuerArn;
  const key = s.accessKeyIds[0];
  const region = s.regions[0] ?? 'us-east-1';
  const partition = /^arn:(aws[\w-]*):/.exec(arn ?? '')?.[1] ?? 'aws';
  const parts = [
    `${riskEmoji(s.risk?.score)} *${s.risk?.score ?? '–'}*`,
    mrkdwnLink(principalLink(arn), esc(clip(principalLabel(s), 80))),
    key ? linkedCode(accessKeyLink(key, partition, region), key) : code(clip(s.key, 80)),
    KIND[s.kind] ?? esc(s.kind),
    `${utc(s.start).replace(/:\d\d UTC$/, '')}–${clock(s.end).slice(0, 5)} UTC (${duration(s.start, s.end)})`,
    `${plural(s.signals.filter((x) => !x.suppressed).length, 'action')} / ${plural(s.eventCount, 'event')}`,
    s.findings.length
      ? `${plural(s.findings.length, 'finding')} (${severityCounts(s.findings)})`
      : 'no findings',
  ];
  if (s.sourceIps.length)
    parts.push(
      `from ${s.sourceIps.slice(0, 2).map(code).join(', ')}${s.sourceIps.length > 2 ? ` +${s.sourceIps.length - 2}` : ''}`,
    );
  if (s.principal.accountId)
    parts.push(`account ${accountLabel(s.principal.accountId, accountName?.(s.principal.accountId))}`);
  const block: SectionBlock = {
    type: 'section',
    text: { type: 'mrkdwn', text: clip(parts.join(' · '), 2900) },
  };
  if (ref) {
    block.accessory = {
      type: 'button',
      text: { type: 'plain_text', text: 'Open' },
      action_id: ACTION_OPEN,
      value: ref,
    };
  }
  return block;
}

function foldedLine(quiet: SessionSummary[], others: OverviewInput['others']): string | undefined {
  const parts: string[] = [];
  if (quiet.length) {
    const events = quiet.reduce((n, s) => n + s.eventCount, 0);
    parts.push(
      `:white_check_mark: ${plural(quiet.length, 'quiet session')} (no findings, risk 0, ${plural(events, 'event')}): ${quiet
        .slice(0, 5)
        .map((s) => code(clip(s.key, 60)))
        .join(', ')}${quiet.length > 5 ? ', …' : ''}`,
    );
  }
  if (others.length) {
    parts.push(
      `${plural(others.length, 'more session')} not listed (lowest risk): ${others
        .slice(0, 5)
        .map((o) => code(clip(o.key, 60)))
        .join(
          ', ',
        )}${others.length > 5 ? ', …' : ''}; narrow with --since or ask for one with /cartographer session <key>`,
    );
  }
  return parts.length ? parts.join('\n') : undefined;
}

function notes(input: OverviewInput): string {
  const out = [
    `Source: ${esc(input.sourceLabel)}`,
    'ranked by risk (0–100)',
    '*Open* puts a session’s summary and details in this thread',
  ];
  if (input.requestedBy && /^[UW][A-Z0-9]+$/.test(input.requestedBy))
    out.push(`asked by <@${input.requestedBy}>`);
  if (input.truncated) out.push(`:warning: stopped early: ${esc(clip(input.truncated, 300))}`);
  if (input.rejected && input.rejected.count > 0) {
    out.push(
      `:warning: ${plural(input.rejected.count, 'unreadable record')} skipped (first: ${esc(clip(input.rejected.first, 300))})`,
    );
  }
  return out.join(' · ');
}
