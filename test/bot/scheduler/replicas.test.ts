/**
 * The scheduled digest on several replicas sharing one state: each replica's cron fires at 08:00, the
 * lease in the store lets exactly one of them build and post the day; the others say so in the log.
 * Run against SQLite (two openings of one file) and a real PostgreSQL server (two connection pools, as
 * two processes would have).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStores, type Stores } from '../../../adapters/store/open-stores.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import { createOutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { type SlackStandin, startSlackStandin } from '../../../playground/standin/server.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';

const TOKEN = 'xoxb-scheduler-replicas';
let standin: SlackStandin;
let pg: TestPostgres;

beforeAll(async () => {
  [standin, pg] = await Promise.all([
    startSlackStandin({ signingSecret: 'scheduler-replicas-secret', botToken: TOKEN }),
    startPostgres(),
  ]);
}, 120_000);
afterAll(async () => {
  await standin?.close();
  await pg?.stop();
});

const backends: { name: string; open: () => Promise<() => Stores> }[] = [
  {
    name: 'SQLite',
    async open() {
      const file = join(mkdtempSync(join(tmpdir(), 'cartographer-replicas-')), 'state.db');
      return () => openStores({ dbFile: file });
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const url = await pg.createDatabase(`digest_lease_${Date.now()}`);
      return () => openStores({ dbFile: '', databaseUrl: url });
    },
  },
];

/** Resolves once `done()` holds, or after `ms` (the assertions that follow then say what is missing). */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}

describe.each(backends)('scheduled digest with three replicas ($name)', (backend) => {
  it('is posted once: one replica holds the lease, the others skip with a log line', async () => {
    const open = await backend.open();
    const channel = `C0LEASE${backend.name.toUpperCase()}`;
    standin.state.channels.push({
      id: channel,
      name: `lease-${backend.name.toLowerCase()}`,
      botMember: true,
    });
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _e, done) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        done();
      },
    });
    const skippedLines = () =>
      lines.filter((l) => l.msg === 'daily digest: another replica holds the lease and runs it');
    const replicas = [open(), open(), open()];
    const schedulers = replicas.map((stores, i) =>
      createScheduler({
        config: loadSchedulerConfig({ CARTOGRAPHER_DIGEST_CHANNEL: channel, CARTOGRAPHER_SCHEDULE: 'off' }),
        clock: manualClock(Date.parse('2023-07-11T08:00:00Z')),
        state: stores.scheduler,
        sourceName: 'local',
        source: async () => {
          // The holder keeps the lease until the two others have tried (otherwise a fast holder may finish and
          // give the lease up before a slow replica's first try, which then finds the day posted instead).
          await waitFor(() => skippedLines().length >= 2, 10_000);
          return createLocalSource(['demo/invictus']);
        },
        stages: async () => ({}),
        outbox: createOutboxPoster(new WebClient(TOKEN, { slackApiUrl: standin.apiUrl })),
        logger: pino({ level: 'info' }, sink).child({ replica: i }),
        shared: true,
      }),
    );
    // All three cron ticks at once.
    await Promise.all(schedulers.map((s) => s.digestNow('cron')));
    const digests = standin.state.channelMessages(channel).filter((m) => /2023-07-10/.test(m.text));
    expect(digests).toHaveLength(1);
    const skipped = skippedLines();
    expect(skipped).toHaveLength(2);
    expect(new Set(skipped.map((l) => l.replica)).size).toBe(2);
    // Later ticks (the lease is free again) find the day posted.
    await Promise.all(schedulers.map((s) => s.digestNow('retry')));
    expect(standin.state.channelMessages(channel).filter((m) => /2023-07-10/.test(m.text))).toHaveLength(1);
    for (const s of schedulers) await s.stop();
    for (const r of replicas) {
      await r.bot.close();
      await r.scheduler.close();
      await r.triage.close();
    }
  }, 60_000);
});
