/**
 * Builds what the sqs alert source reads: the SQS queue of S3 notifications and the S3 object reader,
 * from the configuration (CARTOGRAPHER_SQS_*). The AWS SDK clients are imported only when chosen, so the
 * local default never loads them. Endpoints and credentials come from the SDK's own chain
 * (`AWS_ENDPOINT_URL_SQS`, `AWS_ENDPOINT_URL_S3`, profiles, roles).
 */
import type { ObjectReader } from '../adapters/aws/sqs-objects.ts';
import type { MessageQueue } from '../adapters/aws/sqs-queue.ts';
import { type CartographerConfig, requireSqsSettings } from '../config/config.ts';

export interface QueueSource {
  queue: MessageQueue;
  objects: ObjectReader;
  settings: CartographerConfig['sqs'];
  region: string;
}

export async function createQueueSource(config: CartographerConfig): Promise<QueueSource> {
  requireSqsSettings(config);
  const [{ createSqsQueue, regionOfQueueUrl }, { createS3ObjectReader }] = await Promise.all([
    import('../adapters/aws/sqs-queue.ts'),
    import('../adapters/aws/sqs-objects.ts'),
  ]);
  const queueUrl = config.sqs.queueUrl!;
  const region = config.sqs.region ?? regionOfQueueUrl(queueUrl) ?? config.awsRegion;
  return {
    queue: createSqsQueue({ queueUrl, region }),
    objects: createS3ObjectReader({ region }),
    settings: config.sqs,
    region,
  };
}
