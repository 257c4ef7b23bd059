/**
 * A scan still running is never started twice: a tick arriving meanwhile is skipped with a log line.
 * The source is the real local source over real records, held back by a gate so the first scan is
 * provably still running when the second tick comes.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import type { OutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import type { RecordSource, SourceItem } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

const FIXTURES = 'test/fixtures/invictus-sigma-aws-cloudtrail';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** The real local source, but it waits for `release()` before yielding anything. */
function gatedSource(inner: RecordSource) {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  let reads = 0;
  const source: RecordSource = {
    name: 'local',
    async *read(query, options): AsyncGenerator<SourceItem> {
      reads++;
      await gate;
      yield* inner.read(query, options);
    },
  };
  return { source, release, reads: () => reads };
}

describe('overlapping ticks', () => {
  it('skips a tick while the previous scan runs, with a log line, and runs the next one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-overlap-'));
    const state = openSchedulerState(join(dir, 'state.db'));
    const { logger, lines } = capturingLogger();
    const gated = gatedSource(createLocalSource([FIXTURES]));
    const posted: string[] = [];
    const outbox: OutboxPoster = {
      async post(_c, _m, key) {
        posted.push(key);
        return `${posted.length}.000000`;
      },
      async find() {
        return undefined;
      },
    };
    const clock = manualClock(Date.parse('2023-07-10T12:00:00Z'));
    const scheduler = createScheduler({
      config: loadSchedulerConfig({ CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS', CARTOGRAPHER_SCHEDULE: 'off' }),
      state,
      sourceName: 'local',
      source: async () => gated.source,
      stages: async () => ({}),
      outbox,
      logger,
      clock,
    });
    const first = scheduler.scanNow('tick 1');
    // Let the first scan reach the source and block there.
    while (gated.reads() === 0) await new Promise((r) => setTimeout(r, 5));
    expect(scheduler.jobs.scan.running).toBe(true);
    const second = await scheduler.scanNow('tick 2');
    expect(second).toBe(false);
    expect(gated.reads()).toBe(1);
    const skipped = lines.filter((l) => String(l.msg).includes('skipped overlapping tick'));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ job: 'alert scan', reason: 'tick 2' });
    gated.release();
    expect(await first).toBe(true);
    // The watermark moved once, by the one scan that ran.
    expect(await state.getWatermark('local/*/*')).toBe(clock.now());
    clock.advance(5 * 60_000);
    expect(await scheduler.scanNow('tick 3')).toBe(true);
    expect(gated.reads()).toBe(2);
    await state.close();
  });
});
