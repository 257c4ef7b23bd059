import type { InputsSummary, Severity, Signal } from '../../engine/model.ts';
import type { SessionReport } from '../../engine/pipeline.ts';
import { formatDuration } from './duration.ts';

/**
 * A session as an analyst reads it in a terminal: an aligned header (who, which key, console or not,
 * from where, when, how long, how much), then the user actions as a short timeline, then findings.
 */
export interface TextOptions {
  /** Show suppressed (background noise) signals too. */
  all?: boolean;
  /** The stages ran a signal mapper (otherwise the timeline section is left out). */
  signals?: boolean;
}

const LABEL_WIDTH = 9;
const MAX_LIST = 4;
const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

export function formatSessionText(s: SessionReport, options: TextOptions = {}): string {
  const lines: string[] = [];
  const who =
    s.principal.userName ?? s.principal.arn ?? s.principal.principalId ?? '(no identity in the records)';
  const tags = [s.kind, s.principal.type, s.mfa === true ? 'MFA' : s.mfa === false ? 'no MFA' : undefined];
  lines.push(`── ${who}  ${tags.filter(Boolean).join(' · ')}`);
  const row = (label: string, value: string) => lines.push(`   ${label.padEnd(LABEL_WIDTH)} ${value}`);
  row('session', s.key);
  if (s.principal.arn && !s.key.startsWith(s.principal.arn)) row('arn', s.principal.arn);
  if (s.principal.issuerArn) row('role', s.principal.issuerArn);
  if (s.principal.accountId) row('account', s.principal.accountId);
  if (s.accessKeyIds.length > 0) row('keys', list(s.accessKeyIds, 2));
  if (s.sourceIps.length > 0) row('from', list(s.sourceIps));
  if (s.userAgents.length > 0) row('agents', list(groupUserAgents(s.userAgents), 3));
  if (s.regions.length > 0) row('regions', list(s.regions));
  const start = Date.parse(s.start);
  const end = Date.parse(s.end);
  row(
    'when',
    `${clock(s.start, true)} → ${clock(s.end, !sameDay(s.start, s.end))} UTC  (${formatDuration(end - start)})`,
  );
  row('events', `${s.eventCount}${s.errorCount > 0 ? `, ${s.errorCount} failed` : ''}`);
  if (s.risk)
    row(
      'risk',
      `${s.risk.score}/100${s.risk.reasons.length > 0 ? `  ${s.risk.reasons.slice(0, 3).join('; ')}` : ''}`,
    );
  if (options.signals) lines.push(...timeline(s.signals, s.unmappedEventIds.length, options.all ?? false));
  if (s.findings.length > 0) {
    lines.push('   findings');
    const sorted = [...s.findings].sort(
      (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || a.time.localeCompare(b.time),
    );
    for (const f of sorted) {
      const techniques = f.techniques.length > 0 ? `  [${f.techniques.join(', ')}]` : '';
      lines.push(
        `     ${f.severity.toUpperCase().padEnd(8)} ${clock(f.time, false)}  ${f.title}${techniques}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function timeline(signals: Signal[], unmapped: number, all: boolean): string[] {
  const shown = all ? signals : signals.filter((x) => !x.suppressed);
  const hidden = signals.length - shown.length;
  const out = [`   actions  ${signals.length === 0 ? 'none recognised' : ''}`.trimEnd()];
  for (const sig of shown) {
    const mark = sig.suppressed ? '·' : ' ';
    out.push(`    ${mark}${clock(sig.start, false)}  ${shorten(sig.summary || sig.name, 100)}`);
  }
  const notes: string[] = [];
  if (hidden > 0)
    notes.push(`${hidden} background signal${hidden === 1 ? '' : 's'} hidden (--all shows them)`);
  if (unmapped > 0) notes.push(`${unmapped} event${unmapped === 1 ? '' : 's'} not mapped to an action`);
  if (notes.length > 0) out.push(`     (${notes.join('; ')})`);
  return out;
}

/** The closing lines: what was read, what was left out and why. */
export function formatInputsText(inputs: InputsSummary, sessions: number, truncated?: string): string {
  const lines = [
    `${sessions} session${sessions === 1 ? '' : 's'} · ${inputs.records} record${inputs.records === 1 ? '' : 's'} from ${inputs.files} file${
      inputs.files === 1 ? '' : 's'
    }${inputs.duplicates > 0 ? ` · ${inputs.duplicates} duplicates counted once` : ''}${
      inputs.rejected.length > 0 ? ` · ${inputs.rejected.length} rejected` : ''
    }`,
  ];
  if (truncated) lines.push(`truncated: ${truncated}`);
  const shown = inputs.rejected.slice(0, 20);
  for (const r of shown) lines.push(`  rejected ${r.where}: ${r.reason}`);
  if (inputs.rejected.length > shown.length) {
    lines.push(`  … and ${inputs.rejected.length - shown.length} more (--format json lists them all)`);
  }
  // Digests, hidden files and other extensions are routine in a log tree: counted. Anything else (a FIFO,
  // a link loop, an empty file, `{"Records": null}`) is named.
  const routine = (inputs.skipped ?? []).filter((s) => ROUTINE_SKIP.test(s.reason));
  const named = namedNotes(inputs);
  for (const s of named.slice(0, 20)) lines.push(`  note ${s.where}: ${s.reason}`);
  if (named.length > 20) lines.push(`  … and ${named.length - 20} more notes (--format json lists them all)`);
  if (routine.length > 0) {
    lines.push(
      `  skipped ${routine.length} file(s) that are not CloudTrail logs (digests, hidden files, other types)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const ROUTINE_SKIP = /^(hidden file|CloudTrail digest|not a CloudTrail log file \(extension\))/;

/** Inputs left out that are worth naming one by one (a FIFO, a link loop, an empty file, `Records: null`). */
export function namedNotes(inputs: InputsSummary): { where: string; reason: string }[] {
  return (inputs.skipped ?? []).filter((s) => !ROUTINE_SKIP.test(s.reason));
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/**
 * Tools stamp run IDs and build details into their user agents (Stratus Red Team adds one UUID per
 * technique), which would list one Terraform dozens of times: agents that look the same once IDs are
 * blanked and the text is cut to width are shown once, with how many variants they stand for.
 */
function groupUserAgents(agents: string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const ua of agents) {
    const key = shorten(ua.replace(UUID, '…'), 60);
    const members = groups.get(key);
    if (members) members.push(ua);
    else groups.set(key, [ua]);
  }
  return [...groups].map(([key, members]) =>
    members.length === 1 ? shorten(members[0]!, 60) : `${key} (${members.length} variants)`,
  );
}

function list(items: string[], max = MAX_LIST): string {
  const head = items.slice(0, max).join(', ');
  return items.length > max ? `${head} (+${items.length - max} more)` : head;
}

function shorten(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function clock(iso: string, withDate: boolean): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const t = d.toISOString();
  return withDate ? `${t.slice(0, 10)} ${t.slice(11, 19)}` : t.slice(11, 19);
}

function sameDay(a: string, b: string): boolean {
  return a.slice(0, 10) === b.slice(0, 10);
}
