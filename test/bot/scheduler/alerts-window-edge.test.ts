/**
 * A threshold that is crossed across two scan windows still alerts: five different secrets read
 * within ten minutes, three before the first scan and three after it. The first scan sees too few
 * to fire; the second reads context before its window and fires on evidence that began earlier.
 * Records: real GetSecretValue events of the Invictus data set, moved in time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { alertScheduler, recordsFolder } from '../../support/scheduler-harness.ts';

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
    const folder = recordsFolder('edge', 'secrets.json', moved);
    const { scheduler, state, clock, posted } = alertScheduler({
      // No lateness allowance: only the context read before the window can see the first three reads.
      env: {
        CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
        CARTOGRAPHER_SCHEDULE: 'off',
        CARTOGRAPHER_LATE_DELIVERY_MINUTES: '0',
      },
      sourceName: 'local',
      source: async () => createLocalSource([folder.dir]),
      start: Date.parse('2023-07-10T12:00:00Z'),
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
    folder.remove();
  }, 60_000);
});
