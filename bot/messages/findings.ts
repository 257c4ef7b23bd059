/**
 * Findings as one thread reply: grouped by rule ("Many secrets read ×3"), worst first, each group
 * with its count, the top evidence lines (linked to the event in CloudTrail and to the resource's
 * console page), "Show raw events" and "Mark benign". A few groups per page; "Show N more findings"
 * updates the same reply in place.
 */
import type { Finding, SessionSummary } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { redactText } from '../../engine/redact.ts';
import { ACTION_MARK_BENIGN, type RefMaker } from '../actions/ids.ts';
import { context, section } from './chunk.ts';
import { eventLink, mrkdwnLink, placeOf, resourceLink } from './console-links.ts';
import {
  bold,
  clip,
  clock,
  code,
  emphasisSafe,
  esc,
  plural,
  SEVERITY_ICON,
  SEVERITY_RANK,
} from './format.ts';
import { button, rawEventsButton } from './headline.ts';
import type { Block, SlackMessage } from './limits.ts';
import { pagerButtons } from './pager.ts';

const EVIDENCE_LINES = 3;
/** Rule groups per page: six groups with evidence stay near 6,000 characters and 14 blocks. */
export const GROUPS_PER_PAGE = 6;

export function evidenceLine(id: string, record: CloudTrailRecord | undefined): string {
  if (!record) return `• event ${code(id)}`;
  const { partition, region } = placeOf(record);
  const parts = [
    `${mrkdwnLink(eventLink(record.eventID ?? id, partition, region), clock(record.eventTime))} ${code(`${record.eventSource.replace('.amazonaws.com', '')}:${record.eventName}`)}`,
  ];
  if (record.sourceIPAddress) parts.push(`from ${code(record.sourceIPAddress)}`);
  if (record.awsRegion) parts.push(`in ${esc(record.awsRegion)}`);
  if (record.errorCode) parts.push(`→ ${esc(record.errorCode)}`);
  const target = describeTarget(record);
  if (target) {
    const res = resourceLink(record);
    parts.push(`on ${res ? mrkdwnLink(res, esc(clip(target, 120))) : code(clip(target, 120))}`);
  }
  return `• ${parts.join(' ')}`;
}
/** A short name for what the call touched, from the resources list or common request fields. */
function describeTarget(r: CloudTrailRecord): string | undefined {
  const res = r.resources?.[0];
  if (res && typeof res.ARN === 'string') return res.ARN;
  const p = r.requestParameters ?? {};
  for (const key of [
    'bucketName',
    'roleName',
    'userName',
    'policyArn',
    'functionName',
    'trailName',
    'name',
    'groupId',
    'instanceId',
    'roleArn',
    'keyId',
    'secretId',
  ]) {
    const v = p[key];
    if (typeof v === 'string' && v) return redactText(v);
  }
  return undefined;
}

/** Findings of one rule in a session, as one line of the reply. */
export interface RuleGroup {
  ruleId: string;
  title: string;
  severity: Finding['severity'];
  findings: Finding[];
  /** Evidence of every finding of the group, in order, without repeats. */
  eventIds: string[];
}

/** Findings grouped by rule: worst severity first, then the most findings, then the earliest. */
export function groupFindings(findings: readonly Finding[]): RuleGroup[] {
  const groups = new Map<string, RuleGroup>();
  const sorted = [...findings].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  for (const f of sorted) {
    let g = groups.get(f.ruleId);
    if (!g) {
      g = { ruleId: f.ruleId, title: f.title, severity: f.severity, findings: [], eventIds: [] };
      groups.set(f.ruleId, g);
    }
    g.findings.push(f);
    if ((SEVERITY_RANK[f.severity] ?? 0) > (SEVERITY_RANK[g.severity] ?? 0)) g.severity = f.severity;
  }
  for (const g of groups.values()) g.eventIds = [...new Set(g.findings.flatMap((f) => f.eventIds))];
  return [...groups.values()].sort(
    (a, b) =>
      (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) ||
      b.findings.length - a.findings.length ||
      (a.findings[0]?.time ?? '').localeCompare(b.findings[0]?.time ?? ''),
  );
}

function groupBlocks(
  g: RuleGroup,
  records: ReadonlyMap<string, CloudTrailRecord>,
  makeRef: RefMaker,
): Block[] {
  const first = g.findings[0]!;
  const last = g.findings.at(-1)!;
  const times = first.time === last.time ? clock(first.time) : `${clock(first.time)}–${clock(last.time)}`;
  const count = g.findings.length > 1 ? ` ×${g.findings.length}` : '';
  const techniques = [...new Set(g.findings.flatMap((f) => f.techniques))];
  const head = `${SEVERITY_ICON[g.severity] ?? ''} ${bold(g.title, 200)}${count} · ${g.severity} · ${plural(g.eventIds.length, 'event')} · ${times}`;
  const meta = `rule ${code(clip(g.ruleId, 100))}${techniques.length ? ` · ATT&amp;CK ${techniques.slice(0, 5).map(esc).join(', ')}` : ''}`;
  const evidence = g.eventIds.slice(0, EVIDENCE_LINES).map((id) => evidenceLine(id, records.get(id)));
  if (g.eventIds.length > EVIDENCE_LINES)
    evidence.push(`_…and ${plural(g.eventIds.length - EVIDENCE_LINES, 'more event')} (Show raw events)_`);
  const explanation = esc(clip(redactText(first.explanation), 400));
  return [
    section(clip(`${head}\n${meta}\n${explanation}\n${evidence.join('\n')}`, 2900)),
    {
      type: 'actions',
      elements: [
        rawEventsButton(g.eventIds.length, makeRef('raw', g.eventIds, { findingId: first.id })),
        button(
          'Mark benign',
          ACTION_MARK_BENIGN,
          makeRef('benign', g.eventIds, { findingId: first.id, ruleId: g.ruleId }),
        ),
      ],
    },
  ];
}

/** The rules on later pages at a glance: `Next: 🟡 New route added · 🔵 IAM user created ×2 · … +12 more`. */
function nextRules(rest: RuleGroup[]): string | undefined {
  if (rest.length === 0) return undefined;
  const parts: string[] = [];
  let chars = 0;
  for (const g of rest) {
    const part = `${SEVERITY_ICON[g.severity] ?? ''} ${emphasisSafe(clip(g.title, 80))}${g.findings.length > 1 ? ` ×${g.findings.length}` : ''}`;
    if (chars + part.length > 1700) break;
    parts.push(part);
    chars += part.length + 3;
  }
  const more = rest.length - parts.length;
  return `*Next:* ${parts.join(' · ')}${more > 0 ? ` · +${more} more` : ''}`;
}

/**
 * Page `page` (0-based, clamped) of the findings reply: a few rule groups with evidence and buttons,
 * then "Previous" / "Show N more findings", which update this same reply.
 */
export function buildFindingsPage(
  session: SessionSummary,
  records: ReadonlyMap<string, CloudTrailRecord>,
  makeRef: RefMaker,
  page = 0,
): SlackMessage {
  if (session.findings.length === 0) {
    return {
      text: 'Findings: none',
      blocks: [section('*Findings*\nNo detection rule matched this session.')],
    };
  }
  const groups = groupFindings(session.findings);
  const pages = Math.ceil(groups.length / GROUPS_PER_PAGE);
  const i = Math.min(Math.max(0, page), pages - 1);
  const shown = groups.slice(i * GROUPS_PER_PAGE, (i + 1) * GROUPS_PER_PAGE);
  const after = groups.slice((i + 1) * GROUPS_PER_PAGE).reduce((n, g) => n + g.findings.length, 0);
  const total = `${plural(session.findings.length, 'finding')} from ${plural(groups.length, 'rule')}`;
  const range =
    pages > 1
      ? ` · rules ${i * GROUPS_PER_PAGE + 1}–${i * GROUPS_PER_PAGE + shown.length}, page ${i + 1} of ${pages}`
      : '';
  const pager = pagerButtons(
    { view: 'findings', page: i },
    pages,
    after > 0 ? `Show ${plural(after, 'more finding')}` : undefined,
    makeRef,
  );
  const blocks: Block[] = [
    context(`*Findings* · ${total}, worst first${range}`),
    ...shown.flatMap((g) => groupBlocks(g, records, makeRef)),
  ];
  const next = nextRules(groups.slice((i + 1) * GROUPS_PER_PAGE));
  if (next) blocks.push(context(next));
  if (pager.length > 0) blocks.push({ type: 'actions', elements: pager });
  return {
    text: `Findings${pages > 1 ? ` (page ${i + 1} of ${pages})` : ''}: ${total} in ${session.key}`,
    blocks,
  };
}
