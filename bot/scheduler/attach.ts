/**
 * Plugs the scheduled scans into the bot: the `digest` command, the "Open session" and "Snooze"
 * buttons, and a Scheduler whose cron jobs start and stop with the app. bot/app.ts calls this once.
 */
import type { App } from '@slack/bolt';
import type { SchedulerState } from '../../adapters/state/scheduler-state.ts';
import type { SchedulerConfig } from '../../config/scheduler.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import { changeAlert } from '../actions/alert-lifecycle.ts';
import {
  ACTION_ALERT_ACK,
  ACTION_ALERT_ASSIGN,
  ACTION_ALERT_REOPEN,
  ACTION_ALERT_RESOLVE,
} from '../actions/ids.ts';
import type { ClickHandler } from '../listeners/clicks.ts';
import type { SourceProvider } from '../lookup/analyzer.ts';
import { ACTION_SNOOZE_PREFIX, SNOOZE_CHOICES } from '../messages/alert.ts';
import { ACTION_OPEN_SESSION } from '../messages/digest.ts';
import { type QueueParts, startQueueAlerts } from '../queue/attach-queue.ts';
import type { QueueConsumer } from '../queue/sqs-consumer.ts';
import type { BotServices, CommandRegistry } from '../types.ts';
import { openDigestSession, snoozeAlert } from './actions.ts';
import type { Clock } from './clock.ts';
import { digestCommand } from './digest-command.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { createOutboxPoster } from './slack-outbox.ts';

export interface AttachOptions {
  app: App;
  services: BotServices;
  /** The app's sub-commands: `digest` is added to them. */
  commands: CommandRegistry;
  sources: SourceProvider;
  /** The app's stages (shared with commands, so one allow-list counts for both). */
  stages: () => Promise<PipelineStages>;
  /** The bot's click wrapper (ack, authorisation, audit, errors). */
  click: ClickHandler;
  /** The scheduled scans' settings, validated by the composition root. */
  config: SchedulerConfig;
  clock?: Clock;
  /** The SQS queue and per-object stages (built by the composition root when the alert source is sqs). */
  queue?: () => Promise<QueueParts>;
  /** The scheduler's state; `shared` when replicas use the same database. */
  state: SchedulerState;
  shared?: boolean;
}

export interface AttachedScheduler {
  scheduler: Scheduler;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function attachScheduler(options: AttachOptions): AttachedScheduler {
  const { app, services, config, state } = options;
  const deps = {
    config,
    state,
    sourceName: services.config.defaultSource,
    source: () => options.sources(services.config.defaultSource),
    stages: options.stages,
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
  options.commands.add(digestCommand(scheduler));
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
        if (!options.queue) throw new Error('CARTOGRAPHER_ALERT_SOURCE=sqs: no queue was built');
        queue = await startQueueAlerts(queueDeps, await options.queue());
      }
    },
    async stop() {
      await queue?.stop();
      await scheduler.stop();
      await state.close();
    },
  };
}
