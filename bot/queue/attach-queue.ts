/**
 * Starts the sqs alert source inside the bot: with the queue and the S3 reader the composition root built from
 * CARTOGRAPHER_SQS_* (compose/queue.ts), runs the consumer with the scheduler's delivery
 * dependencies (same ledger, threads, snoozes, evidence store and Slack outbox as the scheduled scan), and
 * stages made fresh for each object from rules and tables loaded once.
 */

import type { ObjectReader } from '../../adapters/aws/sqs-objects.ts';
import type { MessageQueue } from '../../adapters/aws/sqs-queue.ts';
import { metrics } from '../../adapters/observability/metrics.ts';
import { newRequestId, withRequest } from '../../adapters/observability/request-context.ts';
import type { CartographerConfig } from '../../config/config.ts';
import type { PipelineStages } from '../../engine/stages.ts';
import type { SchedulerDeps } from '../scheduler/deps.ts';
import { alertOnObject } from './object-alerts.ts';
import { createQueueConsumer, type QueueConsumer } from './sqs-consumer.ts';

/** What the composition root builds for the sqs alert source (compose/queue.ts). */
export interface QueueParts {
  source: { queue: MessageQueue; objects: ObjectReader; settings: CartographerConfig['sqs']; region: string };
  /** Fresh per-analysis state for every object: its alerts are the same on any replica, in any order. */
  factory: () => PipelineStages;
}

export async function startQueueAlerts(deps: SchedulerDeps, parts: QueueParts): Promise<QueueConsumer> {
  const { source, factory } = parts;
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
