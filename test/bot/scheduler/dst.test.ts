/**
 * The daily digest fires at the configured local time in the configured zone, also across a
 * daylight-saving change: 08:00 Europe/Berlin is 07:00 UTC before the change (CET, UTC+1) and
 * 06:00 UTC after it (CEST, UTC+2). Driven by node-cron itself under fake timers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import type { OutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { dayBounds } from '../../../engine/digest/day.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

const silent = pino({ level: 'silent' });

function setup(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'cartographer-dst-'));
  const state = openSchedulerState(join(dir, 'state.db'));
  const posts: { at: number; text: string; key: string }[] = [];
  const outbox: OutboxPoster = {
    async post(_channel, message, key) {
      posts.push({ at: Date.now(), text: message.text, key });
      return `${posts.length}.000000`;
    },
    async find() {
      return undefined;
    },
  };
  const config = loadSchedulerConfig({ CARTOGRAPHER_DIGEST_CHANNEL: 'C0SOCTRIAGE', ...env });
  const scheduler = createScheduler({
    config,
    state,
    sourceName: 'local',
    // An empty directory: the digest of a day without events (a quiet day).
    source: async () => createLocalSource([dir]),
    stages: async () => ({}),
    outbox,
    logger: silent,
  });
  return { scheduler, state, posts };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('daily digest time across daylight saving', () => {
  it('computes 08:00 Europe/Berlin as 07:00 UTC before and 06:00 UTC after the March change', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2027-03-26T12:00:00Z'));
    const { scheduler, state } = setup({
      CARTOGRAPHER_TIMEZONE: 'Europe/Berlin',
      CARTOGRAPHER_DIGEST_TIME: '08:00',
    });
    const runs = scheduler.nextDigestRuns(4).map((d) => d.toISOString());
    expect(runs).toEqual([
      '2027-03-27T07:00:00.000Z', // Saturday, CET
      '2027-03-28T06:00:00.000Z', // Sunday of the change, CEST from 02:00
      '2027-03-29T06:00:00.000Z',
      '2027-03-30T06:00:00.000Z',
    ]);
    await state.close();
  });

  it('the local day of the change is 23 hours long', () => {
    const { start, end } = dayBounds('2027-03-28', 'Europe/Berlin');
    expect(new Date(start).toISOString()).toBe('2027-03-27T23:00:00.000Z');
    expect(new Date(end).toISOString()).toBe('2027-03-28T22:00:00.000Z');
    const autumn = dayBounds('2027-10-31', 'Europe/Berlin');
    expect((autumn.end - autumn.start) / 3_600_000).toBe(25);
  });

  it('fires the real cron job at those instants and posts each day once', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    vi.setSystemTime(new Date('2027-03-27T05:00:00Z')); // before Saturday's 08:00 local
    const { scheduler, state, posts } = setup({
      CARTOGRAPHER_TIMEZONE: 'Europe/Berlin',
      CARTOGRAPHER_DIGEST_TIME: '08:00',
    });
    await scheduler.start();
    // Three local days, in steps so node-cron's timers see time pass as they would.
    for (let i = 0; i < 3 * 24 * 12; i++) {
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await scheduler.jobs.digest.idle();
    }
    await scheduler.stop();
    const fired = posts.map((p) => new Date(p.at).toISOString().slice(0, 16));
    expect(fired).toEqual(['2027-03-27T07:00', '2027-03-28T06:00', '2027-03-29T06:00']);
    // Each scheduled digest covers the previous local day, and says it was quiet.
    expect(posts.map((p) => p.key)).toEqual(['digest:2027-03-26', 'digest:2027-03-27', 'digest:2027-03-28']);
    expect(posts[0]?.text).toMatch(/^Quiet day 2027-03-26 \(Europe\/Berlin\): 0 sessions/);
    await state.close();
  });
});
