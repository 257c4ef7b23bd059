/**
 * Starts the sqs alert source inside the bot: reads CARTOGRAPHER_SQS_* (config/config.ts), builds the
 * queue and the S3 reader (config/queue-factory.ts) and runs the consumer with the scheduler's delivery
 * dependencies (same ledger, threads, snoozes, evidence store and Slack outbox as the scheduled scan), and
 * stages made fresh for each object from rules and tables loaded once.
 */
import type { MessageQueue } from '../../adapters/aws/sqs-queue.ts';
import { metrics } from '../../adapters/observability/metrics.ts';
import { newRequestId, withRequest } from '../../adapters/observability/request-context.ts';
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
    // One request per object: its S3 read and its Slack posts log under one reqId; records and time in /metrics.
    onObject: (ref) =>
      withRequest({ id: newRequestId('job'), logger: deps.logger }, async () => {
        const started = performance.now();
        let outcome = 'error';
        try {
          const result = await alertOnObject(alertDeps, ref);
          metrics.eventsScanned.inc({ source: 'sqs' }, result.records);
          outcome = 'ok';
          return result;
        } finally {
          metrics.scanDuration.observe({ job: 'sqs object', outcome }, (performance.now() - started) / 1000);
        }
      }),
  });
  consumer.start();
  const stopDepth = pollQueueDepth(source.queue, deps.logger);
  const stop = consumer.stop.bind(consumer);
  consumer.stop = async () => {
    stopDepth();
    await stop();
  };
  deps.logger.info(
    { queue: source.queue.url, region: source.region, ...source.settings },
    'near-real-time alerts: consuming the SQS queue of S3 notifications',
  );
  return consumer;
}

/** How often cartographer_sqs_queue_depth is refreshed (one GetQueueAttributes call each time). */
const DEPTH_EVERY_MS = 30_000;

/** Keeps cartographer_sqs_queue_depth{queue,state} current; returns the function that stops it. */
export function pollQueueDepth(queue: MessageQueue, logger: SchedulerDeps['logger']): () => void {
  const update = () =>
    queue.depth().then(
      (d) => {
        metrics.queueDepth.set({ queue: queue.url, state: 'visible' }, d.visible);
        metrics.queueDepth.set({ queue: queue.url, state: 'in_flight' }, d.inFlight);
      },
      (err: unknown) =>
        logger.debug(
          { queue: queue.url, err: String(err) },
          'sqs: queue depth not read (GetQueueAttributes)',
        ),
    );
  void update();
  const timer = setInterval(() => void update(), DEPTH_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
