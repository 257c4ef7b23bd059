/**
 * Starts the sqs alert source inside the bot: reads CARTOGRAPHER_SQS_* (config/config.ts), builds the
 * queue and the S3 reader (config/queue-factory.ts) and runs the consumer with the scheduler's delivery
 * dependencies (same ledger, threads, snoozes, evidence store and Slack outbox as the scheduled scan).
 */
import { loadConfig } from '../../config/config.ts';
import { createQueueSource } from '../../config/queue-factory.ts';
import type { SchedulerDeps } from '../scheduler/deps.ts';
import { alertOnObject } from './object-alerts.ts';
import { createQueueConsumer, type QueueConsumer } from './sqs-consumer.ts';

export async function startQueueAlerts(deps: SchedulerDeps, env: NodeJS.ProcessEnv): Promise<QueueConsumer> {
  const source = await createQueueSource(loadConfig(env));
  const alertDeps = { ...deps, queue: source.queue, objects: source.objects, queueSettings: source.settings };
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
