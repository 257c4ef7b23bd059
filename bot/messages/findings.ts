/**
 * Findings with their evidence, worst first, as thread replies. Each finding gets
 * "Show raw events" (its evidence, exact records) and "Mark benign" (feeds the allow-list).
 */
import type { Finding, SessionSummary } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { ACTION_MARK_BENIGN, type RefMaker } from '../actions/ids.ts';
import { redactText } from '../redact.ts';
import { context, groupBlocks, section } from './chunk.ts';
import { bold, clip, clock, code, esc, plural, SEVERITY_ICON, SEVERITY_RANK } from './format.ts';
import { button, rawEventsButton } from './headline.ts';
import { type Block, blockTextLength, type SlackMessage } from './limits.ts';

const EVIDENCE_LINES = 8;

export function evidenceLine(id: string, record: CloudTrailRecord | undefined): string {
  if (!record) return `• event ${code(id)}`;
  const parts = [
    `\`${clock(record.eventTime)}\` ${code(`${record.eventSource.replace('.amazonaws.com', '')}:${record.eventName}`)}`,
  ];
  if (record.sourceIPAddress) parts.push(`from ${code(record.sourceIPAddress)}`);
  if (record.awsRegion) parts.push(`in ${esc(record.awsRegion)}`);
  if (record.errorCode) parts.push(`→ ${esc(record.errorCode)}`);
  const target = describeTarget(record);
  if (target) parts.push(`on ${code(clip(target, 120))}`);
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

function findingBlocks(
  f: Finding,
  records: ReadonlyMap<string, CloudTrailRecord>,
  makeRef: RefMaker,
): Block[] {
  const head = `${SEVERITY_ICON[f.severity] ?? ''} ${bold(f.title, 200)} · ${f.severity}`;
  const meta = [
    `rule ${code(clip(f.ruleId, 100))}`,
    f.techniques.length ? `ATT&CK ${f.techniques.slice(0, 5).map(esc).join(', ')}` : '',
    f.tactics.length ? esc(f.tactics.slice(0, 3).join(', ')) : '',
    `at ${clock(f.time)}`,
  ].filter(Boolean);
  const explanation = esc(clip(redactText(f.explanation), 900));
  const evidence = f.eventIds.slice(0, EVIDENCE_LINES).map((id) => evidenceLine(id, records.get(id)));
  if (f.eventIds.length > EVIDENCE_LINES)
    evidence.push(`_…and ${plural(f.eventIds.length - EVIDENCE_LINES, 'more event')}_`);
  const text = clip(`${head}\n${meta.join(' · ')}\n${explanation}\n*Evidence*\n${evidence.join('\n')}`, 2900);
  return [
    section(text),
    {
      type: 'actions',
      elements: [
        rawEventsButton(f.eventIds.length, makeRef('raw', f.eventIds, { findingId: f.id })),
        button(
          'Mark benign',
          ACTION_MARK_BENIGN,
          makeRef('benign', f.eventIds, { findingId: f.id, ruleId: f.ruleId }),
        ),
      ],
    },
  ];
}

export function buildFindings(
  session: SessionSummary,
  records: ReadonlyMap<string, CloudTrailRecord>,
  makeRef: RefMaker,
): SlackMessage[] {
  if (session.findings.length === 0) {
    return [
      { text: 'Findings: none', blocks: [section('*Findings*\nNo detection rule matched this session.')] },
    ];
  }
  const sorted = [...session.findings].sort(
    (a, b) =>
      (SEVERITY_RANK[b.severity] ?? 0) - (SEVERITY_RANK[a.severity] ?? 0) || a.time.localeCompare(b.time),
  );
  // Keep each finding's section and buttons together: group pairs, then split the groups.
  const pairs = sorted.map((f) => findingBlocks(f, records, makeRef));
  const units: Block[] = pairs.map((p) => ({ type: '_unit', blocks: p }));
  const groups = groupBlocks(
    units,
    (u) => u.blocks.reduce((n: number, b: Block) => n + blockTextLength(b), 0),
    26,
    300,
  );
  return groups.map((g, i) => {
    const part = groups.length > 1 ? ` (part ${i + 1} of ${groups.length})` : '';
    return {
      text: `Findings${part}: ${plural(sorted.length, 'finding')} in ${session.key}`,
      blocks: [
        context(`*Findings*${part} · ${plural(sorted.length, 'finding')}, worst first`),
        ...g.flatMap((u) => u.blocks),
      ],
    };
  });
}
