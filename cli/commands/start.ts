/** `cartographer start`: runs the Slack bot (or the bot plus a local Slack stand-in without credentials). */

import { UsageError } from '../../engine/errors.ts';
import { parseCommandLine } from '../args.ts';
import { nodeSupportNotice } from '../node-support.ts';
import { BotConfigError, startCartographer } from '../start.ts';

export const usage = `usage: cartographer start

Runs the Slack bot. Settings come from the environment:
  SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET   Slack app credentials (HTTP receiver on PORT, path /slack/events)
  SLACK_APP_TOKEN                         xapp- token: use Socket Mode instead of HTTP
  SLACK_API_URL                           Web API base URL (default https://slack.com/api/)
  PORT, HOST                              where to listen (default 3000, 0.0.0.0)
  CARTOGRAPHER_ALLOWED_CHANNELS, _USERS, _USERGROUP   who may use the bot (ids; none set: everyone)
  CARTOGRAPHER_DB                         SQLite file for button references and cached analyses
  CARTOGRAPHER_DATABASE_URL               postgres://… shared by several bot replicas instead of the SQLite file
  CARTOGRAPHER_SOURCE, CARTOGRAPHER_LOCAL_PATH         default source and local CloudTrail paths
  CARTOGRAPHER_ALLOWLIST                  allow-list file "Mark benign" appends to
  CARTOGRAPHER_LOOKUP_TIMEOUT_SECONDS, CARTOGRAPHER_MAX_CONCURRENT_LOOKUPS,
  CARTOGRAPHER_MAX_TIMELINE_REPLIES, CARTOGRAPHER_RETENTION_DAYS, LOG_LEVEL
  CARTOGRAPHER_ACCOUNT_NAMES (id=name,…), CARTOGRAPHER_ORGANIZATIONS (on|off), _ORGANIZATIONS_REGION   account names
  CARTOGRAPHER_DIGEST_CHANNEL, _DIGEST_TIME (08:00), CARTOGRAPHER_TIMEZONE (UTC)   daily digest
  CARTOGRAPHER_ALERT_CHANNEL, _ALERT_EVERY_MINUTES (5), _ALERT_MIN_SEVERITY (high),
  CARTOGRAPHER_ALERT_REPEAT_WINDOW_HOURS (24), _LATE_DELIVERY_MINUTES (15), _CATCHUP_MAX_HOURS (24),
  CARTOGRAPHER_SCHEDULE (on|off)          risk alerts and the scheduled jobs
  CARTOGRAPHER_ALERT_SOURCE (scan|sqs), CARTOGRAPHER_SQS_QUEUE_URL, _SQS_REGION, _SQS_BATCH_SIZE (10),
  _SQS_CONCURRENCY (4), _SQS_MAX_RECEIVES (5), _SQS_VISIBILITY_SECONDS (60), _SQS_WAIT_SECONDS (20)
                                          near-real-time alerts from the trail bucket's SQS notifications
Without any Slack credentials it starts a local Slack stand-in and its playground page on
127.0.0.1:3333 (CARTOGRAPHER_PLAYGROUND_PORT) and prints the address to open in a browser; there,
risk alerts of the local data's busiest day go to #soc-alerts (a replay clock) and the database lasts
for the run.
`;

export async function run(argv: string[]): Promise<number> {
  let help: boolean | undefined;
  try {
    help = parseCommandLine(argv, { help: { type: 'boolean', short: 'h' } }, false).values.help;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`cartographer start: ${e.message} (settings come from the environment)\n\n${usage}`);
    return 2;
  }
  if (help) {
    process.stdout.write(usage);
    return 0;
  }
  // Once, before anything else the bot says: a Node.js it is not tested on.
  const notice = nodeSupportNotice();
  if (notice) process.stderr.write(`${notice}\n`);
  let started: Awaited<ReturnType<typeof startCartographer>>;
  try {
    started = await startCartographer(process.env);
  } catch (err) {
    if (err instanceof BotConfigError) {
      process.stderr.write(`cartographer start: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // One failing lookup must never take the bot down: log stray rejections instead of crashing.
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(
      `unhandled rejection (kept running): ${reason instanceof Error ? reason.message : String(reason)}\n`,
    );
  });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${signal}: stopping (finishing running lookups)…\n`);
      void started.stop().finally(resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}
