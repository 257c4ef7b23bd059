/**
 * The daily digest as one Slack message, readable in ten seconds: a header with the day, one line
 * of counts, the day's alerts nobody has resolved yet and who holds them, the riskiest sessions,
 * what is new against the baseline, and the top findings, each with "Open session" (the session's
 * full summary goes into the digest's thread). A quiet day is one line.
 */
import type { AlertCase } from '../../adapters/state/triage-store.ts';
import type { Digest, DigestSession, TopFinding } from '../../engine/digest/build.ts';
import { worstSeverity } from '../../engine/digest/build.ts';
import { FACT_KINDS, type FactKind } from '../../engine/digest/facts.ts';
import { SEVERITIES } from '../../engine/model.ts';
import { context, section } from './chunk.ts';
import { bold, clip, clock, code, esc, mention, plural, SEVERITY_ICON } from './format.ts';
import { button } from './headline.ts';
import type { Block, SlackMessage } from './limits.ts';

export const ACTION_OPEN_SESSION = 'cartographer_open_session';

const TOP_SESSIONS = 5;
const TOP_FINDINGS = 5;

export interface DigestMessageOptions {
  /** Returns the button value for a session (an opaque stored reference), or undefined for no button. */
  sessionRef: (sessionKey: string) => string | undefined;
  /** Source label, e.g. `local CloudTrail files`. */
  sourceLabel: string;
  /** Notes shown under the header (data's own day chosen, source stopped early…). */
  notes?: string[];
  /** The day's alerts not resolved yet, newest first (absent: no triage store, no section). */
  openAlerts?: AlertCase[];
  /** What producing the digest covered and cost (Athena: share of the day, queries, bytes scanned, dollars). */
  costLine?: string;
}

const OPEN_ALERTS_SHOWN = 8;

const NEW_LABEL: Record<FactKind, [string, string]> = {
  principals: ['principal', 'principals'],
  networks: ['source network', 'source networks'],
  regions: ['region', 'regions'],
  userAgents: ['client family', 'client families'],
  services: ['service', 'services'],
};

export function buildDigestMessage(d: Digest, options: DigestMessageOptions): SlackMessage {
  const notes = (options.notes ?? []).map((n) => esc(clip(n, 300)));
  if (d.quiet) {
    const line = `Quiet day ${d.date} (${d.timeZone}): ${plural(d.totals.sessions, 'session')}, ${plural(d.totals.events, 'event')}, no findings above info, nothing new.`;
    const open = options.openAlerts?.length ? [section(openAlertsSection(d.date, options.openAlerts))] : [];
    return {
      text: line,
      blocks: [
        section(`:white_check_mark: ${esc(line)}${notes.length ? ` ${notes.join(' ')}` : ''}`),
        ...open,
        ...(options.costLine ? [context(esc(clip(options.costLine, 300)))] : []),
      ],
    };
  }
  const blocks: Block[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: clip(`Daily digest · ${d.date} (${d.timeZone})`, 150), emoji: true },
    },
  ];
  if (notes.length) blocks.push(context(`:information_source: ${notes.join(' ')}`));
  blocks.push(section(`${countsLine(d)}\n${tacticsLine(d)}`));
  if (options.openAlerts) blocks.push(section(openAlertsSection(d.date, options.openAlerts)));
  blocks.push(
    section(`*Riskiest sessions*\n${d.sessions.slice(0, TOP_SESSIONS).map(sessionLine).join('\n')}`),
  );
  blocks.push(section(newLine(d)));
  const top = d.topFindings.slice(0, TOP_FINDINGS);
  if (top.length > 0) {
    blocks.push({ type: 'divider' });
    blocks.push(section(`*Top findings* (${top.length} of ${plural(d.totals.findings, 'finding')})`));
    for (const t of top) {
      const b = section(findingLine(t));
      const ref = options.sessionRef(t.sessionKey);
      if (ref) b.accessory = button('Open session', ACTION_OPEN_SESSION, ref);
      blocks.push(b);
    }
  }
  blocks.push(
    context(
      `Source: ${esc(options.sourceLabel)} · sessions ranked by risk (0–100) · *Open session* posts the full summary in this thread${options.costLine ? ` · ${esc(clip(options.costLine, 300))}` : ''}`,
    ),
  );
  const worst = d.sessions[0];
  const text = clip(
    `Digest ${d.date}: ${plural(d.totals.sessions, 'session')}, ${severityCounts(d) || 'no findings'}${worst ? `; riskiest ${worst.principal} (${worst.risk}/100)` : ''}`,
    1000,
  );
  return { text, blocks };
}

/** The day's unresolved alerts: what, about whom, and who holds each (or that nobody does). */
function openAlertsSection(date: string, cases: AlertCase[]): string {
  if (cases.length === 0) return `*Open alerts from ${date}*: none, every alert of the day is resolved.`;
  const held = cases.filter((c) => c.assignee).length;
  const lines = cases.slice(0, OPEN_ALERTS_SHOWN).map((c) => {
    const holder = c.assignee
      ? `held by ${mention(c.assignee)}`
      : c.acknowledgedBy
        ? `acknowledged by ${mention(c.acknowledgedBy)}, nobody assigned`
        : '*nobody holds it*';
    return `• ${SEVERITY_ICON[c.severity] ?? ''} ${bold(c.title, 120)} · ${esc(clip(shortPrincipal(c.principal), 80))} · ${holder}`;
  });
  const channels = [...new Set(cases.map((c) => c.channel))]
    .slice(0, 3)
    .map((ch) => (/^[CG][A-Z0-9]{2,}$/.test(ch) ? `<#${ch}>` : esc(ch.startsWith('#') ? ch : `#${ch}`)));
  const more =
    cases.length > OPEN_ALERTS_SHOWN
      ? `\n_…and ${plural(cases.length - OPEN_ALERTS_SHOWN, 'more', 'more')}_`
      : '';
  return clip(
    `*Open alerts from ${date}* (${cases.length}, ${held} held) · in ${channels.join(', ')}\n${lines.join('\n')}${more}`,
    2900,
  );
}

function severityCounts(d: Digest): string {
  return [...SEVERITIES]
    .reverse()
    .filter((s) => d.countsBySeverity[s] > 0)
    .map((s) => `${d.countsBySeverity[s]} ${s}`)
    .join(' · ');
}

function countsLine(d: Digest): string {
  const sev = [...SEVERITIES]
    .reverse()
    .filter((s) => d.countsBySeverity[s] > 0)
    .map((s) => `${SEVERITY_ICON[s]} *${d.countsBySeverity[s]}* ${s}`)
    .join('  ');
  return `*${plural(d.totals.sessions, 'session')}* · ${plural(d.totals.events, 'event')} · ${sev || 'no findings'}`;
}

function tacticsLine(d: Digest): string {
  const entries = Object.entries(d.countsByTactic);
  if (entries.length === 0) return '_No ATT&amp;CK tactics._';
  const shown = entries.slice(0, 6).map(([t, n]) => `${esc(t)} ${n}`);
  return `ATT&amp;CK: ${shown.join(' · ')}${entries.length > 6 ? ` · +${entries.length - 6} more` : ''}`;
}

function sessionLine(s: DigestSession, i: number): string {
  const worst = worstSeverity(s.findings);
  const icon = worst ? (SEVERITY_ICON[worst] ?? '') : ':white_circle:';
  const findings = s.findings.length
    ? `${plural(s.findings.length, 'finding')}, worst ${worst}`
    : 'no findings';
  return `${i + 1}. ${icon} *${s.risk}* ${esc(clip(shortPrincipal(s.principal), 90))} · ${findings}`;
}

function newLine(d: Digest): string {
  if (d.new.baselineDays === 0)
    return '*New*: no baseline yet (this is the first day seen); later digests list what is new.';
  const parts: string[] = [];
  for (const k of FACT_KINDS) {
    const values = d.new[k];
    if (values.length === 0) continue;
    const [one, many] = NEW_LABEL[k];
    const shown = values.slice(0, 3).map((v) => code(clip(shortPrincipal(v), 60)));
    parts.push(
      `${values.length} ${values.length === 1 ? one : many} ${shown.join(', ')}${values.length > 3 ? ` +${values.length - 3}` : ''}`,
    );
  }
  const days = plural(d.new.baselineDays, 'day');
  return parts.length
    ? `*New* against the last ${days}: ${parts.join(' · ')}`
    : `*New*: nothing against the last ${days}.`;
}

function findingLine(t: TopFinding): string {
  const f = t.finding;
  return clip(
    `${SEVERITY_ICON[f.severity] ?? ''} ${bold(f.title, 150)} · ${f.severity}\n${esc(clip(shortPrincipal(t.principal), 100))} · ${clock(f.time)} UTC${f.tactics.length ? ` · ${esc(f.tactics.slice(0, 2).join(', '))}` : ''}`,
    2900,
  );
}

/** `arn:aws:sts::1234:assumed-role/Role/session` → `assumed-role/Role/session`: the account is the same all day. */
function shortPrincipal(p: string): string {
  const m = /^arn:[\w-]+:[\w-]+::\d*:(.+)$/.exec(p);
  return m ? m[1]! : p;
}
