/**
 * The SQS queue of S3 event notifications, through `@aws-sdk/client-sqs` (SQS's JSON protocol): long-poll
 * receive with the receive count, delete after the outcome is stored, visibility extension while a big
 * file is processed, and the queue's depth. Redrive to the dead-letter queue is the queue's own
 * RedrivePolicy (deploy/sqs-alerts.yaml): a message received more than maxReceiveCount times moves there.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { instrumentAwsClient } from '../observability/aws-telemetry.ts';

export interface QueueMessage {
  id: string;
  /** Receipt handle of this receive (delete and visibility calls need it). */
  receipt: string;
  body: string;
  /** How many times SQS handed this message out, this time included. */
  receiveCount: number;
  /** When SQS first received it (epoch ms), if reported. */
  sentAt?: number;
}

export interface ReceiveOptions {
  max: number;
  waitSeconds: number;
  visibilitySeconds: number;
  signal?: AbortSignal;
}

export interface MessageQueue {
  readonly url: string;
  receive(options: ReceiveOptions): Promise<QueueMessage[]>;
  delete(message: QueueMessage): Promise<void>;
  /** Makes the message invisible for `seconds` more, from now. */
  extend(message: QueueMessage, seconds: number): Promise<void>;
  /** Messages waiting and in flight (approximate, as SQS counts them). */
  depth(): Promise<{ visible: number; inFlight: number }>;
}

export interface SqsQueueOptions {
  queueUrl: string;
  region: string;
  client?: SQSClient;
}

export function createSqsQueue(options: SqsQueueOptions): MessageQueue {
  const client = options.client ?? instrumentAwsClient(new SQSClient({ region: options.region }));
  const QueueUrl = options.queueUrl;
  return {
    url: QueueUrl,
    async receive({ max, waitSeconds, visibilitySeconds, signal }) {
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitSeconds,
          VisibilityTimeout: visibilitySeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
        signal ? { abortSignal: signal } : {},
      );
      return (out.Messages ?? []).map((m) => {
        const message: QueueMessage = {
          id: m.MessageId ?? '',
          receipt: m.ReceiptHandle ?? '',
          body: m.Body ?? '',
          receiveCount: Number(m.Attributes?.ApproximateReceiveCount ?? 1),
        };
        const sent = Number(m.Attributes?.SentTimestamp);
        if (Number.isFinite(sent)) message.sentAt = sent;
        return message;
      });
    },
    async delete(message) {
      await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.receipt }));
    },
    async extend(message, seconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl,
          ReceiptHandle: message.receipt,
          VisibilityTimeout: seconds,
        }),
      );
    },
    async depth() {
      const out = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return {
        visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
      };
    },
  };
}

/** The region in an SQS queue URL (`https://sqs.eu-west-1.amazonaws.com/…`), if it names one. */
export function regionOfQueueUrl(url: string): string | undefined {
  try {
    return /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(new URL(url).hostname)?.[1];
  } catch {
    return undefined;
  }
}
