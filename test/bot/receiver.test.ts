import { createHmac } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSlackSignature, FastAckReceiver } from '../../bot/receiver/fast-ack-receiver.ts';

const SECRET = 'receiver-test-signing-secret';

// Slack's own worked example ("Verifying requests from Slack", api.slack.com/authentication/verifying-requests-from-slack).
const SLACK_DOC_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_DOC_TIMESTAMP = '1531420618';
const SLACK_DOC_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SLACK_DOC_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';

function sign(body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const ts = String(timestamp);
  return {
    'x-slack-request-timestamp': ts,
    'x-slack-signature': `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`,
  };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function commandBody(text: string): string {
  return new URLSearchParams({
    team_id: 'T1',
    channel_id: 'C1',
    user_id: 'U1',
    command: '/cartographer',
    text,
    api_app_id: 'A1',
    response_url: 'http://127.0.0.1:9/response/x',
    trigger_id: '1.2.3',
  }).toString();
}

function interaction(payload: object): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

const quietLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

interface Running {
  app: App;
  receiver: FastAckReceiver;
  url: string;
  warnings: string[];
}

const started: Running[] = [];
afterEach(async () => {
  for (const r of started.splice(0)) await r.receiver.stop();
});

async function startApp(): Promise<Running> {
  const warnings: string[] = [];
  const receiver = new FastAckReceiver({
    signingSecret: SECRET,
    logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
  });
  const app = new App({
    receiver,
    authorize: async () => ({ botToken: 'xoxb-test', botId: 'B1', botUserId: 'UB1' }),
    logger: quietLogger,
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as unknown as Server;
  const { port } = server.address() as AddressInfo;
  const r = { app, receiver, url: `http://127.0.0.1:${port}`, warnings };
  started.push(r);
  return r;
}

function post(url: string, body: string, headers: Record<string, string>) {
  return fetch(`${url}/slack/events`, { method: 'POST', headers, body });
}

describe('checkSlackSignature', () => {
  it("accepts Slack's documented example request and rejects it altered", () => {
    const at = Number(SLACK_DOC_TIMESTAMP) * 1000 + 30_000;
    expect(
      checkSlackSignature(SLACK_DOC_SECRET, SLACK_DOC_BODY, SLACK_DOC_SIGNATURE, SLACK_DOC_TIMESTAMP, at),
    ).toBeUndefined();
    expect(
      checkSlackSignature(
        SLACK_DOC_SECRET,
        SLACK_DOC_BODY.replace('text=', 'text=x'),
        SLACK_DOC_SIGNATURE,
        SLACK_DOC_TIMESTAMP,
        at,
      ),
    ).toBe('signature mismatch');
    expect(
      checkSlackSignature('another-secret', SLACK_DOC_BODY, SLACK_DOC_SIGNATURE, SLACK_DOC_TIMESTAMP, at),
    ).toBe('signature mismatch');
  });

  it('refuses a timestamp more than five minutes away, and missing headers', () => {
    const at = (Number(SLACK_DOC_TIMESTAMP) + 5 * 60 + 1) * 1000;
    expect(
      checkSlackSignature(SLACK_DOC_SECRET, SLACK_DOC_BODY, SLACK_DOC_SIGNATURE, SLACK_DOC_TIMESTAMP, at),
    ).toBe('stale x-slack-request-timestamp');
    expect(checkSlackSignature(SLACK_DOC_SECRET, SLACK_DOC_BODY, undefined, SLACK_DOC_TIMESTAMP, at)).toMatch(
      /missing/,
    );
  });
});

describe('FastAckReceiver', () => {
  it('answers a signed slash command before any middleware or listener runs, then runs the listener', async () => {
    const r = await startApp();
    const order: string[] = [];
    let releaseMiddleware!: () => void;
    const middlewareMayGo = new Promise<void>((resolve) => {
      releaseMiddleware = resolve;
    });
    // A slow global middleware stands in for authorize / heavy work: it holds Bolt until the HTTP answer is in.
    r.app.use(async ({ next }) => {
      order.push('middleware');
      await middlewareMayGo;
      await next();
    });
    const handled = new Promise<{ text: string; retryNum?: number; retryReason?: string }>((resolve) => {
      r.app.command('/cartographer', async ({ command, ack, context }) => {
        await ack();
        order.push('listener');
        resolve({
          text: command.text,
          ...(context.retryNum !== undefined ? { retryNum: context.retryNum } : {}),
          ...(context.retryReason !== undefined ? { retryReason: context.retryReason } : {}),
        });
      });
    });
    const body = commandBody('session abc');
    const res = await post(r.url, body, {
      ...FORM,
      ...sign(body),
      'x-slack-retry-num': '1',
      'x-slack-retry-reason': 'http_timeout',
    });
    order.push(`answered ${res.status}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    releaseMiddleware();
    expect(await handled).toEqual({ text: 'session abc', retryNum: 1, retryReason: 'http_timeout' });
    expect(order.indexOf('answered 200')).toBeLessThan(order.indexOf('listener'));
  });

  it('answers a block action at once too', async () => {
    const r = await startApp();
    const clicked = new Promise<string>((resolve) => {
      r.app.action('show_raw', async ({ ack, action }) => {
        await ack();
        resolve((action as { value: string }).value);
      });
    });
    const body = interaction({
      type: 'block_actions',
      team: { id: 'T1' },
      user: { id: 'U1' },
      api_app_id: 'A1',
      channel: { id: 'C1' },
      actions: [{ type: 'button', action_id: 'show_raw', block_id: 'b', value: 'v42', action_ts: '1' }],
      response_url: 'http://127.0.0.1:9/response/y',
      trigger_id: '1.2.3',
    });
    const res = await post(r.url, body, { ...FORM, ...sign(body) });
    expect(res.status).toBe(200);
    expect(await clicked).toBe('v42');
  });

  it("keeps a view submission's answer for the listener's ack (response_action errors)", async () => {
    const r = await startApp();
    r.app.view('mark_benign', async ({ ack }) => {
      // The listener decides after an await; the HTTP answer must wait for it.
      await new Promise((resolve) => setTimeout(resolve, 50));
      await ack({ response_action: 'errors', errors: { reason: 'Say why.' } });
    });
    const body = interaction({
      type: 'view_submission',
      team: { id: 'T1' },
      user: { id: 'U1' },
      api_app_id: 'A1',
      view: { id: 'V1', callback_id: 'mark_benign', state: { values: {} }, private_metadata: '' },
    });
    const res = await post(r.url, body, { ...FORM, ...sign(body) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ response_action: 'errors', errors: { reason: 'Say why.' } });
  });

  it('refuses a bad signature and a stale timestamp with 401, and no listener runs', async () => {
    const r = await startApp();
    let ran = 0;
    r.app.command('/cartographer', async ({ ack }) => {
      ran++;
      await ack();
    });
    const body = commandBody('help');
    const bad = await post(r.url, body, {
      ...FORM,
      ...sign(body),
      'x-slack-signature': `v0=${'0'.repeat(64)}`,
    });
    expect(bad.status).toBe(401);
    const stale = await post(r.url, body, { ...FORM, ...sign(body, Math.floor(Date.now() / 1000) - 301) });
    expect(stale.status).toBe(401);
    const unsigned = await post(r.url, body, FORM);
    expect(unsigned.status).toBe(401);
    // A good request afterwards still works: the refusals did not disturb the server.
    const handled = new Promise<void>((resolve) => {
      r.app.command('/cartographer', async () => resolve());
    });
    const good = await post(r.url, body, { ...FORM, ...sign(body) });
    expect(good.status).toBe(200);
    await handled;
    expect(ran).toBe(1);
    expect(r.warnings.filter((w) => w.includes('refused'))).toHaveLength(3);
  });

  it('answers url_verification with the challenge, ssl_check with 200, and GET /healthz', async () => {
    const r = await startApp();
    const verification = JSON.stringify({ type: 'url_verification', token: 't', challenge: 'c-123' });
    const v = await post(r.url, verification, { 'content-type': 'application/json', ...sign(verification) });
    expect(v.status).toBe(200);
    expect(await v.json()).toEqual({ challenge: 'c-123' });

    const ssl = await post(r.url, 'ssl_check=1&token=t', FORM);
    expect(ssl.status).toBe(200);

    const health = await fetch(`${r.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    expect((await fetch(`${r.url}/elsewhere`)).status).toBe(404);
  });

  it('answers 400 to a signed body that is not JSON, and keeps serving', async () => {
    const r = await startApp();
    const body = '{"type": "event_callback", ';
    const res = await post(r.url, body, { 'content-type': 'application/json', ...sign(body) });
    expect(res.status).toBe(400);
    expect(r.warnings.some((w) => w.includes('unreadable request body'))).toBe(true);
    expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
  });

  it('stops listening on stop() and hands every acknowledged event to Bolt first', async () => {
    const r = await startApp();
    const seen: string[] = [];
    r.app.command('/cartographer', async ({ command, ack }) => {
      await ack();
      seen.push(command.text);
    });
    const texts = ['a', 'b', 'c', 'd', 'e'];
    const answers = await Promise.all(
      texts.map((t) => {
        const body = commandBody(t);
        return post(r.url, body, { ...FORM, ...sign(body) });
      }),
    );
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    await r.receiver.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect([...seen].sort()).toEqual(texts);
    await expect(fetch(`${r.url}/healthz`)).rejects.toThrow();
  });
});
