/**
 * A threshold that is crossed across two scan windows still alerts: five different secrets read
 * within ten minutes, three before the first scan and three after it. The first scan sees too few
 * to fire; the second reads context before its window and fires on evidence that began earlier.
 * Records: real GetSecretValue events of the Invictus data set, moved in time.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import type { OutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

describe('alerts at a scan window edge', () => {
  it('fires a threshold whose events straddle two scans, once', async () => {
    const reads: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    for (const f of readdirSync('demo/invictus')
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      for (const r of JSON.parse(readFileSync(join('demo/invictus', f), 'utf8')).Records) {
        const id = r.requestParameters?.secretId;
        if (r.eventName === 'GetSecretValue' && !r.errorCode && id && !seen.has(id) && reads.length < 6) {
          seen.add(id);
          reads.push(r);
        }
      }
    }
    expect(reads).toHaveLength(6);
    const at = ['12:03:00', '12:04:00', '12:04:30', '12:06:00', '12:07:00', '12:08:00'];
    const moved = reads.map((r, i) => ({ ...r, eventTime: `2023-07-10T${at[i]}Z` }));
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-edge-'));
    writeFileSync(join(dir, 'secrets.json'), JSON.stringify({ Records: moved }));

    const state = openSchedulerState(':memory:');
    const posted: string[] = [];
    const outbox: OutboxPoster = {
      async post(_c, message) {
        posted.push(message.text);
        return `${posted.length}.000000`;
      },
      async find() {
        return undefined;
      },
    };
    const clock = manualClock(Date.parse('2023-07-10T12:00:00Z'));
    const scheduler = createScheduler({
      // No lateness allowance: only the context read before the window can see the first three reads.
      config: loadSchedulerConfig({
        CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
        CARTOGRAPHER_SCHEDULE: 'off',
        CARTOGRAPHER_LATE_DELIVERY_MINUTES: '0',
      }),
      state,
      sourceName: 'local',
      source: async () => createLocalSource([dir]),
      stages: loadDefaultStages,
      outbox,
      logger: pino({ level: 'silent' }),
      clock,
    });
    await state.setWatermark('local/*/*', clock.now());
    clock.set(Date.parse('2023-07-10T12:05:00Z'));
    await scheduler.scanNow('12:05');
    expect(posted.filter((t) => t.includes('Many secrets read'))).toEqual([]);
    clock.set(Date.parse('2023-07-10T12:10:00Z'));
    await scheduler.scanNow('12:10');
    clock.set(Date.parse('2023-07-10T12:15:00Z'));
    await scheduler.scanNow('12:15');
    expect(posted.filter((t) => t.includes('Many secrets read'))).toHaveLength(1);
    await state.close();
  }, 60_000);
});
