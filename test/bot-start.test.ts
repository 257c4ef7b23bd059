/**
 * `cartographer start` without Slack credentials: the bot runs against the local Slack stand-in,
 * driven through the stand-in's JSON API (what the playground page uses).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCartographer } from '../cli/start.ts';
import { FIXTURE_DIR, waitFor } from './support/slack-harness.ts';

describe('cartographer start without Slack credentials', () => {
  it('starts the stand-in and the bot; the JSON API sends commands and shows the workspace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-start-'));
    const started = await startCartographer({
      PORT: '0',
      CARTOGRAPHER_PLAYGROUND_PORT: '0',
      CARTOGRAPHER_DB: join(dir, 'bot.db'),
      CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
      CARTOGRAPHER_LOCAL_PATH: FIXTURE_DIR,
      LOG_LEVEL: 'silent',
    });
    try {
      const standin = started.standin!;
      expect(standin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // Live updates for the page: a server-sent event stream.
      const events = await fetch(`${standin.url}/api/events`);
      const reader = events.body!.getReader();

      const post = (path: string, body: unknown) =>
        fetch(`${standin.url}${path}`, { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());
      expect(await post('/api/command', { text: 'help' })).toEqual({ status: 200, body: '' });
      expect(
        await post('/api/command', { text: 'session AKIATFQR7NSC8Q4X20BJ', channel: 'soc-triage' }),
      ).toMatchObject({
        status: 200,
      });
      await waitFor('the thread', () => standin.state.messages.length >= 4);
      const state = (await (await fetch(`${standin.url}/api/state`)).json()) as {
        messages: { text: string; thread_ts?: string }[];
        ephemerals: { text: string }[];
        deliveries: { kind: string; status: number }[];
      };
      expect(state.ephemerals[0]?.text).toMatch(/Cartographer commands/);
      expect(state.messages[0]?.text).toMatch(/[Ss]ession of bert-jan/);
      expect(state.deliveries.map((d) => [d.kind, d.status])).toEqual([
        ['command', 200],
        ['command', 200],
      ]);
      let streamed = '';
      while (!streamed.includes('"type":"message"')) {
        const { value } = await reader.read();
        streamed += new TextDecoder().decode(value);
      }
      await reader.cancel();
      // A button click through the JSON API.
      const parent = standin.state.channelMessages('C0SOCTRIAGE')[0]!;
      const all = parent.blocks!.find((b) => b.type === 'actions').elements[0];
      expect(
        await post('/api/click', { messageTs: parent.ts, actionId: all.action_id, value: all.value }),
      ).toMatchObject({
        status: 200,
      });
      await waitFor('the all-actions reply', () =>
        standin.state.thread('C0SOCTRIAGE', parent.ts).some((m) => /All actions/.test(m.text)),
      );
    } finally {
      await started.stop();
    }
  });
});
