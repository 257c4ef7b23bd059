/** `cartographer digest`: the daily digest of one day, as text for a terminal or as JSON. */
import { digestCostLine } from '../../bot/scheduler/digest-job.ts';
import { readForScan } from '../../bot/scheduler/scan-source.ts';
import { loadDefaultStages } from '../../compose/stages.ts';
import { type Digest, digestJson } from '../../engine/digest/build.ts';
import { dayBounds, dayOf, isValidTimeZone } from '../../engine/digest/day.ts';
import { FACT_KINDS } from '../../engine/digest/facts.ts';
import { type ProducedDigest, produceDigest } from '../../engine/digest/produce.ts';
import { SEVERITIES } from '../../engine/model.ts';
import { parseCommandLine } from '../args.ts';
import { commandErrors, parseFormat, stageOptions } from '../command-support.ts';
import { namedNotes } from '../format/session-text.ts';
import { sourceOptionSpec, sourceOptionsUsage } from '../source-options.ts';

export const usage = `usage: cartographer digest [files|directories…] [options]

The daily digest: the day's sessions ranked by risk, findings by severity and ATT&CK tactic, what is
new against the earlier days (principals, /24 or /48 source networks, regions, client families,
services) and the top findings. Local files with no events on the day: the files' latest day, said so.

options:
  --date YYYY-MM-DD      the local day (default: today)
  --timezone ZONE        IANA time zone of the day (default: CARTOGRAPHER_TIMEZONE or UTC)
  --baseline-days N      earlier days the "new" comparison uses (default 14)
  --format text|json     json: {"date","sessions":[{"key","principal","risk","findings"}],"countsBySeverity","countsByTactic","new"}
                         (--source athena adds "athena": coverage, queries, rowsRead, bytesScanned, costUsd)
${sourceOptionsUsage}

exit codes: 0 done · 1 an input could not be read · 2 bad arguments`;

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    return usageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const format = parseFormat(values.format);
  if (typeof format === 'object') return usageError(format.error);
  const timeZone = values.timezone ?? (process.env.CARTOGRAPHER_TIMEZONE || 'UTC');
  if (!isValidTimeZone(timeZone)) return usageError(`--timezone '${timeZone}' is not an IANA time zone`);
  if (values.date !== undefined) {
    try {
      dayBounds(values.date, timeZone);
    } catch (e) {
      return usageError(`--date: ${(e as Error).message}`);
    }
  }
  const baselineDays = Number(values['baseline-days'] ?? 14);
  if (!Number.isInteger(baselineDays) || baselineDays < 1 || baselineDays > 90) {
    return usageError(
      `--baseline-days must be a whole number from 1 to 90 (got '${values['baseline-days']}')`,
    );
  }
  if (values.since !== undefined || values.until !== undefined) {
    return usageError('--since/--until do not apply: a digest covers one day, choose it with --date');
  }
  // The bundled demo is the default input of the local source only: AWS sources take no paths.
  const sourceName = values.source ?? (process.env.CARTOGRAPHER_SOURCE || 'local');
  const paths = positionals.length ? positionals : sourceName === 'local' ? defaultPaths() : [];
  const resolved = await errors.resolve(values, paths);
  if (typeof resolved === 'number') return resolved;
  const stages = await loadDefaultStages(stageOptions());
  const produced = await produceDigest(resolved.source, stages, {
    ...(values.date ? { date: values.date } : {}),
    defaultDate: dayOf(Date.now(), timeZone),
    timeZone,
    baselineDays,
    query: resolved.query,
    read: (query, signal) => readForScan(resolved.source, query, signal),
  });
  for (const note of produced.notes) process.stderr.write(`note: ${note}\n`);
  for (const r of produced.inputs.rejected.slice(0, 20)) {
    process.stderr.write(`skipped bad input at ${r.where}: ${r.reason}\n`);
  }
  for (const n of namedNotes(produced.inputs).slice(0, 20))
    process.stderr.write(`note: ${n.where}: ${n.reason}\n`);
  const scanned = scanFacts(produced);
  if (format === 'json') {
    const doc = { ...digestJson(produced.digest), ...(scanned ? { athena: scanned } : {}) };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    process.stdout.write(formatDigestText(produced.digest));
    const line = digestCostLine(produced);
    if (line) process.stdout.write(`\nAthena: ${line}\n`);
  }
  return 0;
}

/** What a grouped (Athena) digest covered and cost: share of the day, queries, rows read, bytes, dollars. */
function scanFacts(p: ProducedDigest) {
  if (!p.stats) return undefined;
  return {
    coverage: p.coverage ?? 1,
    queries: p.stats.queries,
    rowsRead: p.stats.rows,
    eventRowsRead: p.stats.eventRows,
    bytesScanned: p.stats.bytesScanned,
    costUsd: Number(p.stats.costUsd.toFixed(6)),
  };
}

function defaultPaths(): string[] {
  return process.env.CARTOGRAPHER_LOCAL_PATH ? [] : ['demo/'];
}

export function formatDigestText(d: Digest): string {
  const lines: string[] = [];
  const sev = [...SEVERITIES]
    .reverse()
    .filter((s) => d.countsBySeverity[s] > 0)
    .map((s) => `${d.countsBySeverity[s]} ${s}`)
    .join(', ');
  lines.push(`Digest ${d.date} (${d.timeZone})`);
  lines.push(
    `  ${count(d.totals.sessions, 'session')}, ${count(d.totals.events, 'event')}; findings: ${sev || 'none'}`,
  );
  const tactics = Object.entries(d.countsByTactic);
  if (tactics.length) lines.push(`  ATT&CK: ${tactics.map(([t, n]) => `${t} ${n}`).join(', ')}`);
  if (d.quiet) lines.push('  Quiet day: no findings above info, nothing new.');
  lines.push('', 'Sessions by risk:');
  for (const s of d.sessions.slice(0, 20)) {
    const key = s.key === s.principal ? '' : `  ${s.key}`;
    lines.push(
      `  ${String(s.risk).padStart(3)}  ${s.principal}  (${count(s.findings.length, 'finding')})${key}`,
    );
  }
  if (d.sessions.length > 20) lines.push(`  … ${d.sessions.length - 20} more`);
  lines.push('');
  if (d.new.baselineDays === 0) lines.push('New: no earlier days to compare with.');
  else {
    lines.push(`New against the last ${d.new.baselineDays} day(s) with data:`);
    let any = false;
    for (const k of FACT_KINDS) {
      if (d.new[k].length === 0) continue;
      any = true;
      lines.push(`  ${k}: ${d.new[k].slice(0, 10).join(', ')}${d.new[k].length > 10 ? ', …' : ''}`);
    }
    if (!any) lines.push('  nothing');
  }
  if (d.topFindings.length) {
    lines.push('', 'Top findings:');
    for (const t of d.topFindings) {
      lines.push(
        `  [${t.finding.severity}] ${t.finding.title} — ${t.principal} at ${t.finding.time}${t.sessionKey === t.principal ? '' : ` (${t.sessionKey})`}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function count(n: number, one: string): string {
  return `${n.toLocaleString('en-US')} ${one}${n === 1 ? '' : 's'}`;
}

function parse(argv: string[]) {
  return parseCommandLine(argv, {
    ...sourceOptionSpec,
    date: { type: 'string' },
    timezone: { type: 'string' },
    'baseline-days': { type: 'string' },
    format: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

const errors = commandErrors('digest', usage);
const usageError = errors.usageError;
