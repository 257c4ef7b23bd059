import { athenaCostText } from '../../adapters/aws/athena-cost.ts';
import { loadDefaultStages } from '../../compose/stages.ts';
import type { InputsSummary } from '../../engine/model.ts';
import { analyze } from '../../engine/pipeline.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { parseCommandLine } from '../args.ts';
import { commandErrors, parseFormat, parseIdleGap, stageOptions } from '../command-support.ts';
import { JsonDocumentWriter, streamWriter } from '../format/session-json.ts';
import { formatInputsText, formatSessionText } from '../format/session-text.ts';
import { jsonSessions } from '../parallel/json-sessions.ts';
import { sourceOptionSpec, sourceOptionsUsage } from '../source-options.ts';

export const usage = `usage: cartographer summarize <files|directories|-> [options]

Groups CloudTrail into sessions (who acted with which credentials) and prints each one:
principal, keys, console or programmatic, source IPs, user agents, regions, time span, the user
actions recognised in it and any findings.

options:
  --format text|json   text (default) for a terminal; json: one document, written session by session
  --session KEY        only the session with this key (or its key before idle splitting, or an access key ID)
  --all                text: also show background (suppressed) actions
  --events             json: also list each session's events (compact, enriched; about 3.5x the output and
                       more memory; left out by default)
  --idle-gap MINUTES   a pause longer than this splits a session (default 30)
  --threads N          json: threads to use (default 1; 2 on an idle 2-core machine took 0.79x the time,
                       on a busy one longer); the output is the same for any N
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
  const idleGapMinutes = parseIdleGap(values['idle-gap']);
  if (typeof idleGapMinutes === 'object') return usageError(idleGapMinutes.error);

  const resolved = await errors.resolve(values, positionals);
  if (typeof resolved === 'number') return resolved;

  const threads = parseThreads(values.threads);
  if (typeof threads === 'object') return usageError(threads.error);

  const stages = await loadStages();
  const withEvents = format === 'json' && values.events === true && values['no-events'] !== true;
  const analyzeOptions = {
    idleGapMinutes,
    ...(values.session !== undefined ? { sessionKey: values.session } : {}),
  };
  const items = resolved.source.read(resolved.query);
  // `summarize … | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const write = streamWriter(process.stdout);
  let count = 0;
  let inputs: InputsSummary;
  if (format === 'json') {
    // Workers load their own stages: only worth it (and only the same) when this thread's loaded.
    const parallel = stages.detector || stages.enricher || stages.signalMapper ? threads : 1;
    const analysis = jsonSessions(items, stages, { ...analyzeOptions, withEvents, threads: parallel });
    const doc = new JsonDocumentWriter(write);
    try {
      await doc.begin();
      for await (const text of analysis.sessions) {
        await doc.sessionText(text);
        count++;
      }
    } finally {
      await analysis.close();
    }
    const meta: Record<string, unknown> = { sessions: count, enrichment: stages.enricher?.info ?? {} };
    if (analysis.truncated) meta.truncated = analysis.truncated;
    if (analysis.stats) meta.stats = analysis.stats;
    await doc.end(analysis.inputs, meta);
    inputs = analysis.inputs;
  } else {
    const analysis = analyze(items, stages, analyzeOptions);
    const textOptions = { all: values.all ?? false, signals: stages.signalMapper !== undefined };
    for await (const s of analysis.sessions) {
      await write(`${count > 0 ? '\n' : ''}${formatSessionText(s, textOptions)}`);
      count++;
    }
    await write(`${count > 0 ? '\n' : ''}${formatInputsText(analysis.inputs, count, analysis.truncated)}`);
    if (analysis.stats) await write(`${athenaCostText(analysis.stats)}\n`);
    inputs = analysis.inputs;
  }
  if (values.session !== undefined && count === 0) {
    process.stderr.write(`cartographer summarize: no session matches '${values.session}'\n`);
  }
  // Bad records are reported and are not an error; a file that could not be opened at all is.
  const unopened = inputs.rejected.filter(
    (r) => !/[#:]\d+$/.test(r.where) && /^cannot (read|list)/.test(r.reason) && !r.reason.includes('gzip'),
  );
  return unopened.length > 0 ? 1 : 0;
}

function parse(argv: string[]) {
  return parseCommandLine(argv, {
    ...sourceOptionSpec,
    format: { type: 'string' },
    session: { type: 'string' },
    all: { type: 'boolean' },
    events: { type: 'boolean' },
    // The default since the event lists became opt-in; still accepted so older scripts keep working.
    'no-events': { type: 'boolean' },
    'idle-gap': { type: 'string' },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

/** The default stages; a stage that fails to load leaves a warning and sessions-only output, not a crash. */
async function loadStages(): Promise<PipelineStages> {
  try {
    return await loadDefaultStages(stageOptions());
  } catch (e) {
    process.stderr.write(
      `cartographer summarize: warning: analysis stages unavailable (${(e as Error).message}); sessions only\n`,
    );
    return {};
  }
}

/**
 * `--threads N` (a whole number from 1 to 64); one by default: a second thread saved 20 % of the time on a quiet
 * 2-core machine, cost time on a busy one and raised peak memory (bench/README.md).
 */
function parseThreads(raw: string | undefined): number | { error: string } {
  if (raw === undefined) return 1;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 64
    ? n
    : { error: `--threads must be a whole number from 1 to 64 (got '${raw}')` };
}

const errors = commandErrors('summarize', usage);
const usageError = errors.usageError;
