/**
 * The Slack stand-in on its own, with a minimal receiver in place of the bot (records what the
 * stand-in signs and sends): local-only hardening, the playground JSON API's content type, the
 * SSE `file` event without the bytes, times on ephemerals and deliveries, clicks on ephemerals.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type SlackStandin, startSlackStandin } from '../../playground/standin/server.ts';

const TOKEN = 'xoxb-standin-test-token';

interface Received {
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: Slack payload JSON
  payload?: any;
}

let standin: SlackStandin | undefined;
let receiver: Server | undefined;

afterEach(async () => {
  await standin?.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  standin = undefined;
  receiver = undefined;
});

async function start(): Promise<{ standin: SlackStandin; received: Received[] }> {
  const received: Received[] = [];
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const payload = new URLSearchParams(body).get('payload');
      received.push({ body, ...(payload ? { payload: JSON.parse(payload) } : {}) });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  standin = await startSlackStandin({
    signingSecret: 'standin-test-secret',
    botToken: TOKEN,
    botUrl: `http://127.0.0.1:${port}/slack/events`,
  });
  return { standin, received };
}

/** A raw HTTP request, so the Host header can be anything (fetch does not let a caller set it). */
function raw(
  url: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: Number(port),
        method: options.method ?? 'GET',
        path: options.path,
        headers: options.headers ?? {},
      },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function api(s: SlackStandin, method: string, args: Record<string, unknown>) {
  return fetch(`${s.apiUrl}${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  }).then((r) => r.json() as Promise<Record<string, unknown>>);
}

const BUTTON = {
  type: 'actions',
  block_id: 'b1',
  elements: [
    { type: 'button', action_id: 'do_it', value: 'v1', text: { type: 'plain_text', text: 'Do it' } },
  ],
};

describe('stand-in: local only', () => {
  it('answers 403 to a request whose Host is not its own loopback address, and serves loopback names', async () => {
    const { standin: s } = await start();
    const port = new URL(s.url).port;
    for (const host of [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1:${Number(port) + 1}`,
      'localhost',
    ]) {
      const res = await raw(s.url, { path: '/api/state', headers: { host } });
      expect(res.status, `Host: ${host}`).toBe(403);
      expect(JSON.parse(res.body).error).toBe('forbidden_host');
      expect(res.body).not.toContain('soc-triage');
    }
    // A rebinding page could also post commands: refused before anything is sent to the bot.
    const post = await raw(s.url, {
      method: 'POST',
      path: '/api/command',
      headers: { host: 'evil.example', 'content-type': 'application/json' },
      body: '{"text":"help"}',
    });
    expect(post.status).toBe(403);
    expect(s.state.deliveries).toHaveLength(0);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      const res = await raw(s.url, { path: '/api/state', headers: { host } });
      expect(res.status, `Host: ${host}`).toBe(200);
      expect(JSON.parse(res.body).channels.map((c: { name: string }) => c.name)).toContain('soc-triage');
    }
  });

  it('takes playground POSTs only as JSON: a form or text/plain body gets 415 and reaches no bot', async () => {
    const { standin: s, received } = await start();
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      for (const path of ['/api/command', '/api/click', '/api/submit']) {
        const res = await fetch(`${s.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': type },
          body: '{"text":"help"}',
        });
        expect(res.status, `${path} as ${type}`).toBe(415);
        expect(((await res.json()) as { detail: string }).detail).toMatch(/content-type: application\/json/);
      }
    }
    const missing = await raw(s.url, {
      method: 'POST',
      path: '/api/command',
      headers: { host: new URL(s.url).host },
      body: '{"text":"help"}',
    });
    expect(missing.status).toBe(415);
    expect(received).toHaveLength(0);
    // Bad JSON says so instead of failing inside.
    const bad = await fetch(`${s.url}/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_json');
    // The JSON form (with a charset) goes through, signed, to the bot.
    const ok = await fetch(`${s.url}/api/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ text: 'help' }),
    });
    expect(await ok.json()).toEqual({ status: 200, body: '' });
    expect(received).toHaveLength(1);
    expect(new URLSearchParams(received[0]!.body).get('text')).toBe('help');
  });
});

describe('stand-in: events and times', () => {
  it('streams a `file` event without the bytes; the bytes stay at /files/<id>', async () => {
    const { standin: s } = await start();
    const events = await fetch(`${s.url}/api/events`);
    const reader = events.body!.getReader();
    const content = `${'{"eventName":"GetSecretValue"}\n'.repeat(2000)}`;
    const upload = await api(s, 'files.getUploadURLExternal', {
      filename: 'raw.jsonl',
      length: Buffer.byteLength(content),
    });
    await fetch(String(upload.upload_url), { method: 'POST', body: content });
    const done = await api(s, 'files.completeUploadExternal', {
      files: [{ id: upload.file_id, title: 'Raw events' }],
      channel_id: 'C0SOCTRIAGE',
    });
    expect(done.ok).toBe(true);
    let streamed = '';
    while (!streamed.includes('"type":"message"')) {
      const { value } = await reader.read();
      streamed += new TextDecoder().decode(value);
    }
    await reader.cancel();
    const fileEvent = streamed
      .split('\n\n')
      .filter((chunk) => chunk.startsWith('data: '))
      .map((chunk) => JSON.parse(chunk.slice('data: '.length)))
      .find((e) => e.type === 'file');
    expect(fileEvent.file).toMatchObject({ id: upload.file_id, title: 'Raw events', hasContent: true });
    expect(fileEvent.file).not.toHaveProperty('content');
    expect(streamed.length).toBeLessThan(content.length);
    // The state keeps the bytes; the page fetches them.
    expect(s.state.files.get(String(upload.file_id))?.content).toBe(content);
    expect(await (await fetch(`${s.url}/files/${upload.file_id}`)).text()).toBe(content);
  });

  it('stamps ephemerals and deliveries with the time they happened (ms), in order with messages', async () => {
    const { standin: s } = await start();
    const before = Date.now();
    const posted = await api(s, 'chat.postMessage', { channel: 'C0SOCTRIAGE', text: 'first' });
    const eph = await api(s, 'chat.postEphemeral', {
      channel: 'C0SOCTRIAGE',
      user: 'U0ANALYST1',
      text: 'only you',
    });
    await s.sendSlashCommand('help');
    const after = Date.now();
    expect(eph.ok).toBe(true);
    const [e] = s.state.ephemerals;
    const [d] = s.state.deliveries;
    for (const at of [e!.at, d!.at]) {
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(after);
    }
    expect(e!.at).toBeGreaterThanOrEqual(Number(posted.ts) * 1000 - 1);
    expect(d!.at).toBeGreaterThanOrEqual(e!.at);
    // The ephemeral's message_ts is the one chat.postEphemeral answered, and /api/state carries `at`.
    expect(e!.ts).toBe(eph.message_ts);
    const state = (await (await fetch(`${s.url}/api/state`)).json()) as {
      ephemerals: { at: number }[];
      deliveries: { at: number }[];
    };
    expect(state.ephemerals[0]!.at).toBe(e!.at);
    expect(state.deliveries[0]!.at).toBe(d!.at);
  });
});

describe('stand-in: buttons on ephemeral messages', () => {
  it('sends the click as Slack does: container is_ephemeral, no `message`, thread kept; owner only', async () => {
    const { standin: s, received } = await start();
    const parent = await api(s, 'chat.postMessage', { channel: 'C0SOCTRIAGE', text: 'parent' });
    const eph = await api(s, 'chat.postEphemeral', {
      channel: 'C0SOCTRIAGE',
      user: 'U0ANALYST1',
      thread_ts: parent.ts,
      text: 'choose',
      blocks: [BUTTON],
    });
    const ts = String(eph.message_ts);
    await expect(s.clickButton(ts, 'do_it', 'v1', { user: 'bob' })).rejects.toThrow(
      /only visible to U0ANALYST1/,
    );
    expect(received).toHaveLength(0);

    // Through the playground JSON API, as the page clicks.
    const res = await fetch(`${s.url}/api/click`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messageTs: ts, actionId: 'do_it', value: 'v1', user: 'U0ANALYST1' }),
    });
    expect(await res.json()).toEqual({ status: 200, body: '' });
    const payload = received[0]!.payload;
    expect(payload.type).toBe('block_actions');
    expect(payload.container).toEqual({
      type: 'message',
      message_ts: ts,
      channel_id: 'C0SOCTRIAGE',
      is_ephemeral: true,
      thread_ts: parent.ts,
    });
    expect(payload).not.toHaveProperty('message');
    expect(payload.actions[0]).toMatchObject({ action_id: 'do_it', value: 'v1', block_id: 'b1' });
    // Its response_url answers in the same thread, to the same user.
    await fetch(payload.response_url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'done' }),
    });
    expect(s.state.ephemerals.at(-1)).toMatchObject({
      text: 'done',
      user: 'U0ANALYST1',
      thread_ts: parent.ts,
      via: 'response_url',
    });
    // A click on an ordinary message still carries the message, not ephemeral.
    const withButton = await api(s, 'chat.postMessage', {
      channel: 'C0SOCTRIAGE',
      text: 'x',
      blocks: [BUTTON],
    });
    await s.clickButton(String(withButton.ts), 'do_it');
    expect(received[1]!.payload.container.is_ephemeral).toBe(false);
    expect(received[1]!.payload.message.ts).toBe(withButton.ts);
  });
});
