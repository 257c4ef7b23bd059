/**
 * An alert scan through the real LookupEvents source (AWS SDK client) against the local AWS
 * endpoint serving the Invictus records: every request carries one lookup attribute (ReadOnly=false
 * or a sensitive EventName, never an unfiltered read of everything), and alerts that need a
 * sensitive read (secrets read in bulk) still fire.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLookupSource } from '../../../adapters/aws/lookup-source.ts';
import { SENSITIVE_READ_EVENTS } from '../../../bot/scheduler/scan-source.ts';
import { type AwsEndpoint, loadCloudTrailDir, startAwsEndpoint } from '../../support/aws-endpoint.ts';
import { alertScheduler } from '../../support/scheduler-harness.ts';

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
    const {
      scheduler,
      state,
      clock,
      posted: titles,
    } = alertScheduler({
      env: {
        CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
        CARTOGRAPHER_SCHEDULE: 'off',
        CARTOGRAPHER_SCAN_REGIONS: 'us-east-1',
      },
      sourceName: 'lookup',
      source: async () => source,
      start: Date.parse('2023-07-10T12:00:00Z'),
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
