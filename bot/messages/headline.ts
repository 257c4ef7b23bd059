/**
 * The parent message of a session: what an analyst reads first at 3 a.m. Who, which key, console
 * or CLI, from where, when and how long, how many actions from how many events, the risk score and
 * the worst findings. Details live in the thread.
 */
import type { Button } from '@slack/types';
import type { Finding, SessionSummary } from '../../engine/model.ts';
import { ACTION_ALL_ACTIONS, ACTION_SHOW_RAW, type RefMaker } from '../actions/ids.ts';
import { context, section } from './chunk.ts';
import {
  accessKeyLink,
  accountLabel,
  linkedCode,
  mrkdwnLink,
  partitionOfArn,
  principalLink,
} from './console-links.ts';
import { bold, clip, code, duration, esc, plural, SEVERITY_ICON, SEVERITY_RANK, utc } from './format.ts';
import type { Block, SlackMessage } from './limits.ts';

export interface HeadlineInput {
  session: SessionSummary;
  /** e.g. `local files`, `LookupEvents`, `Athena`. */
  sourceLabel: string;
  /** Shown when the source stopped early. */
  truncated?: string;
  /** Input that could not be read (bad records, unreadable files): never dropped silently. */
  rejected?: { count: number; first: string };
  /** Slack user id of the analyst who asked (shown so the channel knows whose lookup it is). */
  requestedBy?: string;
  /** Account names (configured map or AWS Organizations), when known. */
  accountName?: (accountId: string) => string | undefined;
  /** 1-based position when one lookup produced several sessions. */
  index?: number;
  of?: number;
}

const KIND_LABEL: Record<string, string> = {
  console: 'Console',
  programmatic: 'CLI / SDK',
  service: 'AWS service',
  unknown: 'Unknown client',
};

export function principalLabel(s: SessionSummary): string {
  const p = s.principal;
  const arn = p.arn ?? p.issuerArn;
  if (p.userName) return p.userName;
  if (arn) return arn.split('/').slice(-2).join('/') || arn;
  return p.principalId ?? s.key;
}

export function worstFindings(findings: readonly Finding[], n: number): Finding[] {
  return [...findings]
    .sort(
      (a, b) =>
        (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) || a.time.localeCompare(b.time),
    )
    .slice(0, n);
}

export function buildHeadline(input: HeadlineInput, makeRef: RefMaker): SlackMessage {
  const s = input.session;
  const who = principalLabel(s);
  const actions = s.signals.filter((x) => !x.suppressed).length;
  const risk = s.risk?.score;
  const kind = KIND_LABEL[s.kind] ?? s.kind;
  const position = input.of && input.of > 1 ? ` (${input.index ?? 1}/${input.of})` : '';

  const blocks: Block[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: clip(`${riskWord(risk)} of ${who}${position}`, 150),
        emoji: true,
      },
    },
  ];
  const fields = [
    whoField(s, who, input.accountName),
    `*Key*\n${
      s.accessKeyIds.length
        ? s.accessKeyIds
            .slice(0, 3)
            .map((k) => keyLink(s, k))
            .join(', ')
        : 'none recorded'
    }${s.accessKeyIds.length > 3 ? ` +${s.accessKeyIds.length - 3}` : ''}${s.mfa === undefined ? '' : s.mfa ? ' · MFA' : ' · no MFA'}`,
    `*Client*\n${kind}${s.userAgents.length ? ` · ${esc(clip(s.userAgents[0] ?? '', 120))}` : ''}`,
    `*From*\n${s.sourceIps.length ? s.sourceIps.slice(0, 4).map(code).join(', ') : 'unknown'}${s.sourceIps.length > 4 ? ` +${s.sourceIps.length - 4}` : ''}${s.regions.length ? `\n${s.regions.slice(0, 4).map(esc).join(', ')}${s.regions.length > 4 ? ` +${s.regions.length - 4}` : ''}` : ''}`,
    `*When*\n${utc(s.start)}\nfor ${duration(s.start, s.end)}`,
    `*Activity*\n${plural(actions, 'action')} from ${plural(s.eventCount, 'event')}${s.errorCount ? `, ${plural(s.errorCount, 'error')}` : ''}`,
  ];
  if (risk !== undefined) {
    fields.push(
      `*Risk*\n${risk}/100${s.risk?.reasons.length ? ` · ${esc(clip(s.risk.reasons[0] ?? '', 200))}` : ''}`,
    );
  }
  fields.push(`*Findings*\n${s.findings.length ? summariseFindings(s.findings) : 'none'}`);
  blocks.push({
    type: 'section',
    fields: fields.map((text) => ({ type: 'mrkdwn', text: clip(text, 1900) })),
  });

  const worst = worstFindings(s.findings, 3);
  if (worst.length > 0) {
    const lines = worst.map(
      (f) =>
        `${SEVERITY_ICON[f.severity] ?? ''} ${bold(f.title, 200)} (${f.severity}${f.techniques.length ? `, ${f.techniques.slice(0, 3).map(esc).join(', ')}` : ''})`,
    );
    blocks.push(section(lines.join('\n')));
  }
  blocks.push({
    type: 'actions',
    elements: [
      button('All actions', ACTION_ALL_ACTIONS, makeRef('all_actions', [])),
      rawEventsButton(s.eventCount, makeRef('raw', [])),
    ],
  });
  const notes = [
    `Source: ${esc(input.sourceLabel)}`,
    `session ${code(clip(s.key, 200))}`,
    'timeline and evidence in the thread',
  ];
  if (input.requestedBy && /^[UW][A-Z0-9]+$/.test(input.requestedBy))
    notes.push(`asked by <@${input.requestedBy}>`);
  if (input.truncated) notes.push(`:warning: stopped early: ${esc(clip(input.truncated, 300))}`);
  if (input.rejected && input.rejected.count > 0) {
    notes.push(
      `:warning: ${plural(input.rejected.count, 'unreadable record')} skipped (first: ${esc(clip(input.rejected.first, 300))})`,
    );
  }
  blocks.push(context(notes.join(' · ')));

  const text = clip(
    `${riskWord(risk)} of ${who}: ${plural(actions, 'action')} from ${plural(s.eventCount, 'event')}, ${s.findings.length ? `${plural(s.findings.length, 'finding')}` : 'no findings'}${risk !== undefined ? `, risk ${risk}/100` : ''}, ${utc(s.start)}`,
    1000,
  );
  return { text, blocks };
}

/** Principal (linked to its IAM page), the role behind an assumed role, the account with its name. */
function whoField(s: SessionSummary, who: string, accountName: HeadlineInput['accountName']): string {
  const p = s.principal;
  const arn = p.arn ?? p.issuerArn;
  const role =
    p.issuerArn && p.issuerArn !== p.arn
      ? `\nrole ${mrkdwnLink(principalLink(p.issuerArn), esc(clip(p.issuerArn, 200)))}`
      : '';
  const account = p.accountId ? `\naccount ${accountLabel(p.accountId, accountName?.(p.accountId))}` : '';
  return `*Who*\n${mrkdwnLink(principalLink(arn), esc(clip(arn ?? who, 300)))}${role}${account}`;
}

/** An access key linked to CloudTrail's event history filtered on it (the session's first region). */
function keyLink(s: SessionSummary, key: string): string {
  const region = s.regions[0] ?? 'us-east-1';
  const partition = partitionOfArn(s.principal.arn ?? s.principal.issuerArn) ?? 'aws';
  return linkedCode(accessKeyLink(key, partition, region), key);
}

export function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Button {
  const b: Button = {
    type: 'button',
    text: { type: 'plain_text', text: clip(text, 75) },
    action_id: actionId,
    value,
  };
  if (style) b.style = style;
  return b;
}

/** "Show raw events (1,234)": the one button every message uses to open its evidence. */
export function rawEventsButton(count: number, ref: string): Button {
  return button(`Show raw events (${count.toLocaleString('en-US')})`, ACTION_SHOW_RAW, ref);
}

/** The first words of the headline: how worried to be, before any detail. */
function riskWord(score: number | undefined): string {
  if (score === undefined) return ':mag: Session';
  return `${riskEmoji(score)} ${score >= 70 ? 'High-risk' : score >= 40 ? 'Suspicious' : score > 0 ? 'Low-risk' : 'Quiet'} session`;
}

/** The emoji of a risk score (the same bands everywhere a session is listed). */
export function riskEmoji(score: number | undefined): string {
  if (score === undefined) return ':mag:';
  if (score >= 70) return ':rotating_light:';
  if (score >= 40) return ':warning:';
  if (score > 0) return ':large_blue_circle:';
  return ':white_check_mark:';
}

/** Severity counts, worst first: `18 high, 19 medium`. */
export function severityCounts(findings: readonly Finding[]): string {
  return summariseFindings(findings);
}

function summariseFindings(findings: readonly Finding[]): string {
  const counts = new Map<string, number>();
  for (const f of findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  return ['critical', 'high', 'medium', 'low', 'info']
    .filter((sev) => counts.has(sev))
    .map((sev) => `${counts.get(sev)} ${sev}`)
    .join(', ');
}
