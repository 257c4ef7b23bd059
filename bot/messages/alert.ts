/**
 * Near-real-time risk alerts. One parent message per alert (what fired, who, where, when, the
 * evidence with links into the AWS console, its triage state, and the buttons: Acknowledge, Assign,
 * Resolve as…, Show raw events, Snooze); the same rule firing again for the same principal and
 * resource within the repeat window becomes a short reply in that thread. A triage change updates
 * the parent in place (`withCase`): header emoji, the state line and the lifecycle buttons.
 */
import type { ActionsBlock, Button, ContextBlock, HeaderBlock, PlainTextOption } from '@slack/types';
import { type AlertCase, CASE_OUTCOMES } from '../../adapters/state/triage-store.ts';
import type { Finding } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { redactText } from '../../engine/redact.ts';
import { OUTCOME_LABEL } from '../actions/case-transitions.ts';
import {
  ACTION_ALERT_ACK,
  ACTION_ALERT_ASSIGN,
  ACTION_ALERT_REOPEN,
  ACTION_ALERT_RESOLVE,
  ACTION_MARK_BENIGN,
  ALERT_CASE_BLOCK_PREFIX,
} from '../actions/ids.ts';
import { context, section } from './chunk.ts';
import {
  accessKeyLink,
  accountLabel,
  linkedCode,
  mrkdwnLink,
  placeOf,
  principalLink,
  resourceLink,
} from './console-links.ts';
import { evidenceLine } from './findings.ts';
import { clip, code, esc, mention, plural, SEVERITY_ICON, utc } from './format.ts';
import { button, rawEventsButton } from './headline.ts';
import type { Block, SlackMessage } from './limits.ts';

/** One action id per duration (`cartographer_snooze_24h`): Slack wants action ids unique within a block. */
export const ACTION_SNOOZE_PREFIX = 'cartographer_snooze_';
export const SNOOZE_CHOICES = [
  { label: '1h', ms: 3_600_000 },
  { label: '24h', ms: 86_400_000 },
  { label: '7d', ms: 7 * 86_400_000 },
] as const;

export const ALERT_HEADER_BLOCK = 'cartographer_alert_header';
export const ALERT_STATE_BLOCK = 'cartographer_alert_state';

const EVIDENCE_LINES = 3;

export interface AlertInput {
  finding: Finding;
  /** Ledger key of the alert (the Snooze and lifecycle buttons carry it). */
  alertKey: string;
  sessionKey: string;
  resource: string;
  sourceIps: string[];
  records: ReadonlyMap<string, CloudTrailRecord>;
  /** Button value of "Show raw events" (opaque stored reference), if the records were stored. */
  rawRef?: string;
  repeatWindowHours: number;
  /** Account names (configured map or AWS Organizations), when known. */
  accountName?: (accountId: string) => string | undefined;
  /** What the scan that found it cost (Athena: bytes scanned and dollars), added to the context line. */
  costLine?: string;
}

/** What the message shows of an alert's case: its state, who holds it, the last change. */
export type CaseView = Pick<
  AlertCase,
  | 'key'
  | 'title'
  | 'severity'
  | 'state'
  | 'assignee'
  | 'outcome'
  | 'acknowledgedBy'
  | 'acknowledgedAt'
  | 'lastAction'
  | 'lastBy'
  | 'lastAt'
  | 'version'
>;

export function buildAlert(a: AlertInput): SlackMessage {
  const f = a.finding;
  const first = a.records.get(f.eventIds[0] ?? '');
  const view: CaseView = {
    key: a.alertKey,
    title: f.title,
    severity: f.severity,
    state: 'open',
    lastAction: 'opened',
    lastAt: Date.parse(f.time),
    version: 1,
  };
  const blocks: Block[] = [
    headerBlock(view),
    section(clip(whoLines(a, first).join('\n'), 2900)),
    section(clip(`*Evidence*\n${evidence(a)}`, 2900)),
    stateBlock(view),
    caseActions(view),
    { type: 'actions', block_id: 'cartographer_alert_tools', elements: actionButtons(a, true) },
    context(
      `rule ${code(clip(f.ruleId, 100))}${f.techniques.length ? ` · ATT&amp;CK ${f.techniques.slice(0, 4).map(esc).join(', ')}` : ''} · session ${code(clip(a.sessionKey, 150))} · repeats within ${a.repeatWindowHours} h go into this thread${a.costLine ? ` · ${esc(clip(a.costLine, 300))}` : ''}`,
    ),
  ];
  return { text: fallbackText(view, f.principal ?? a.sessionKey, f.time), blocks };
}

function whoLines(a: AlertInput, first: CloudTrailRecord | undefined): string[] {
  const f = a.finding;
  const who = f.principal ?? a.sessionKey;
  const { partition, region } = placeOf(first);
  const account = first?.recipientAccountId ?? /^arn:[\w-]+:[\w-]+::(\d{12}):/.exec(who)?.[1];
  const key = /^(AKIA|ASIA)[A-Z0-9]{12,}$/.test(a.sessionKey)
    ? linkedCode(accessKeyLink(a.sessionKey, partition, region), a.sessionKey)
    : '';
  const lines = [
    `*Who* ${mrkdwnLink(principalLink(who), esc(clip(who, 300)))}${key ? ` · *key* ${key}` : ''}`,
    `*When* ${utc(f.time)}${a.sourceIps.length ? ` · *from* ${a.sourceIps.slice(0, 3).map(code).join(', ')}` : ''}${account ? ` · *account* ${accountLabel(account, a.accountName?.(account))}` : ''}`,
  ];
  if (a.resource) lines.push(`*On* ${linkedCode(resourceLink(first), a.resource, 200)}`);
  lines.push(esc(clip(redactText(f.explanation), 900)));
  return lines;
}

/**
 * The alert message with `c`'s state: header emoji, the state line and the lifecycle buttons are
 * replaced, everything else is kept as posted. `benignRef` (a stored "Mark benign" reference) is
 * offered on an alert resolved as benign. A message from before the lifecycle gets the blocks added.
 */
export function withCase(message: SlackMessage, c: CaseView, benignRef?: string): SlackMessage {
  const blocks = [...(message.blocks ?? [])].filter(
    (b) => b.block_id !== ALERT_STATE_BLOCK && !String(b.block_id ?? '').startsWith(ALERT_CASE_BLOCK_PREFIX),
  );
  const header = blocks.findIndex((b) => b.type === 'header');
  if (header >= 0) blocks[header] = headerBlock(c);
  else blocks.unshift(headerBlock(c));
  // Before the buttons of the evidence (or before the closing context line).
  let at = blocks.findIndex((b) => b.type === 'actions');
  if (at < 0) at = blocks.at(-1)?.type === 'context' ? blocks.length - 1 : blocks.length;
  blocks.splice(at, 0, stateBlock(c), caseActions(c, benignRef));
  const rest = message.text.replace(/^\[[^\]]*\] /, '');
  const word = STATE_WORD[stateKey(c)];
  return { text: clip(word ? `[${word}] ${rest}` : rest, 1000), blocks };
}

/** The title of an alert posted before its case existed, from its header (`:icon: High: title`). */
export function titleFromHeader(text: string | undefined): string | undefined {
  const m = /^(?::[\w+-]+: )?(?:[^:]*· )?(?:Critical|High|Medium|Low|Info): (.+)$/.exec(text ?? '');
  return m?.[1];
}

type StateKey = 'open' | 'reopened' | 'acknowledged' | 'assigned' | `resolved:${string}`;

function stateKey(c: CaseView): StateKey {
  if (c.state === 'resolved') return `resolved:${c.outcome ?? 'true-positive'}`;
  if (c.state === 'acknowledged') return c.assignee ? 'assigned' : 'acknowledged';
  return c.lastAction === 'reopened' ? 'reopened' : 'open';
}

const STATE_EMOJI: Record<string, string> = {
  acknowledged: ':eyes:',
  assigned: ':bust_in_silhouette:',
  reopened: ':repeat:',
  'resolved:true-positive': ':dart:',
  'resolved:benign': ':white_check_mark:',
  'resolved:duplicate': ':link:',
  'resolved:follow-up': ':pushpin:',
};

const STATE_WORD: Record<string, string> = {
  acknowledged: 'Acknowledged',
  assigned: 'Assigned',
  reopened: 'Reopened',
  'resolved:true-positive': 'Resolved: true positive',
  'resolved:benign': 'Resolved: benign',
  'resolved:duplicate': 'Resolved: duplicate',
  'resolved:follow-up': 'Resolved: needs follow-up',
};

function headerBlock(c: CaseView): HeaderBlock {
  const key = stateKey(c);
  const icon = STATE_EMOJI[key] ?? SEVERITY_ICON[c.severity] ?? ':white_circle:';
  const word = STATE_WORD[key];
  return {
    type: 'header',
    block_id: ALERT_HEADER_BLOCK,
    text: {
      type: 'plain_text',
      text: clip(`${icon} ${word ? `${word} · ` : ''}${cap(c.severity)}: ${c.title}`, 150),
      emoji: true,
    },
  };
}

function at(ms: number | undefined): string {
  return ms === undefined ? '' : ` at ${utc(new Date(ms).toISOString())}`;
}

/** One line: the state in words, who changed it and when, who holds the alert. */
export function stateLine(c: CaseView): string {
  const by = c.lastBy ? ` by ${mention(c.lastBy)}` : '';
  const holder = c.assignee ? ` · held by ${mention(c.assignee)}` : '';
  switch (stateKey(c)) {
    case 'open':
      return ':white_circle: *Open* · nobody has acknowledged it yet';
    case 'reopened':
      return `:repeat: *Reopened*${by}${at(c.lastAt)}${holder}`;
    case 'acknowledged':
      return `:eyes: *Acknowledged*${by}${at(c.lastAt)}`;
    case 'assigned':
      return `:bust_in_silhouette: *Assigned* to ${mention(c.assignee ?? '')}${c.lastAction === 'assigned' ? `${by}${at(c.lastAt)}` : ''}${c.acknowledgedBy && c.lastAction !== 'assigned' ? ` · acknowledged by ${mention(c.acknowledgedBy)}${at(c.acknowledgedAt)}` : ''}`;
    default:
      return `${STATE_EMOJI[stateKey(c)] ?? ''} *Resolved as ${OUTCOME_LABEL[c.outcome ?? 'true-positive']}*${by}${at(c.lastAt)}${holder}`;
  }
}

function stateBlock(c: CaseView): ContextBlock {
  return {
    type: 'context',
    block_id: ALERT_STATE_BLOCK,
    elements: [{ type: 'mrkdwn', text: clip(stateLine(c), 2000) }],
  };
}

const OUTCOME_OPTIONS: PlainTextOption[] = CASE_OUTCOMES.map((o) => ({
  text: { type: 'plain_text', text: cap(OUTCOME_LABEL[o]) },
  value: o,
}));

/** Acknowledge / Assign / Resolve as… while open; Reopen (and Mark benign for a benign outcome) once resolved. */
function caseActions(c: CaseView, benignRef?: string): ActionsBlock {
  const elements: ActionsBlock['elements'] = [];
  if (c.state === 'resolved') {
    elements.push({
      type: 'button',
      text: { type: 'plain_text', text: 'Reopen' },
      action_id: ACTION_ALERT_REOPEN,
      // The case's version too: the same button of a later state is another click (see receiver/dedupe.ts).
      value: `${c.key}.${c.version}`,
    });
    if (c.outcome === 'benign' && benignRef) {
      elements.push({
        type: 'button',
        text: { type: 'plain_text', text: 'Mark benign' },
        action_id: ACTION_MARK_BENIGN,
        value: benignRef,
      });
    }
  } else {
    if (c.state === 'open') {
      elements.push({
        type: 'button',
        text: { type: 'plain_text', text: 'Acknowledge' },
        action_id: ACTION_ALERT_ACK,
        // The case's version too: the same button of a later state is another click (see receiver/dedupe.ts).
        value: `${c.key}.${c.version}`,
        style: 'primary',
      });
    }
    elements.push({
      type: 'users_select',
      action_id: ACTION_ALERT_ASSIGN,
      placeholder: { type: 'plain_text', text: 'Assign to…' },
      ...(c.assignee ? { initial_user: c.assignee } : {}),
    });
    elements.push({
      type: 'static_select',
      action_id: ACTION_ALERT_RESOLVE,
      placeholder: { type: 'plain_text', text: 'Resolve as…' },
      options: OUTCOME_OPTIONS,
    });
  }
  return { type: 'actions', block_id: `${ALERT_CASE_BLOCK_PREFIX}${c.key}`, elements };
}

function fallbackText(c: CaseView, who: string, time: string): string {
  const word = STATE_WORD[stateKey(c)];
  return clip(
    `${word ? `[${word}] ` : ''}${cap(c.severity)} alert: ${c.title} by ${who} at ${utc(time)}`,
    1000,
  );
}

/** A repeat of an alert, posted as a reply in the first alert's thread. */
export function buildAlertRepeat(a: AlertInput): SlackMessage {
  const f = a.finding;
  const head = `:repeat: *Again* at ${utc(f.time)}: ${esc(clip(f.title, 200))} (${f.severity}) · session ${code(clip(a.sessionKey, 150))}`;
  const blocks: Block[] = [section(clip(`${head}\n${evidence(a)}`, 2900))];
  blocks.push({ type: 'actions', elements: actionButtons(a, false) });
  if (a.costLine) blocks.push(context(esc(clip(a.costLine, 300))));
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

function actionButtons(a: AlertInput, withSnooze: boolean): Button[] {
  const out: Button[] = [];
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
