/**
 * Starts the sqs alert source inside the bot: reads CARTOGRAPHER_SQS_* (config/config.ts), builds the
 * queue and the S3 reader (config/queue-factory.ts) and runs the consumer with the scheduler's delivery
 * dependencies (same ledger, threads, snoozes, evidence store and Slack outbox as the scheduled scan), and
 * stages made fresh for each object from rules and tables loaded once.
 */
import type { AllowListStore } from '../../adapters/rules/allowlist-store.ts';
import { loadStageFactory } from '../../cli/stages.ts';
import { loadConfig } from '../../config/config.ts';
import { createQueueSource } from '../../config/queue-factory.ts';
import type { SchedulerDeps } from '../scheduler/deps.ts';
import { alertOnObject } from './object-alerts.ts';
import { createQueueConsumer, type QueueConsumer } from './sqs-consumer.ts';

export async function startQueueAlerts(
  deps: SchedulerDeps,
  env: NodeJS.ProcessEnv,
  allowlist?: AllowListStore,
): Promise<QueueConsumer> {
  const source = await createQueueSource(loadConfig(env));
  // Fresh per-analysis state for every object: its alerts are the same on any replica, in any order.
  const factory = await loadStageFactory(allowlist ? { allowlist } : {});
  const alertDeps = {
    ...deps,
    stages: async () => factory(),
    queue: source.queue,
    objects: source.objects,
    queueSettings: source.settings,
  };
  const consumer = createQueueConsumer({
    queue: source.queue,
    queueSettings: source.settings,
    logger: deps.logger,
    onObject: (ref) => alertOnObject(alertDeps, ref),
  });
  consumer.start();
  deps.logger.info(
    { queue: source.queue.url, region: source.region, ...source.settings },
    'near-real-time alerts: consuming the SQS queue of S3 notifications',
  );
  return consumer;
}
