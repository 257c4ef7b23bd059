/**
 * Slack requests are acted on once: a signed request replayed inside the signature window, Events API
 * retries (X-Slack-Retry-Num) and double clicks, on one bot and across two replicas sharing a store.
 * Real Bolt apps over HTTP with real signatures; the "seen" claims in a real SQLite file.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, LogLevel } from '@slack/bolt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BotStore } from '../../adapters/store/bot-store.ts';
import { openSqliteStore } from '../../adapters/store/sqlite-store.ts';
import { clickKey, dedupeRequests, requestKey } from '../../bot/receiver/dedupe.ts';
import { FastAckReceiver } from '../../bot/receiver/fast-ack-receiver.ts';
import {
  botPerTest,
  SIGNING_SECRET,
  signedHeaders,
  slashCommandBody,
  waitFor,
} from '../support/slack-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'cartographer-dedupe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quietLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

describe('BotStore.claimOnce (SQLite)', () => {
  it('is true once per key until it expires, then claimable again', async () => {
    const store = openSqliteStore(join(dir, 'claims.db'));
    const soon = new Date(Date.now() + 60_000);
    expect(await store.claimOnce('k1', soon)).toBe(true);
    expect(await store.claimOnce('k1', soon)).toBe(false);
    expect(await store.claimOnce('k2', soon)).toBe(true);
    expect(await store.claimOnce('old', new Date(Date.now() - 1))).toBe(true);
    expect(await store.claimOnce('old', soon)).toBe(true); // the earlier claim had expired
    expect(await store.claimOnce('old', soon)).toBe(false);
    await store.prune(new Date(0));
    expect(await store.claimOnce('k1', soon)).toBe(false); // prune drops only expired claims
    await store.close();
  });

  it('two connections to one database (two replicas): exactly one wins each key', async () => {
    const file = join(dir, 'shared-claims.db');
    const a = openSqliteStore(file);
    const b = openSqliteStore(file);
    const until = new Date(Date.now() + 60_000);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).claimOnce(`key-${i % 10}`, until)),
    );
    expect(results.filter(Boolean)).toHaveLength(10);
    await a.close();
    await b.close();
  });
});

describe('request and click keys', () => {
  it('events by event id, commands and interactions by trigger id, clicks by button and message', () => {
    expect(requestKey({ event_id: 'Ev1', team_id: 'T1' })).toBe('event:T1:Ev1');
    expect(requestKey({ command: '/c', trigger_id: '1.2.3', team_id: 'T1' })).toBe('trigger:T1:1.2.3');
    expect(requestKey({ type: 'block_suggestion' })).toBeUndefined();
    const click = (trigger: string, action = 'show_raw') => ({
      type: 'block_actions',
      trigger_id: trigger,
      team: { id: 'T1' },
      channel: { id: 'C1' },
      container: { message_ts: '111.222', channel_id: 'C1' },
      actions: [{ action_id: action, block_id: 'b', value: 'v' }],
    });
    expect(clickKey(click('1'))).toBe(clickKey(click('2')));
    expect(clickKey(click('1'))).not.toBe(clickKey(click('1', 'all_actions')));
    // A select menu: picking another user or option is another act, picking the same one again is not.
    const pick = (trigger: string, user: string) => ({
      ...click(trigger, 'assign'),
      actions: [{ action_id: 'assign', block_id: 'b', type: 'users_select', selected_user: user }],
    });
    expect(clickKey(pick('1', 'U1'))).toBe(clickKey(pick('2', 'U1')));
    expect(clickKey(pick('1', 'U1'))).not.toBe(clickKey(pick('2', 'U2')));
  });
});

interface Replica {
  app: App;
  receiver: FastAckReceiver;
  url: string;
  store: BotStore;
}
const replicas: Replica[] = [];
afterEach(async () => {
  for (const r of replicas.splice(0)) {
    await r.receiver.stop();
    await r.store.close();
  }
});

/** A Bolt app with the receiver and the dedupe middleware, like bot/app.ts wires them. */
async function replica(dbFile: string, handled: string[]): Promise<Replica> {
  const store = openSqliteStore(dbFile);
  const receiver = new FastAckReceiver({ signingSecret: SIGNING_SECRET });
  const app = new App({
    receiver,
    authorize: async () => ({ botToken: 'xoxb-test', botId: 'B1', botUserId: 'UB1' }),
    logger: quietLogger,
  });
  app.use(dedupeRequests((k, e) => store.claimOnce(k, e), { warn: () => {} }));
  app.command('/cartographer', async ({ ack, command }) => {
    await ack();
    handled.push(`command ${command.text}`);
  });
  app.event('app_mention', async ({ event }) => {
    handled.push(`mention ${event.text}`);
  });
  app.view({ type: 'view_closed', callback_id: 'benign' }, async ({ ack }) => {
    await ack();
    handled.push('view closed');
  });
  app.action(/.*/, async ({ ack, action }) => {
    await ack();
    handled.push(`click ${(action as { action_id: string }).action_id}`);
  });
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as unknown as Server;
  const r = { app, receiver, store, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  replicas.push(r);
  return r;
}

const post = (r: Replica, body: string, headers: Record<string, string>) =>
  fetch(`${r.url}/slack/events`, { method: 'POST', headers, body });
const settle = () => new Promise((resolve) => setTimeout(resolve, 150));

describe('Bolt apps behind a load balancer, one shared store', () => {
  it('Events API retries (X-Slack-Retry-Num) reaching either replica run once', async () => {
    const handled: string[] = [];
    const file = join(dir, 'events.db');
    const a = await replica(file, handled);
    const b = await replica(file, handled);
    const body = JSON.stringify({
      type: 'event_callback',
      team_id: 'T1',
      api_app_id: 'A1',
      event_id: 'Ev0001',
      event_time: 1,
      event: { type: 'app_mention', text: 'hello', user: 'U1', channel: 'C1', ts: '1.1' },
    });
    const headers = (retry?: string) =>
      signedHeaders(body, {
        contentType: 'application/json',
        extra: retry ? { 'x-slack-retry-num': retry } : {},
      });
    const first = await post(a, body, headers());
    const retry1 = await post(b, body, headers('1'));
    const retry2 = await post(a, body, headers('2'));
    expect([first.status, retry1.status, retry2.status]).toEqual([200, 200, 200]);
    await settle();
    expect(handled).toEqual(['mention hello']);
  });

  it('a replayed request without event or trigger id (view_closed) is known by its signature', async () => {
    const handled: string[] = [];
    const file = join(dir, 'views.db');
    const a = await replica(file, handled);
    const b = await replica(file, handled);
    const body = new URLSearchParams({
      payload: JSON.stringify({
        type: 'view_closed',
        team: { id: 'T1' },
        user: { id: 'U1' },
        api_app_id: 'A1',
        view: { id: 'V1', callback_id: 'benign' },
      }),
    }).toString();
    const headers = signedHeaders(body);
    for (const r of [a, b, a]) expect((await post(r, body, headers)).status).toBe(200);
    await settle();
    expect(handled).toEqual(['view closed']);
  });

  it('a double click on one button of one message runs once; another button still runs', async () => {
    const handled: string[] = [];
    const file = join(dir, 'clicks.db');
    const a = await replica(file, handled);
    const b = await replica(file, handled);
    const click = (trigger: string, action: string) =>
      new URLSearchParams({
        payload: JSON.stringify({
          type: 'block_actions',
          team: { id: 'T1' },
          user: { id: 'U1' },
          api_app_id: 'A1',
          channel: { id: 'C1' },
          container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C1' },
          message: { ts: '1700000000.000100' },
          trigger_id: trigger,
          actions: [
            { type: 'button', action_id: action, block_id: 'b1', value: 'ref-1', action_ts: trigger },
          ],
        }),
      }).toString();
    for (const [replicaUsed, trigger, action] of [
      [a, '10.1', 'cartographer_show_raw'],
      [b, '10.2', 'cartographer_show_raw'],
      [a, '10.3', 'cartographer_all_actions'],
    ] as const) {
      const body = click(trigger, action);
      expect((await post(replicaUsed, body, signedHeaders(body))).status).toBe(200);
    }
    await settle();
    expect(handled.sort()).toEqual(['click cartographer_all_actions', 'click cartographer_show_raw']);
  });
});

describe('the bot (real app, stand-in Slack)', () => {
  const bot = botPerTest();

  it('a signed slash command replayed three times within the window is handled once', async () => {
    const h = await bot.start();
    const body = slashCommandBody(h, 'help', '4242.1.replayed');
    const headers = signedHeaders(body);
    for (let i = 0; i < 3; i++) expect((await h.standin.sendRaw(body, headers)).status).toBe(200);
    await waitFor('the audited command', () => h.audits().length >= 1);
    await settle();
    expect(h.audits().map((a) => a.what)).toEqual(['/cartographer help']);
    // A new command (new trigger id) is of course handled.
    await h.standin.sendSlashCommand('help');
    await waitFor('the second command', () => h.audits().length === 2);
  });
});
