/**
 * An alert scan through the real LookupEvents source (AWS SDK client) against the local AWS
 * endpoint serving the Invictus records: every request carries one lookup attribute (ReadOnly=false
 * or a sensitive EventName, never an unfiltered read of everything), and alerts that need a
 * sensitive read (secrets read in bulk) still fire.
 */
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLookupSource } from '../../../adapters/aws/lookup-source.ts';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { SENSITIVE_READ_EVENTS } from '../../../bot/scheduler/scan-source.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import type { OutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { type AwsEndpoint, loadCloudTrailDir, startAwsEndpoint } from '../../support/aws-endpoint.ts';

let endpoint: AwsEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
  vi.unstubAllEnvs();
});

describe('alert scan over LookupEvents', () => {
  it('pulls write events and sensitive reads only, and alerts on them', async () => {
    endpoint = await startAwsEndpoint({ records: loadCloudTrailDir('demo/invictus'), ratePerSecond: 0 });
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const source = createLookupSource({ regions: ['us-east-1'], requestsPerSecond: 1000, rateMarginMs: 0 });
    const state = openSchedulerState(':memory:');
    const titles: string[] = [];
    const outbox: OutboxPoster = {
      async post(_channel, message) {
        titles.push(message.text);
        return `${titles.length}.000000`;
      },
      async find() {
        return undefined;
      },
    };
    const clock = manualClock(Date.parse('2023-07-10T12:00:00Z'));
    const scheduler = createScheduler({
      config: loadSchedulerConfig({
        CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
        CARTOGRAPHER_SCHEDULE: 'off',
        CARTOGRAPHER_SCAN_REGIONS: 'us-east-1',
      }),
      state,
      sourceName: 'lookup',
      source: async () => source,
      stages: loadDefaultStages,
      outbox,
      logger: pino({ level: 'silent' }),
      clock,
    });
    await state.setWatermark('lookup/*/us-east-1', Date.parse('2023-07-10T11:40:00Z'));
    expect(await scheduler.scanNow('test')).toBe(true);
    expect(await state.getWatermark('lookup/*/us-east-1')).toBe(clock.now());

    const lookups = endpoint.calls('LookupEvents');
    expect(lookups.length).toBeGreaterThan(SENSITIVE_READ_EVENTS.length);
    const attributes = lookups.map((r) => JSON.stringify(r.body.LookupAttributes ?? []));
    for (const a of attributes) {
      expect(a).toMatch(/^\[\{"AttributeKey":"(ReadOnly|EventName)","AttributeValue":"[A-Za-z]+"\}\]$/);
    }
    expect(attributes).toContain('[{"AttributeKey":"ReadOnly","AttributeValue":"false"}]');
    expect(attributes).toContain('[{"AttributeKey":"EventName","AttributeValue":"GetSecretValue"}]');
    expect(attributes.some((a) => a.includes('"AttributeValue":"true"'))).toBe(false);
    expect(titles.some((t) => t.includes('Many secrets read in a short time'))).toBe(true);
    await state.close();
  }, 120_000);
});
