/**
 * `cartographer watch --source sqs`: near-real-time findings in a terminal. Long-polls the SQS queue of
 * S3 notifications (CARTOGRAPHER_SQS_*), reads each new CloudTrail object once from S3 and prints its
 * findings as they arrive, with the same consumer the bot uses for its alerts.
 */
import pino from 'pino';
import { objectName } from '../../adapters/aws/sqs-objects.ts';
import { readObjectFindings } from '../../bot/queue/object-alerts.ts';
import { createQueueConsumer } from '../../bot/queue/sqs-consumer.ts';
import { createQueueSource } from '../../compose/queue.ts';
import { loadStageFactory } from '../../compose/stages.ts';
import { loadConfig } from '../../config/config.ts';
import { type Finding, SEVERITIES, type Severity } from '../../engine/model.ts';
import { parseCommandLine } from '../args.ts';
import { commandErrors, parseFormat, stageOptions } from '../command-support.ts';

export const usage = `usage: cartographer watch --source sqs [options]

Long-polls the SQS queue the CloudTrail bucket notifies (S3 event notifications, through SNS or EventBridge
too), reads each new log file once from S3, runs the detections and prints the findings as they arrive.
Runs until Ctrl+C. Settings: CARTOGRAPHER_SQS_QUEUE_URL (required), CARTOGRAPHER_SQS_REGION,
CARTOGRAPHER_SQS_VISIBILITY_SECONDS, … (README, "Near-real-time alerts"); AWS credentials from the SDK chain.

options:
  --source sqs          what to watch (the only source watch reads; for files, LookupEvents, Athena use scan)
  --min-severity info|low|medium|high|critical   hide findings below this (default: medium)
  --format text|json    text (default): one line per finding; json: one JSON object per line
  --keep                leave messages in the queue (they come back after the visibility timeout, e.g. for
                        the bot); default: delete each message once its findings are printed
  --max-messages N      stop after N messages (those already received with them are finished too;
                        default: run until interrupted)

Each file is analysed on its own: rules that need events from several files fire in scan and the digest.
Log lines go to stderr: a failing file (kept in the queue; on its last receive, to the dead-letter queue),
a receive that failed (retried with backoff); LOG_LEVEL=debug also shows skipped keys.

exit codes: 0 stopped · 2 bad arguments or settings`;

const MARK: Record<Severity, string> = {
  critical: 'CRIT',
  high: 'HIGH',
  medium: 'MED ',
  low: 'LOW ',
  info: 'INFO',
};
const errors = commandErrors('watch', usage);

export async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  try {
    ({ values } = parse(argv));
  } catch (e) {
    return errors.usageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const checked = checkOptions(values);
  if (typeof checked === 'string') return errors.usageError(checked);
  const source = await createQueueSource(loadConfig(process.env));
  const stages = await loadStageFactory(stageOptions());
  const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));
  const consumer = createQueueConsumer({
    queue: source.queue,
    queueSettings: source.settings,
    logger,
    keepMessages: checked.keep,
    async onObject(ref) {
      const found = await readObjectFindings(
        { objects: source.objects, stages: async () => stages() },
        ref,
        checked.minSeverity,
      );
      for (const c of found.candidates) print(c.finding, objectName(ref), checked.format);
      return { records: found.records, posted: found.candidates.length };
    },
  });
  consumer.start();
  await untilDone(consumer, checked.maxMessages);
  await consumer.stop();
  const s = consumer.stats;
  const depth = await source.queue.depth().then(
    (d) => `; queue: ${d.visible} waiting, ${d.inFlight} in flight`,
    () => '',
  );
  process.stderr.write(
    `cartographer watch: ${s.messages} messages, ${s.objects} files (${s.records} records), ${s.posted} findings, ${s.skipped} keys skipped, ${s.failed} failed${depth}\n`,
  );
  return 0;
}

interface WatchOptions {
  minSeverity: Severity;
  format: 'text' | 'json';
  keep: boolean;
  maxMessages?: number;
}

function checkOptions(values: ReturnType<typeof parse>['values']): WatchOptions | string {
  if (values.source !== 'sqs') {
    return values.source
      ? `--source ${values.source}: watch reads a queue (--source sqs); for ${values.source} use \`cartographer scan\``
      : '--source sqs is required';
  }
  const minSeverity = (values['min-severity'] ?? 'medium') as Severity;
  if (!SEVERITIES.includes(minSeverity)) return `--min-severity must be one of ${SEVERITIES.join(', ')}`;
  const format = parseFormat(values.format);
  if (typeof format === 'object') return format.error;
  const out: WatchOptions = { minSeverity, format, keep: values.keep === true };
  if (values['max-messages'] !== undefined) {
    const n = Number(values['max-messages']);
    if (!Number.isInteger(n) || n < 1)
      return `--max-messages must be a whole number ≥ 1 (got '${values['max-messages']}')`;
    out.maxMessages = n;
  }
  return out;
}

function print(f: Finding, object: string, format: 'text' | 'json'): void {
  if (format === 'json') {
    process.stdout.write(`${JSON.stringify({ object, finding: f })}\n`);
    return;
  }
  process.stdout.write(
    `${f.time}  ${MARK[f.severity]}  ${f.title}  ${f.principal ?? ''}  rule ${f.ruleId}  ${object}\n`,
  );
}

/** Until N messages were handled, or SIGINT/SIGTERM. */
function untilDone(consumer: ReturnType<typeof createQueueConsumer>, max: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      clearInterval(timer);
      resolve();
    };
    // Messages already in hand when the count is reached are finished by consumer.stop().
    const timer = setInterval(() => {
      if (max !== undefined && consumer.stats.messages >= max) stop();
    }, 50);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function parse(argv: string[]) {
  return parseCommandLine(
    argv,
    {
      source: { type: 'string' },
      'min-severity': { type: 'string' },
      format: { type: 'string' },
      keep: { type: 'boolean' },
      'max-messages': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
}
