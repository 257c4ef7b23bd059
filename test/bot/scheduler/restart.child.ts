/**
 * Child process for test/bot/scheduler/restart.test.ts: the real scheduler (SQLite state, real Slack
 * Web API client against the stand-in, real local source and detection stages) scanning a replay of
 * real CloudTrail files with a clock that steps 5 minutes per tick.
 *
 * Resumes where the state says it stopped (the watermark), exactly as a restarted bot would.
 * With CRASH_AFTER_POSTS=N it kills itself with SIGKILL right after Slack accepted the N-th post and
 * before the ledger records it: the worst moment for exactly-once. With CRASH_AT=record:N it dies right after
 * the ledger recorded the N-th post as posted (before the scope's watermark moved); with CRASH_AT=watermark:N,
 * right before the N-th watermark advance (every post of that window recorded, the window not marked done).
 *
 *   node bin/run-ts.js test/bot/scheduler/restart.child.ts
 *   env: DB, DATA, SLACK_API_URL, SLACK_BOT_TOKEN, CHANNEL, START, END, CRASH_AFTER_POSTS?, CRASH_AT?
 */
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import type { SchedulerState } from '../../../adapters/state/scheduler-state.ts';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import { createOutboxPoster, type OutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

const env = process.env;
const need = (name: string): string => {
  const v = env[name];
  if (!v) throw new Error(`${name} is required`);
  return v;
};
const SCOPE = 'local/*/*';
const STEP = 5 * 60_000;

const state = openSchedulerState(need('DB'));
const start = Date.parse(need('START'));
const end = Date.parse(need('END'));
const clock = manualClock((await state.getWatermark(SCOPE)) ?? start);
if ((await state.getWatermark(SCOPE)) === undefined) await state.setWatermark(SCOPE, start);

const client = new WebClient(need('SLACK_BOT_TOKEN'), { slackApiUrl: need('SLACK_API_URL') });
const real = createOutboxPoster(client);
const crashAfter = Number(env.CRASH_AFTER_POSTS ?? 0);
let posts = 0;
const outbox: OutboxPoster = {
  async post(channel, message, key, threadTs) {
    const ts = await real.post(channel, message, key, threadTs);
    posts++;
    process.stdout.write(`posted ${key}\n`);
    if (crashAfter > 0 && posts === crashAfter) process.kill(process.pid, 'SIGKILL');
    return ts;
  },
  find: real.find,
};

/** The state, dying at the CRASH_AT point (after a ledger write, or before a watermark write). */
function crashing(real: SchedulerState): SchedulerState {
  const [point, nth] = (env.CRASH_AT ?? '').split(':');
  const at = Number(nth ?? 0);
  let count = 0;
  const die = () => process.kill(process.pid, 'SIGKILL');
  return new Proxy(real, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (point === 'record' && prop === 'markAlertPosted') {
        return async (...args: Parameters<SchedulerState['markAlertPosted']>) => {
          await target.markAlertPosted(...args);
          process.stdout.write(`recorded ${args[0]}\n`);
          if (++count === at) die();
        };
      }
      if (point === 'watermark' && prop === 'setWatermark') {
        return async (...args: Parameters<SchedulerState['setWatermark']>) => {
          if (++count === at) die();
          await target.setWatermark(...args);
        };
      }
      return value.bind(target);
    },
  });
}

const scheduler = createScheduler({
  config: loadSchedulerConfig({
    CARTOGRAPHER_ALERT_CHANNEL: need('CHANNEL'),
    CARTOGRAPHER_ALERT_MIN_SEVERITY: 'high',
    CARTOGRAPHER_SCHEDULE: 'off',
  }),
  state: crashing(state),
  sourceName: 'local',
  source: async () => createLocalSource([need('DATA')]),
  stages: loadDefaultStages,
  outbox,
  logger: pino({ level: 'warn' }, pino.destination(2)),
  clock,
});
process.stdout.write(`pending before start: ${(await state.pendingAlerts()).length}\n`);
await scheduler.start(); // reconciles what a previous run left pending
process.stdout.write(`pending after start: ${(await state.pendingAlerts()).length}\n`);
while (clock.now() < end) {
  clock.advance(STEP);
  await scheduler.scanNow('tick');
}
process.stdout.write(`done at ${new Date(clock.now()).toISOString()}\n`);
await state.close();
