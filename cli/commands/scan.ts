/**
 * `cartographer scan <paths…|-> [--since] [--until] [--min-severity] [--format text|json]`: runs the whole
 * pipeline (sessions, enrichment, detections) and prints the findings, worst session first in text.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { athenaCostText } from '../../adapters/aws/athena-cost.ts';
import { loadDefaultStages } from '../../compose/stages.ts';
import type { CartographerDetector } from '../../engine/detections/index.ts';
import { type Finding, SEVERITIES, type Severity } from '../../engine/model.ts';
import { analyze } from '../../engine/pipeline.ts';
import { parseCommandLine } from '../args.ts';
import { commandErrors, parseFormat, parseIdleGap, stageOptions } from '../command-support.ts';
import { namedNotes } from '../format/session-text.ts';
import { sourceOptionSpec, sourceOptionsUsage } from '../source-options.ts';

export const usage = `usage: cartographer scan <files|directories|-> [options]

Runs Cartographer's detections (its own rules, SigmaHQ CloudTrail rules and CloudGrappler indicators) over
CloudTrail and prints the findings with severity, ATT&CK technique and the events behind each.

options:
  --min-severity info|low|medium|high|critical   hide findings below this (default: low)
  --rules DIR          also run the rules in DIR (own format or Sigma; repeatable; the CARTOGRAPHER_RULES_DIRS
                       setting adds folders too); their findings have provenance "custom"
  --format text|json   text (default): findings grouped by session, riskiest session first;
                       json: {"findings":[{id, ruleId, title, severity, techniques, tactics, sessionKey,
                       principal, time, eventIds, explanation, provenance, sessionRisk}]}: provenance is own,
                       sigma, cloudgrappler or custom; sessionRisk the risk score (0-100) of the finding's session
  --idle-gap MINUTES   a pause longer than this splits a session (default 30)
${sourceOptionsUsage}

exit codes: 0 done (with or without findings) · 1 an input could not be read · 2 bad arguments`;

interface ScannedSession {
  key: string;
  principal: string;
  score: number;
  reasons: string[];
  findings: Finding[];
}

export async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (e) {
    return usageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const format = parseFormat(values.format);
  if (typeof format === 'object') return usageError(format.error);
  const minSeverity = (values['min-severity'] ?? 'low') as Severity;
  if (!SEVERITIES.includes(minSeverity)) {
    return usageError(`--min-severity must be one of ${SEVERITIES.join(', ')} (got '${minSeverity}')`);
  }
  const idleGapMinutes = parseIdleGap(values['idle-gap']);
  if (typeof idleGapMinutes === 'object') return usageError(idleGapMinutes.error);

  const ruleDirs = (values.rules ?? []).map((d) => resolve(d));
  const missing = ruleDirs.find((d) => !existsSync(d));
  if (missing) return usageError(`--rules: no such folder: ${missing}`);
  const resolved = await errors.resolve(values, positionals);
  if (typeof resolved === 'number') return resolved;
  // Detections are the point of this command: a broken rule file ends it (cli/main.ts prints where), rather
  // than a silent empty result.
  const stages = await loadDefaultStages(stageOptions(ruleDirs));
  const provenance = new Map(
    ((stages.detector as CartographerDetector | undefined)?.rules ?? []).map((r) => [r.id, r.provenance]),
  );
  const analysis = analyze(resolved.source.read(resolved.query), stages, { idleGapMinutes });
  const floor = SEVERITIES.indexOf(minSeverity);
  const sessions: ScannedSession[] = [];
  for await (const s of analysis.sessions) {
    const findings = s.findings.filter((f) => SEVERITIES.indexOf(f.severity) >= floor);
    if (findings.length === 0) continue;
    sessions.push({
      key: s.key,
      principal: s.principal.arn ?? s.principal.userName ?? s.principal.principalId ?? s.key,
      score: s.risk?.score ?? 0,
      reasons: s.risk?.reasons ?? [],
      findings,
    });
  }
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  if (format === 'json') {
    const findings = sessions
      .flatMap((s) =>
        s.findings.map((f) => ({
          ...f,
          provenance: provenance.get(f.ruleId) ?? 'own',
          sessionRisk: s.score,
        })),
      )
      .sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
    const doc: Record<string, unknown> = { findings };
    if (analysis.truncated) doc.truncated = analysis.truncated;
    if (analysis.stats) doc.athena = analysis.stats;
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(
      formatText(sessions, analysis.inputs.records, analysis.inputs.rejected.length, minSeverity),
    );
    if (analysis.stats) process.stdout.write(`${athenaCostText(analysis.stats)}\n`);
  }
  const unopened = analysis.inputs.rejected.filter(
    (r) => !/[#:]\d+$/.test(r.where) && /^cannot (read|list)/.test(r.reason) && !r.reason.includes('gzip'),
  );
  for (const r of analysis.inputs.rejected.slice(0, 20))
    process.stderr.write(`cartographer scan: skipped ${r.where}: ${r.reason}\n`);
  for (const n of namedNotes(analysis.inputs).slice(0, 20))
    process.stderr.write(`cartographer scan: note ${n.where}: ${n.reason}\n`);
  if (analysis.inputs.rejected.length > 20) {
    process.stderr.write(
      `cartographer scan: … and ${analysis.inputs.rejected.length - 20} more skipped inputs\n`,
    );
  }
  return unopened.length > 0 ? 1 : 0;
}

const MARK: Record<Severity, string> = {
  critical: 'CRIT',
  high: 'HIGH',
  medium: 'MED ',
  low: 'LOW ',
  info: 'INFO',
};

function formatText(sessions: ScannedSession[], records: number, rejected: number, min: Severity): string {
  const lines: string[] = [];
  const ordered = [...sessions].sort((a, b) => b.score - a.score || a.key.localeCompare(b.key));
  for (const s of ordered) {
    lines.push(`risk ${String(s.score).padStart(3)}  ${s.principal}  (session ${s.key})`);
    for (const r of s.reasons.slice(0, 4)) lines.push(`          ${r}`);
    const worstFirst = [...s.findings].sort(
      (a, b) =>
        SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || a.time.localeCompare(b.time),
    );
    for (const f of worstFirst) {
      const attack = f.techniques.length
        ? ` [${f.techniques.join(', ')}${f.tactics.length ? ` · ${f.tactics.join(', ')}` : ''}]`
        : '';
      lines.push(`  ${MARK[f.severity]}  ${f.time}  ${f.title}${attack}`);
      lines.push(`        ${f.explanation}`);
      lines.push(
        `        rule ${f.ruleId} · ${f.eventIds.length} event${f.eventIds.length === 1 ? '' : 's'} · id ${f.id}`,
      );
    }
    lines.push('');
  }
  const total = sessions.reduce((n, s) => n + s.findings.length, 0);
  lines.push(
    `${total} finding${total === 1 ? '' : 's'} at ${min} or above in ${sessions.length} session${sessions.length === 1 ? '' : 's'}; ${records} records read${rejected ? `, ${rejected} inputs skipped (see stderr)` : ''}.`,
  );
  return `${lines.join('\n')}\n`;
}

function parse(argv: string[]) {
  return parseCommandLine(argv, {
    ...sourceOptionSpec,
    format: { type: 'string' },
    rules: { type: 'string', multiple: true },
    'min-severity': { type: 'string' },
    'idle-gap': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

const errors = commandErrors('scan', usage);
const usageError = errors.usageError;
