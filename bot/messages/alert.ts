/**
 * Near-real-time risk alerts. One parent message per alert (what fired, who, where, when, the
 * evidence, "Show raw events" and "Snooze"); the same rule firing again for the same principal and
 * resource within the repeat window becomes a short reply in that thread.
 */
import type { Finding } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { redactText } from '../redact.ts';
import { context, section } from './chunk.ts';
import { evidenceLine } from './findings.ts';
import { clip, code, esc, plural, SEVERITY_ICON, utc } from './format.ts';
import { button, rawEventsButton } from './headline.ts';
import type { Block, SlackMessage } from './limits.ts';

/** One action id per duration (`cartographer_snooze_24h`): Slack wants action ids unique within a block. */
export const ACTION_SNOOZE_PREFIX = 'cartographer_snooze_';
export const ACTION_SNOOZE_PATTERN = /^cartographer_snooze_(1h|24h|7d)$/;
export const SNOOZE_CHOICES = [
  { label: '1h', ms: 3_600_000 },
  { label: '24h', ms: 86_400_000 },
  { label: '7d', ms: 7 * 86_400_000 },
] as const;

const EVIDENCE_LINES = 3;

export interface AlertInput {
  finding: Finding;
  /** Ledger key of the alert (the Snooze buttons carry it). */
  alertKey: string;
  sessionKey: string;
  resource: string;
  sourceIps: string[];
  records: ReadonlyMap<string, CloudTrailRecord>;
  /** Button value of "Show raw events" (opaque stored reference), if the records were stored. */
  rawRef?: string;
  repeatWindowHours: number;
}

export function buildAlert(a: AlertInput): SlackMessage {
  const f = a.finding;
  const icon = SEVERITY_ICON[f.severity] ?? '';
  const who = f.principal ?? a.sessionKey;
  const lines = [
    `*Who* ${esc(clip(who, 300))}`,
    `*When* ${utc(f.time)}${a.sourceIps.length ? ` · *from* ${a.sourceIps.slice(0, 3).map(code).join(', ')}` : ''}`,
  ];
  if (a.resource) lines.push(`*On* ${code(clip(a.resource, 200))}`);
  lines.push(esc(clip(redactText(f.explanation), 900)));
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`${icon} ${cap(f.severity)}: ${f.title}`, 150), emoji: true },
    },
    section(clip(lines.join('\n'), 2900)),
    section(clip(`*Evidence*\n${evidence(a)}`, 2900)),
    { type: 'actions', elements: actionButtons(a, true) },
    context(
      `rule ${code(clip(f.ruleId, 100))}${f.techniques.length ? ` · ATT&amp;CK ${f.techniques.slice(0, 4).map(esc).join(', ')}` : ''} · session ${code(clip(a.sessionKey, 150))} · repeats within ${a.repeatWindowHours} h go into this thread`,
    ),
  ];
  const text = clip(`${cap(f.severity)} alert: ${f.title} by ${who} at ${utc(f.time)}`, 1000);
  return { text, blocks };
}

/** A repeat of an alert, posted as a reply in the first alert's thread. */
export function buildAlertRepeat(a: AlertInput): SlackMessage {
  const f = a.finding;
  const head = `:repeat: *Again* at ${utc(f.time)}: ${esc(clip(f.title, 200))} (${f.severity}) · session ${code(clip(a.sessionKey, 150))}`;
  const blocks: Block[] = [section(clip(`${head}\n${evidence(a)}`, 2900))];
  blocks.push({ type: 'actions', elements: actionButtons(a, false) });
  return { text: clip(`Again: ${f.title} at ${utc(f.time)}`, 1000), blocks };
}

/** The thread note after a snooze. */
export function buildSnoozeNote(
  user: string,
  ruleId: string,
  principal: string,
  until: number,
): SlackMessage {
  const text = `Snoozed by <@${user}>: rule ${ruleId} for ${principal} until ${utc(new Date(until).toISOString())}. New findings of it for this principal are recorded, not posted.`;
  return {
    text: clip(text, 1000),
    blocks: [
      context(
        `:zzz: Snoozed by <@${esc(user)}>: rule ${code(clip(ruleId, 100))} for ${esc(clip(principal, 300))} until ${utc(new Date(until).toISOString())}. New findings of it for this principal are recorded, not posted.`,
      ),
    ],
  };
}

/** The first post of a scan that caught up after downtime (or skipped what was beyond the limit). */
export function buildCatchUpNote(lines: string[]): SlackMessage {
  const text = clip(lines.join(' '), 1500);
  return { text, blocks: [context(`:hourglass: ${esc(text)}`)] };
}

function evidence(a: AlertInput): string {
  const f = a.finding;
  const out = f.eventIds.slice(0, EVIDENCE_LINES).map((id) => evidenceLine(id, a.records.get(id)));
  if (f.eventIds.length > EVIDENCE_LINES)
    out.push(`_…and ${plural(f.eventIds.length - EVIDENCE_LINES, 'more event')}_`);
  return out.join('\n');
}

function actionButtons(a: AlertInput, withSnooze: boolean): Block[] {
  const out: Block[] = [];
  if (a.rawRef) out.push(rawEventsButton(a.finding.eventIds.length, a.rawRef));
  if (withSnooze) {
    for (const c of SNOOZE_CHOICES)
      out.push(button(`Snooze ${c.label}`, `${ACTION_SNOOZE_PREFIX}${c.label}`, a.alertKey));
  }
  if (out.length === 0) out.push(button('Snooze 24h', `${ACTION_SNOOZE_PREFIX}24h`, a.alertKey));
  return out;
}

function cap(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
