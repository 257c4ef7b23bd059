/**
 * Plugs the scheduled scans into the bot: the `digest` command, the "Open session" and "Snooze"
 * buttons, and a Scheduler whose cron jobs start and stop with the app. bot/app.ts calls this once.
 */
import type { App } from '@slack/bolt';
import type { AllowListStore } from '../../adapters/rules/allowlist-store.ts';
import type { SchedulerState } from '../../adapters/state/scheduler-state.ts';
import { openSchedulerState } from '../../adapters/state/sqlite-scheduler-state.ts';
import { loadDefaultStages } from '../../cli/stages.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { changeAlert } from '../actions/alert-lifecycle.ts';
import type { ClickContext } from '../actions/handlers.ts';
import {
  ACTION_ALERT_ACK,
  ACTION_ALERT_ASSIGN,
  ACTION_ALERT_REOPEN,
  ACTION_ALERT_RESOLVE,
} from '../actions/ids.ts';
import { type CommandResult, registerCommand } from '../commands/registry.ts';
import { BotConfigError } from '../config.ts';
import type { SourceProvider } from '../lookup/analyzer.ts';
import { ACTION_SNOOZE_PREFIX, SNOOZE_CHOICES } from '../messages/alert.ts';
import { ACTION_OPEN_SESSION } from '../messages/digest.ts';
import { startQueueAlerts } from '../queue/attach-queue.ts';
import type { QueueConsumer } from '../queue/sqs-consumer.ts';
import type { BotServices } from '../services.ts';
import { openDigestSession, snoozeAlert } from './actions.ts';
import type { Clock } from './clock.ts';
import { loadSchedulerConfig, SchedulerConfigError } from './config.ts';
import { digestCommand } from './digest-command.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { createOutboxPoster } from './slack-outbox.ts';

export interface AttachOptions {
  app: App;
  services: BotServices;
  sources: SourceProvider;
  /** The app's stages (shared with commands, so one allow-list counts for both); default: loaded here. */
  stages?: () => Promise<PipelineStages>;
  /** The bot's click wrapper (ack, authorisation, audit, errors). */
  click: (
    name: string,
    run: (ctx: ClickContext) => Promise<CommandResult>,
    // biome-ignore lint/suspicious/noExplicitAny: Bolt's listener type
  ) => any;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  /** The bot's live allow-list (the queue consumer's per-object stages use it too). */
  allowlist?: AllowListStore;
  /** The scheduler's state (default: the SQLite file); `shared` when replicas use the same database. */
  state?: SchedulerState;
  shared?: boolean;
}

export interface AttachedScheduler {
  scheduler: Scheduler;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function attachScheduler(options: AttachOptions): AttachedScheduler {
  const { app, services } = options;
  let config: ReturnType<typeof loadSchedulerConfig>;
  try {
    config = loadSchedulerConfig(options.env ?? process.env);
    if (config.alertSource === 'sqs' && !config.alertChannel) {
      throw new SchedulerConfigError(
        'CARTOGRAPHER_ALERT_SOURCE=sqs needs CARTOGRAPHER_ALERT_CHANNEL (where alerts go)',
      );
    }
  } catch (err) {
    // Reported like the bot's own settings: `cartographer start` prints it and exits 2.
    if (err instanceof SchedulerConfigError) throw new BotConfigError(err.message);
    throw err;
  }
  const env = options.env ?? process.env;
  const state = options.state ?? openSchedulerState(services.config.dbFile);
  let stages: ReturnType<typeof loadDefaultStages> | undefined;
  const deps = {
    config,
    state,
    sourceName: services.config.defaultSource,
    source: () => options.sources(services.config.defaultSource),
    stages: () => {
      if (options.stages) return options.stages();
      stages ??= loadDefaultStages().catch((err) => {
        stages = undefined;
        throw err;
      });
      return stages;
    },
    outbox: createOutboxPoster(app.client),
    store: services.store,
    triage: services.triage,
    accountNames: services.accountNames,
    logger: services.logger.child({ component: 'scheduler' }),
  };
  const scheduler = createScheduler({
    ...deps,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.shared ? { shared: true } : {}),
  });
  let queue: QueueConsumer | undefined;
  registerCommand(digestCommand(scheduler));
  app.action(
    ACTION_OPEN_SESSION,
    options.click('open session', (ctx) => openDigestSession(ctx)),
  );
  for (const c of SNOOZE_CHOICES) {
    app.action(
      `${ACTION_SNOOZE_PREFIX}${c.label}`,
      options.click(`snooze ${c.label}`, (ctx) => snoozeAlert(ctx, scheduler, c.label)),
    );
  }
  // The alert lifecycle: Acknowledge, Assign to…, Resolve as…, Reopen (the ledger names old alerts).
  const lifecycle = [
    [ACTION_ALERT_ACK, 'acknowledge'],
    [ACTION_ALERT_ASSIGN, 'assign'],
    [ACTION_ALERT_RESOLVE, 'resolve'],
    [ACTION_ALERT_REOPEN, 'reopen'],
  ] as const;
  for (const [id, kind] of lifecycle) {
    app.action(
      id,
      options.click(`${kind} alert`, (ctx) => changeAlert(ctx, kind, { ledger: state })),
    );
  }
  return {
    scheduler,
    async start() {
      await scheduler.start();
      if (config.alertSource === 'sqs') {
        const logger = services.logger.child({ component: 'sqs' });
        const queueDeps = { ...deps, logger, clock: scheduler.clock };
        queue = await startQueueAlerts(queueDeps, env, options.allowlist).catch((err) => {
          // A missing or bad CARTOGRAPHER_SQS_* setting ends `cartographer start` like the bot's own settings.
          throw (err as Error).name === 'ConfigError' ? new BotConfigError((err as Error).message) : err;
        });
      }
    },
    async stop() {
      await queue?.stop();
      await scheduler.stop();
      await state.close();
    },
  };
}
