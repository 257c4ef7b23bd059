/**
 * A Bolt receiver that answers Slack first and thinks later.
 *
 * Bolt's HTTPReceiver runs signature checking, parsing, authorize and the whole middleware chain
 * before the listener's ack() writes the HTTP answer: 1.5–3 ms of event-loop time per request, so a
 * burst of 200 slash commands queues for hundreds of milliseconds. Here the request path does only
 * what Slack's acknowledgement needs (v0 signature, form/JSON parse) and answers 200 at once for
 * slash commands, block actions and Events API callbacks; Bolt sees the event later, one event per
 * loop turn, so new requests are read between them. Interactions whose HTTP answer carries data
 * (view_submission's response_action, block_suggestion's options, …) still wait for Bolt's ack.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { type App, type Receiver, type ReceiverEvent, verifySlackRequest } from '@slack/bolt';
import { SIGNATURE_PROPERTY } from './dedupe.ts';
import { MAX_STEP_ASIDE_MS, noteRequest, QUIET_AFTER_MS, requestsArriving } from './request-pressure.ts';

export interface FastAckReceiverOptions {
  signingSecret: string;
  /** Where Slack posts (default `/slack/events`). */
  path?: string;
  /** Largest accepted body (default 4 MB, Bolt's limit). */
  bodyLimit?: number;
  /** Log sink for request problems (Bolt's logger is fine). */
  logger?: { warn(msg: string): void; error(msg: string): void; debug?(msg: string): void };
  /** Clock in ms (tests of the timestamp window). */
  now?: () => number;
  /** How long an event that waits for Bolt's ack may take before Slack gets a 404 (Bolt's 3001 ms). */
  unhandledTimeoutMs?: number;
  /** GET/HEAD routes served beside Slack's path (the bot's /healthz, /readyz, /metrics); default: /healthz 'ok'. */
  routes?: ReadonlyMap<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

const FIVE_MINUTES_S = 5 * 60;
const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

// biome-ignore lint/suspicious/noExplicitAny: Slack bodies are open-ended JSON
type Body = Record<string, any>;

/**
 * Checks Slack's v0 request signature with Bolt's verifySlackRequest; returns why it fails, or undefined
 * when it is good. Bolt refuses timestamps older than five minutes; one more than five minutes in the
 * future (a clock-skewed or forged request) is refused here too.
 */
export function checkSlackSignature(
  signingSecret: string,
  rawBody: string,
  signature: string | undefined,
  timestamp: string | undefined,
  nowMs: number,
): string | undefined {
  if (!signature || !timestamp) return 'missing x-slack-signature or x-slack-request-timestamp';
  const ts = Number(timestamp);
  if (!Number.isInteger(ts)) return 'x-slack-request-timestamp is not a number';
  if (Math.abs(Math.floor(nowMs / 1000) - ts) > FIVE_MINUTES_S) return 'stale x-slack-request-timestamp';
  try {
    verifySlackRequest({
      signingSecret,
      body: rawBody,
      headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': ts },
      nowMilliseconds: nowMs,
    });
  } catch (err) {
    const message = (err as Error).message;
    if (/stale/.test(message)) return 'stale x-slack-request-timestamp';
    if (/version/.test(message)) return 'unknown signature version';
    return 'signature mismatch';
  }
  return undefined;
}

/** Form bodies (commands, interactions in `payload`) or JSON (Events API). */
export function parseSlackBody(rawBody: string, contentType: string | undefined): Body {
  if ((contentType ?? '').split(';')[0]!.trim() === 'application/x-www-form-urlencoded') {
    const form = parseQuery(rawBody) as Body;
    return typeof form.payload === 'string' ? JSON.parse(form.payload) : form;
  }
  return JSON.parse(rawBody);
}

/** Whether the HTTP answer may be an empty 200 before any listener ran. */
export function acknowledgesAtOnce(body: Body): boolean {
  if (typeof body.command === 'string') return true;
  if (body.type === 'block_actions') return true;
  // Events API callbacks are acknowledged empty by Bolt anyway; function_executed has its own rules.
  if (body.type === 'event_callback') return body.event?.type !== 'function_executed';
  return false;
}

export class FastAckReceiver implements Receiver {
  private app: App | undefined;
  private server: Server | undefined;
  private readonly path: string;
  private readonly bodyLimit: number;
  private readonly now: () => number;
  private readonly unhandledTimeoutMs: number;
  /** Events acknowledged already, waiting for their turn in Bolt (with when they were queued). */
  private readonly deferred: { event: ReceiverEvent; at: number }[] = [];
  private draining = false;

  constructor(private readonly options: FastAckReceiverOptions) {
    this.path = options.path ?? '/slack/events';
    this.bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
    this.now = options.now ?? Date.now;
    this.unhandledTimeoutMs = options.unhandledTimeoutMs ?? 3001;
  }

  init(app: App): void {
    this.app = app;
  }

  /** Whether the HTTP server is accepting connections. */
  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Listens on `port` (0: any) and `host`; resolves with the server. */
  start(options: { port?: number; host?: string } | number = {}): Promise<Server> {
    const { port = 3000, host } = typeof options === 'number' ? { port: options } : options;
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server);
      });
    });
  }

  /** Stops accepting requests; events already acknowledged are still handed to Bolt before it resolves. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      });
    }
    while (this.deferred.length > 0) await new Promise((r) => setImmediate(r));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    noteRequest();
    const url = req.url ?? '/';
    const path = url.split('?')[0] ?? '/';
    if (req.method === 'GET' || req.method === 'HEAD') {
      const route = this.options.routes?.get(path);
      if (route) {
        route(req, res);
        return;
      }
      if (!this.options.routes && path === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok\n');
        return;
      }
    }
    if (path !== this.path || req.method !== 'POST') {
      res.writeHead(404);
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > this.bodyLimit) {
        tooLarge = true;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) {
        res.writeHead(413);
        res.end();
        return;
      }
      this.handleBody(req, res, Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', () => {
      if (!res.headersSent) res.writeHead(400);
      res.end();
    });
  }

  private handleBody(req: IncomingMessage, res: ServerResponse, raw: string): void {
    const contentType = header(req, 'content-type');
    let body: Body;
    // Slack's ssl_check is unsigned; nothing else in it is trusted, so it is answered and dropped.
    if (contentType?.startsWith('application/x-www-form-urlencoded') && raw.includes('ssl_check=')) {
      const form = parseQuery(raw);
      if (form.ssl_check === '1') {
        res.writeHead(200);
        res.end();
        return;
      }
    }
    const refused = checkSlackSignature(
      this.options.signingSecret,
      raw,
      header(req, 'x-slack-signature'),
      header(req, 'x-slack-request-timestamp'),
      this.now(),
    );
    if (refused) {
      this.options.logger?.warn(`refused a request to ${this.path}: ${refused}`);
      res.writeHead(401);
      res.end();
      return;
    }
    try {
      body = parseSlackBody(raw, contentType);
    } catch (err) {
      this.options.logger?.warn(`unreadable request body on ${this.path}: ${(err as Error).message}`);
      res.writeHead(400);
      res.end();
      return;
    }
    if (body.type === 'url_verification') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ challenge: body.challenge }));
      return;
    }
    const retryNum = header(req, 'x-slack-retry-num');
    const retryReason = header(req, 'x-slack-retry-reason');
    const retry = {
      ...(retryNum !== undefined ? { retryNum: Number.parseInt(retryNum, 10) } : {}),
      ...(retryReason !== undefined ? { retryReason } : {}),
      // The signature identifies this exact request: a replay of one without event or trigger id is still seen.
      customProperties: { [SIGNATURE_PROPERTY]: header(req, 'x-slack-signature') },
    };

    if (acknowledgesAtOnce(body)) {
      res.writeHead(200);
      res.end();
      // The listener's ack() finds the answer already sent; a body given to it could not reach Slack.
      const ack = async (response?: unknown) => {
        if (response !== undefined && response !== '')
          this.options.logger?.warn('ack() with a body after the fast acknowledgement: the body is dropped');
      };
      this.defer({ body, ack, ...retry });
      return;
    }

    // The answer carries what the listener acks with: wait for it (up to Slack's window).
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      answered = true;
      this.options.logger?.error('an event was not acknowledged within 3 seconds');
      res.writeHead(404);
      res.end();
    }, this.unhandledTimeoutMs);
    const ack = async (response?: unknown) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      if (response === undefined || response === '') {
        res.writeHead(200);
        res.end();
      } else if (typeof response === 'string') {
        res.writeHead(200);
        res.end(response);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(response));
      }
    };
    this.dispatch({ body, ack, ...retry }, () => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      res.writeHead(500);
      res.end();
    });
  }

  /**
   * Queues an acknowledged event. One is handed to Bolt per loop turn, so requests are read in between;
   * while requests keep arriving (a burst), Bolt waits a few milliseconds, at most MAX_STEP_ASIDE_MS.
   */
  private defer(event: ReceiverEvent): void {
    this.deferred.push({ event, at: performance.now() });
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drainOne());
    }
  }

  private drainOne(): void {
    const next = this.deferred[0];
    if (next && requestsArriving() && performance.now() - next.at < MAX_STEP_ASIDE_MS) {
      setTimeout(() => this.drainOne(), QUIET_AFTER_MS);
      return;
    }
    this.deferred.shift();
    if (next) this.dispatch(next.event, () => {});
    if (this.deferred.length > 0) setImmediate(() => this.drainOne());
    else this.draining = false;
  }

  private dispatch(event: ReceiverEvent, onFailure: () => void): void {
    if (!this.app) throw new Error('FastAckReceiver used before init(app)');
    this.app.processEvent(event).catch((err: unknown) => {
      this.options.logger?.error(`handling a Slack event failed: ${(err as Error)?.message ?? String(err)}`);
      onFailure();
    });
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
