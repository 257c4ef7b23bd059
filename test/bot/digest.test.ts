/**
 * The digest of the bundled demo data, asked for in the local Slack stand-in with
 * `/cartographer digest`, as an analyst sees it: ranked sessions, counts, top findings with
 * "Open session" buttons that post the session's full summary into the digest's thread.
 * Expected numbers come from running the pipeline directly, not from the digest code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMessage } from '../../bot/messages/limits.ts';
import { loadDefaultStages } from '../../compose/stages.ts';
import { analyze, type SessionReport } from '../../engine/pipeline.ts';
import { createLocalSource } from '../../engine/sources/local-source.ts';
import type { StandinMessage } from '../../playground/standin/state.ts';
import { type Harness, startHarness, waitFor } from '../support/slack-harness.ts';

const CHANNEL = 'C0SOCTRIAGE';

function digestMessages(h: Harness): StandinMessage[] {
  return h.standin.state.channelMessages(CHANNEL).filter((m) => m.bot && /^(Digest|Quiet day)/.test(m.text));
}

describe('/cartographer digest 2023-07-10 on the Invictus demo data', () => {
  let h: Harness;
  let sessions: SessionReport[];
  let digest: StandinMessage;

  beforeAll(async () => {
    h = await startHarness({ env: { CARTOGRAPHER_LOCAL_PATH: 'demo/invictus' } });
    const analysis = analyze(createLocalSource(['demo/invictus']).read({}), await loadDefaultStages());
    sessions = [];
    for await (const s of analysis.sessions) sessions.push(s);
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('posts one digest message in the channel, within Slack limits', async () => {
    const res = await h.standin.sendSlashCommand('digest 2023-07-10');
    expect(res.status).toBe(200);
    digest = await waitFor('the digest', () => digestMessages(h)[0], 60_000);
    expect(checkMessage({ text: digest.text, blocks: digest.blocks ?? [] })).toEqual([]);
    expect(digest.blocks?.[0]).toMatchObject({
      type: 'header',
      text: { text: 'Daily digest · 2023-07-10 (UTC)' },
    });
  }, 90_000);

  it('leads with the counts: sessions, events and findings per severity', () => {
    const text = JSON.stringify(digest.blocks);
    const findings = sessions.flatMap((s) => s.findings);
    expect(text).toContain(`*${sessions.length} sessions*`);
    for (const sev of ['critical', 'high', 'medium', 'low', 'info']) {
      const n = findings.filter((f) => f.severity === sev).length;
      if (n > 0) expect(text).toContain(`*${n}* ${sev}`);
    }
    expect(text).toContain('ATT&amp;CK: ');
  });

  it('ranks the riskiest sessions first', () => {
    const block = (digest.blocks ?? []).find((b) => b.text?.text?.startsWith('*Riskiest sessions*'));
    const lines: string[] = block.text.text.split('\n').slice(1);
    expect(lines).toHaveLength(5);
    const risks = lines.map((l) => Number(/\*(\d+)\*/.exec(l)?.[1]));
    expect(risks).toEqual([...risks].sort((a, b) => b - a));
    const top = [...sessions].sort((a, b) => (b.risk?.score ?? 0) - (a.risk?.score ?? 0))[0]!;
    expect(risks[0]).toBe(top.risk?.score);
    expect(lines[0]).toContain('user/bert-jan');
  });

  it('lists top findings, each with an Open session button', () => {
    const withButton = (digest.blocks ?? []).filter(
      (b) => b.accessory?.action_id === 'cartographer_open_session',
    );
    expect(withButton).toHaveLength(5);
    for (const b of withButton) {
      expect(b.accessory.text.text).toBe('Open session');
      expect(b.text.text).toMatch(
        /^:(red_circle|large_orange_circle|large_yellow_circle|large_blue_circle|white_circle): \*.+\* · (critical|high|medium|low|info)\n/,
      );
    }
    expect(withButton[0]?.text.text).toContain(' · high');
  });

  it('Open session posts that session’s full summary into the digest thread', async () => {
    const first = (digest.blocks ?? []).find((b) => b.accessory?.action_id === 'cartographer_open_session');
    const res = await h.standin.clickButton(digest.ts, 'cartographer_open_session', first.accessory.value);
    expect(res.status).toBe(200);
    const replies = await waitFor(
      'the session summary in the thread',
      () => {
        const r = h.standin.state.thread(CHANNEL, digest.ts);
        return r.some((m) => m.text.startsWith('Findings')) ? r : undefined;
      },
      60_000,
    );
    expect(replies[0]?.blocks?.[0]).toMatchObject({ type: 'header' });
    expect(replies[0]?.text).toContain('session of bert-jan');
    for (const m of replies) expect(checkMessage({ text: m.text, blocks: m.blocks ?? [] })).toEqual([]);
  }, 90_000);
});

describe('/cartographer digest with no date on the bundled demo/', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { CARTOGRAPHER_LOCAL_PATH: 'demo/' } });
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('covers the data’s own latest day and says so', async () => {
    await h.standin.sendSlashCommand('digest');
    const digest = await waitFor('the digest', () => digestMessages(h)[0], 60_000);
    // demo/ holds 2023-07-10 (Invictus) and 2024-04-13 (Cloud Console Cartographer's demo session).
    expect(digest.text).toMatch(/^Digest 2024-04-13: /);
    expect(JSON.stringify(digest.blocks)).toContain(
      'they end on 2024-04-13, so this digest covers 2024-04-13',
    );
    expect(checkMessage({ text: digest.text, blocks: digest.blocks ?? [] })).toEqual([]);
  }, 90_000);

  it('answers a bad date with the usage, naming the problem', async () => {
    await h.standin.sendSlashCommand('digest 2024-02-30');
    const e = await waitFor('the usage reply', () =>
      h.standin.state.ephemerals.find((x) => x.text.includes('2024-02-30')),
    );
    expect(e.text).toContain('/cartographer digest [YYYY-MM-DD]');
  });
});
