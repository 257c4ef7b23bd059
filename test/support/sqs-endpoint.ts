/**
 * A local SQS for tests and benchmarks, speaking SQS's JSON protocol (AWS JSON 1.0, `X-Amz-Target:
 * AmazonSQS.<Operation>`) to the real `@aws-sdk/client-sqs`: SendMessage, ReceiveMessage (long polling,
 * visibility timeout, ApproximateReceiveCount, SentTimestamp, MD5OfBody), DeleteMessage (a stale receipt
 * handle deletes nothing, as SQS documents), ChangeMessageVisibility, GetQueueAttributes, and redrive: a
 * queue with `deadLetter` moves a message to that queue when a receive would exceed `maxReceiveCount`.
 *
 * Fault injection: `throttle(operation, n)` answers the next n calls with ThrottlingException (the SDK
 * retries those); `fault` answers any request with an error of the test's choosing. Every request is
 * recorded with the access key that signed it (tests give each replica its own key to tell them apart).
 * Binds to 127.0.0.1 on a free port; queue URLs are `http://127.0.0.1:<port>/000000000000/<name>`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SqsRequest {
  time: number;
  operation: string;
  accessKeyId: string;
  body: Record<string, unknown>;
  status: number;
  errorCode?: string;
}

export interface SqsFault {
  status?: number;
  code: string;
  message: string;
}

/** One delivery of a message: who received it and which receive it was. */
export interface Receive {
  at: number;
  accessKeyId: string;
  receiveCount: number;
  receipt: string;
}

export interface StoredMessage {
  id: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  visibleAt: number;
  receipt?: string;
  receives: Receive[];
  deletedAt?: number;
  /** Set when redrive moved it here from another queue. */
  movedFrom?: string;
}

export interface QueueState {
  name: string;
  url: string;
  messages: StoredMessage[];
  /** Messages deleted by consumers, in order. */
  deleted: StoredMessage[];
  redrive?: { deadLetter: string; maxReceiveCount: number };
}

export interface SqsEndpoint {
  url: string;
  requests: SqsRequest[];
  createQueue(name: string, redrive?: { deadLetter: string; maxReceiveCount: number }): QueueState;
  queue(name: string): QueueState;
  send(queue: string, body: string): StoredMessage;
  /** The next `count` calls of `operation` answer ThrottlingException. */
  throttle(operation: string, count: number): void;
  calls(operation: string): SqsRequest[];
  close(): Promise<void>;
}

export interface SqsEndpointOptions {
  fault?: (request: SqsRequest) => SqsFault | undefined;
}

const TARGET = 'AmazonSQS.';
const ACCOUNT = '000000000000';

export async function startSqsEndpoint(options: SqsEndpointOptions = {}): Promise<SqsEndpoint> {
  const queues = new Map<string, QueueState>();
  const requests: SqsRequest[] = [];
  const throttles = new Map<string, number>();
  const arrivals = new EventEmitter();
  arrivals.setMaxListeners(0);
  let base = '';

  const byUrl = (url: unknown): QueueState | undefined => {
    const name = typeof url === 'string' ? url.slice(url.lastIndexOf('/') + 1) : '';
    return queues.get(name);
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      serve(req, res, Buffer.concat(chunks).toString('utf8')).catch((err) =>
        reply(res, 500, { __type: 'InternalFailure', message: String(err) }),
      );
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse, text: string): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const operation = target.startsWith(TARGET) ? target.slice(TARGET.length) : target;
    const key = /Credential=([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    let body: Record<string, unknown> = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      // answered below as a bad request
    }
    const record: SqsRequest = { time: Date.now(), operation, accessKeyId: key, body, status: 200 };
    requests.push(record);
    const fail = (status: number, code: string, message: string) => {
      record.status = status;
      record.errorCode = code;
      // SQS's own errors carry their query-protocol code; throttling is the generic AWS one.
      if (code !== 'ThrottlingException')
        res.setHeader('x-amzn-query-error', `AWS.SimpleQueueService.${code};Sender`);
      reply(res, status, { __type: `com.amazonaws.sqs#${code}`, message });
    };
    const left = throttles.get(operation) ?? 0;
    if (left > 0) {
      throttles.set(operation, left - 1);
      return fail(400, 'ThrottlingException', 'Rate exceeded');
    }
    const fault = options.fault?.(record);
    if (fault) return fail(fault.status ?? 400, fault.code, fault.message);
    const queue = byUrl(body.QueueUrl);
    if (!queue) return fail(400, 'QueueDoesNotExist', 'The specified queue does not exist.');
    switch (operation) {
      case 'SendMessage': {
        const m = send(queue.name, String(body.MessageBody ?? ''));
        return reply(res, 200, { MessageId: m.id, MD5OfMessageBody: md5(m.body) });
      }
      case 'ReceiveMessage':
        return receive(req, res, queue, body, key);
      case 'DeleteMessage': {
        const m = queue.messages.find((x) => x.receipt === body.ReceiptHandle);
        // A receipt of an earlier receive: SQS answers success and the message stays.
        if (m) {
          m.deletedAt = Date.now();
          queue.messages.splice(queue.messages.indexOf(m), 1);
          queue.deleted.push(m);
        }
        return reply(res, 200, {});
      }
      case 'ChangeMessageVisibility': {
        const m = queue.messages.find((x) => x.receipt === body.ReceiptHandle);
        if (!m)
          return fail(400, 'ReceiptHandleIsInvalid', 'The receipt handle is not valid for this message.');
        if (m.visibleAt <= Date.now())
          return fail(400, 'MessageNotInflight', 'The message is not in flight.');
        m.visibleAt = Date.now() + Number(body.VisibilityTimeout ?? 0) * 1000;
        if (Number(body.VisibilityTimeout ?? 0) === 0) arrivals.emit(queue.name);
        return reply(res, 200, {});
      }
      case 'GetQueueAttributes': {
        const now = Date.now();
        const visible = queue.messages.filter((m) => m.visibleAt <= now).length;
        return reply(res, 200, {
          Attributes: {
            ApproximateNumberOfMessages: String(visible),
            ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
          },
        });
      }
      default:
        return fail(400, 'InvalidAction', `${operation} is not supported by this stand-in`);
    }
  }

  /** Hands out visible messages; with WaitTimeSeconds, waits for one (a send or a visibility expiry). */
  async function receive(
    _req: IncomingMessage,
    res: ServerResponse,
    queue: QueueState,
    body: Record<string, unknown>,
    key: string,
  ): Promise<void> {
    const max = Math.min(10, Math.max(1, Number(body.MaxNumberOfMessages ?? 1)));
    const visibility = Number(body.VisibilityTimeout ?? 30);
    const deadline = Date.now() + Number(body.WaitTimeSeconds ?? 0) * 1000;
    let gone = false;
    res.once('close', () => {
      gone = true;
    });
    for (;;) {
      // A client that hung up (aborted long poll) must not take messages it will never see.
      if (gone) return;
      const picked = pick(queue, max, visibility, key);
      if (picked.length > 0 || Date.now() >= deadline) {
        return reply(res, 200, { Messages: picked.map(wire) });
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          arrivals.off(queue.name, done);
          resolve();
        };
        const t = setTimeout(done, Math.min(50, Math.max(1, deadline - Date.now())));
        arrivals.on(queue.name, done);
      });
    }
  }

  function pick(queue: QueueState, max: number, visibility: number, key: string): StoredMessage[] {
    const now = Date.now();
    const out: StoredMessage[] = [];
    for (const m of [...queue.messages]) {
      if (out.length >= max) break;
      if (m.visibleAt > now) continue;
      if (queue.redrive && m.receiveCount >= queue.redrive.maxReceiveCount) {
        queue.messages.splice(queue.messages.indexOf(m), 1);
        const dlq = queues.get(queue.redrive.deadLetter);
        dlq?.messages.push({
          ...m,
          receiveCount: 0,
          visibleAt: now,
          receives: [...m.receives],
          movedFrom: queue.name,
        });
        continue;
      }
      m.receiveCount++;
      m.receipt = `${m.id}#${m.receiveCount}#${randomUUID()}`;
      m.visibleAt = now + visibility * 1000;
      m.receives.push({ at: now, accessKeyId: key, receiveCount: m.receiveCount, receipt: m.receipt });
      out.push(m);
    }
    return out;
  }

  function send(name: string, text: string): StoredMessage {
    const queue = queues.get(name);
    if (!queue) throw new Error(`no queue ${name}`);
    const now = Date.now();
    const m: StoredMessage = {
      id: randomUUID(),
      body: text,
      sentAt: now,
      receiveCount: 0,
      visibleAt: now,
      receives: [],
    };
    queue.messages.push(m);
    arrivals.emit(name);
    return m;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    createQueue(name, redrive) {
      const q: QueueState = {
        name,
        url: `${base}/${ACCOUNT}/${name}`,
        messages: [],
        deleted: [],
        ...(redrive ? { redrive } : {}),
      };
      queues.set(name, q);
      return q;
    },
    queue(name) {
      const q = queues.get(name);
      if (!q) throw new Error(`no queue ${name}`);
      return q;
    },
    send,
    throttle(operation, count) {
      throttles.set(operation, count);
    },
    calls: (operation) => requests.filter((r) => r.operation === operation),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function wire(m: StoredMessage) {
  return {
    MessageId: m.id,
    ReceiptHandle: m.receipt,
    Body: m.body,
    MD5OfBody: md5(m.body),
    Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) },
  };
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}
