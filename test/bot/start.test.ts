/**
 * `cartographer start` without Slack credentials: the bot runs against the local Slack stand-in,
 * driven through the stand-in's JSON API (what the playground page uses).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startCartographer } from '../../cli/start.ts';
import { FIXTURE_DIR, waitFor } from '../support/slack-harness.ts';

describe('cartographer start without Slack credentials', () => {
  it('starts the stand-in and the bot; the JSON API sends commands and shows the workspace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-start-'));
    let printed = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        printed += String(chunk);
        done();
      },
    });
    const started = await startCartographer(
      {
        PORT: '0',
        CARTOGRAPHER_PLAYGROUND_PORT: '0',
        CARTOGRAPHER_DB: join(dir, 'bot.db'),
        CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
        CARTOGRAPHER_LOCAL_PATH: FIXTURE_DIR,
        LOG_LEVEL: 'info',
      },
      out,
    );
    try {
      const standin = started.standin!;
      expect(standin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // The banner comes first: the page to open, then the shell way; start-up log lines after it.
      const lines = printed.split('\n').filter((l) => l.trim());
      expect(lines[0]).toMatch(/^Cartographer is running/);
      const open = lines.findIndex((l) => l.includes(`Open in a browser:  ${standin.url}/`));
      const curl = lines.findIndex((l) => l.includes(`curl -s ${standin.url}/api/command`));
      expect(open).toBeGreaterThan(0);
      expect(curl).toBeGreaterThan(open);
      expect(lines[curl]).toContain("-H 'content-type: application/json'");
      const firstLog = lines.findIndex((l) => l.startsWith('{'));
      expect(firstLog).toBeGreaterThan(curl);
      // Open access is what the playground is for: said at info, not as a warning.
      const openAccess = lines
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .find((l) => /CARTOGRAPHER_ALLOWED_/.test(l.msg));
      expect(openAccess?.level).toBe(30);
      // The page itself is served where the banner points.
      const page = await fetch(`${standin.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<html/i);
      // Live updates for the page: a server-sent event stream.
      const events = await fetch(`${standin.url}/api/events`);
      const reader = events.body!.getReader();

      const post = (path: string, body: unknown) =>
        fetch(`${standin.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }).then((r) => r.json());
      expect(await post('/api/command', { text: 'help' })).toEqual({ status: 200, body: '' });
      expect(
        await post('/api/command', { text: 'session AKIATFQR7NSC8Q4X20BJ', channel: 'soc-triage' }),
      ).toMatchObject({
        status: 200,
      });
      // (#soc-alerts gets the replayed demo alerts meanwhile: the lookup's answer is in #soc-triage.)
      await waitFor('the thread', () => {
        const [parent] = standin.state.channelMessages('C0SOCTRIAGE');
        return parent !== undefined && standin.state.thread('C0SOCTRIAGE', parent.ts).length >= 3;
      });
      const state = (await (await fetch(`${standin.url}/api/state`)).json()) as {
        messages: { channel: string; text: string; thread_ts?: string }[];
        ephemerals: { text: string }[];
        deliveries: { kind: string; status: number }[];
      };
      expect(state.ephemerals[0]?.text).toMatch(/Cartographer commands/);
      expect(state.messages.find((m) => m.channel === 'C0SOCTRIAGE')?.text).toMatch(/[Ss]ession of bert-jan/);
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
