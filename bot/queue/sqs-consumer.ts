/**
 * The queue consumer: long-polls SQS for S3 notifications and turns each CloudTrail object into alerts
 * (object-alerts.ts). Several replicas can run it against one queue (competing consumers) and one shared
 * store. At-least-once delivery becomes exactly-once in Slack:
 *
 *   - a message is deleted only after every alert of its objects is settled in the ledger;
 *   - while a message is processed its visibility is renewed (every third of the timeout), so a big file
 *     is not handed to another replica meanwhile; a replica that dies stops renewing, and after the
 *     timeout another replica receives the message and finds the alerts already in the ledger;
 *   - a failing message is left in the queue and logged with the object and the reason; on its
 *     maxReceives-th receive the log says it goes to the dead-letter queue (the queue's RedrivePolicy
 *     moves it), and other messages go on meanwhile;
 *   - notifications about other objects (digest files, CloudTrail-Insight, folders) are deleted with a debug line.
 */

import type { Logger } from 'pino';
import { parseNotification, type S3ObjectRef, skipReason } from '../../adapters/aws/sqs-notification.ts';
import { objectName } from '../../adapters/aws/sqs-objects.ts';
import type { MessageQueue, QueueMessage } from '../../adapters/aws/sqs-queue.ts';
import type { QueueSettings } from './deps.ts';

/** What happened to one object (the bot posts alerts; `cartographer watch` prints findings). */
export interface ObjectResult {
  records: number;
  /** Alerts posted (or findings printed). */
  posted: number;
  repeats?: number;
}

export interface ConsumerDeps {
  queue: MessageQueue;
  queueSettings: QueueSettings;
  logger: Logger;
  /** Handles one CloudTrail object; throws when the object cannot be used (the message then stays). */
  onObject(ref: S3ObjectRef): Promise<ObjectResult>;
  /** Leave handled messages in the queue (a terminal that only watches); default: delete them. */
  keepMessages?: boolean;
}

export interface ConsumerStats {
  messages: number;
  deleted: number;
  failed: number;
  objects: number;
  skipped: number;
  records: number;
  posted: number;
}

export interface QueueConsumer {
  start(): void;
  /** Stops receiving and waits for the messages in hand. */
  stop(): Promise<void>;
  readonly stats: ConsumerStats;
  /** Resolves when no message is in hand (tests, bench). */
  idle(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;

export function createQueueConsumer(deps: ConsumerDeps): QueueConsumer {
  const s = deps.queueSettings;
  const stats: ConsumerStats = {
    messages: 0,
    deleted: 0,
    failed: 0,
    objects: 0,
    skipped: 0,
    records: 0,
    posted: 0,
  };
  const inHand = new Set<Promise<void>>();
  const abort = new AbortController();
  let loop: Promise<void> | undefined;

  async function run(): Promise<void> {
    let backoff = 0;
    while (!abort.signal.aborted) {
      if (inHand.size >= s.concurrency) {
        await Promise.race(inHand);
        continue;
      }
      let messages: QueueMessage[];
      try {
        messages = await deps.queue.receive({
          max: Math.min(s.batchSize, s.concurrency - inHand.size),
          waitSeconds: s.waitSeconds,
          visibilitySeconds: s.visibilitySeconds,
          signal: abort.signal,
        });
        backoff = 0;
      } catch (err) {
        if (abort.signal.aborted) break;
        backoff = Math.min(MAX_BACKOFF_MS, backoff ? backoff * 2 : 1000);
        deps.logger.warn(
          { queue: deps.queue.url, err: errText(err), retryInMs: backoff },
          'sqs: receive failed',
        );
        await sleep(backoff, abort.signal);
        continue;
      }
      for (const m of messages) {
        const p = handle(m).finally(() => inHand.delete(p));
        inHand.add(p);
      }
    }
  }

  async function handle(m: QueueMessage): Promise<void> {
    stats.messages++;
    const renew = setInterval(
      () => {
        deps.queue.extend(m, s.visibilitySeconds).then(
          () => deps.logger.debug({ messageId: m.id }, 'sqs: visibility extended while processing'),
          (err) =>
            deps.logger.warn({ messageId: m.id, err: errText(err) }, 'sqs: could not extend visibility'),
        );
      },
      Math.max(250, (s.visibilitySeconds * 1000) / 3),
    );
    const current: { object?: string } = {};
    try {
      await processMessage(deps, stats, m, current);
      if (!deps.keepMessages) {
        await deps.queue.delete(m);
        stats.deleted++;
      }
    } catch (err) {
      stats.failed++;
      logFailure(deps, m, current.object, err);
    } finally {
      clearInterval(renew);
    }
  }

  return {
    stats,
    start() {
      loop ??= run().catch((err) => deps.logger.error({ err: errText(err) }, 'sqs: consumer stopped'));
    },
    async stop() {
      abort.abort();
      await loop;
      await Promise.allSettled([...inHand]);
    },
    async idle() {
      while (inHand.size > 0) await Promise.allSettled([...inHand]);
    },
  };
}

async function processMessage(
  deps: ConsumerDeps,
  stats: ConsumerStats,
  m: QueueMessage,
  current: { object?: string },
): Promise<void> {
  const note = parseNotification(m.body);
  if (note.kind === 'invalid') throw new Error(`not a usable notification: ${note.reason}`);
  if (note.kind === 'ignore') {
    deps.logger.debug({ messageId: m.id, reason: note.reason }, 'sqs: message about no log file, deleted');
    return;
  }
  for (const ref of note.objects) {
    current.object = objectName(ref);
    await processObject(deps, stats, ref);
  }
}

async function processObject(deps: ConsumerDeps, stats: ConsumerStats, ref: S3ObjectRef): Promise<void> {
  const reason = skipReason(ref.key);
  if (reason) {
    stats.skipped++;
    deps.logger.debug({ object: objectName(ref), reason }, 'sqs: skipped, not a CloudTrail log file');
    return;
  }
  const started = Date.now();
  // Not cancelled by stop(): a message in hand is finished (or, if the process dies, redelivered).
  const outcome = await deps.onObject(ref);
  stats.objects++;
  stats.records += outcome.records;
  stats.posted += outcome.posted + (outcome.repeats ?? 0);
  deps.logger.info({ object: objectName(ref), ...outcome, ms: Date.now() - started }, 'sqs: object analysed');
}

function logFailure(deps: ConsumerDeps, m: QueueMessage, object: string | undefined, err: unknown): void {
  const s = deps.queueSettings;
  const fields = {
    messageId: m.id,
    object: object ?? '(none)',
    reason: errText(err),
    receiveCount: m.receiveCount,
    maxReceives: s.maxReceives,
  };
  if (m.receiveCount >= s.maxReceives) {
    deps.logger.error(
      fields,
      'sqs: message failed on its last receive: the queue moves it to the dead-letter queue',
    );
  } else {
    deps.logger.warn(fields, 'sqs: message failed; it comes back after the visibility timeout');
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
