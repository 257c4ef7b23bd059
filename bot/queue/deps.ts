import type { ObjectReader } from '../../adapters/aws/sqs-objects.ts';
import type { MessageQueue } from '../../adapters/aws/sqs-queue.ts';
import type { SchedulerDeps } from '../scheduler/deps.ts';

/** How the consumer uses the queue (CARTOGRAPHER_SQS_* settings, config/config.ts). */
export interface QueueSettings {
  /** Messages per ReceiveMessage (1–10). */
  batchSize: number;
  /** Messages processed at once by this replica. */
  concurrency: number;
  /** The queue's redrive maxReceiveCount: the receive after which a failing message goes to the DLQ. */
  maxReceives: number;
  /** Visibility timeout asked for at receive and renewed while a message is processed. */
  visibilitySeconds: number;
  /** Long-poll wait (0–20 s). */
  waitSeconds: number;
}

/** The scheduler's delivery dependencies plus the queue and the object reader. */
export interface QueueAlertDeps extends SchedulerDeps {
  queue: MessageQueue;
  objects: ObjectReader;
  queueSettings: QueueSettings;
}
