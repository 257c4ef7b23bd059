/**
 * The scheduled digest is posted once per day, also when the process died between Slack accepting
 * the post and the state recording it: start-up finds the post by its metadata in the channel
 * history (the stand-in implements conversations.history like Slack) instead of posting again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { runScheduledDigest } from '../../../bot/scheduler/digest-job.ts';
import { createOutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { type SlackStandin, startSlackStandin } from '../../../playground/standin/server.ts';

const TOKEN = 'xoxb-digest-once';
let standin: SlackStandin;

beforeAll(async () => {
  standin = await startSlackStandin({ signingSecret: 'digest-once-secret', botToken: TOKEN });
});
afterAll(async () => {
  await standin?.close();
});

describe('scheduled digest exactly once', () => {
  it('posts the day once, and after a crash between post and record finds the post instead of reposting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-digest-once-'));
    const file = join(dir, 'state.db');
    // 2023-07-11 08:00 UTC: the scheduled digest covers 2023-07-10, the Invictus demo day.
    const clock = manualClock(Date.parse('2023-07-11T08:00:00Z'));
    const deps = (state: ReturnType<typeof openSchedulerState>) => ({
      config: loadSchedulerConfig({ CARTOGRAPHER_DIGEST_CHANNEL: 'C0SOCTRIAGE' }),
      clock,
      state,
      sourceName: 'local' as const,
      source: async () => createLocalSource(['demo/invictus']),
      stages: async () => ({}),
      outbox: createOutboxPoster(new WebClient(TOKEN, { slackApiUrl: standin.apiUrl })),
      logger: pino({ level: 'silent' }),
    });
    const digests = () =>
      standin.state
        .channelMessages('C0SOCTRIAGE')
        .filter((m) => /^(Digest|Quiet day) 2023-07-10/.test(m.text));

    let state = openSchedulerState(file);
    expect(await runScheduledDigest(deps(state))).toBe('posted');
    expect(digests()).toHaveLength(1);
    expect(digests()[0]?.metadata).toMatchObject({ event_payload: { key: 'digest:2023-07-10' } });
    expect(await runScheduledDigest(deps(state))).toBe('already-posted');
    // The crash: the ledger row is back to 'pending' without the ts, as if killed right after the post.
    await state.beginDigest('2023-07-10', 'C0SOCTRIAGE', Date.now());
    await state.close();

    state = openSchedulerState(file);
    expect((await state.getDigest('2023-07-10'))?.state).toBe('pending');
    expect(await runScheduledDigest(deps(state))).toBe('already-posted');
    expect(await state.getDigest('2023-07-10')).toMatchObject({ state: 'posted', ts: digests()[0]?.ts });
    expect(digests()).toHaveLength(1);
    // And the day's facts are now the baseline of the next days.
    expect((await state.baseline('2023-07-01', '2023-07-11')).days).toBe(1);
    await state.close();
  }, 60_000);
});
