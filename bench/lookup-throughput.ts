/**
 * LookupEvents throughput against the API's own limit:
 *   node bin/run-ts.js bench/lookup-throughput.ts
 *
 * The local AWS endpoint (test/support/aws-endpoint.ts) serves a 5,000-event session spread evenly over
 * 4 regions and enforces LookupEvents' quota of 2 requests per second per account and region (50 events a
 * page), answering ThrottlingException beyond it, like AWS. The real lookup source (adapters/aws, real SDK
 * client) fetches the session by access key. The best any client can do is 2 × 50 = 100 events/s per region;
 * we report each region's rate against that, the throttling answers it drew, and whether anything was lost.
 * Prints one JSON line: `{ rows: [{ metric, value, target, met }], … }`.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudTrailRecord } from '../engine/record.ts';
import { startAwsEndpoint } from '../test/support/aws-endpoint.ts';
import { apiSession } from './generate.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2', 'ap-southeast-2'];
const EVENTS = 5000;
const REQUESTS_PER_SECOND = 2;
const PAGE = 50;
const LIMIT_PER_REGION = REQUESTS_PER_SECOND * PAGE;

const session = apiSession(root, EVENTS, REGIONS);
const endpoint = await startAwsEndpoint({
  records: session.records as unknown as CloudTrailRecord[],
  ratePerSecond: REQUESTS_PER_SECOND,
});
// The SDK reads its endpoint and credentials from the environment, as in production.
Object.assign(process.env, endpoint.env);
const { createLookupSource } = await import('../adapters/aws/lookup-source.ts');

try {
  const source = createLookupSource({ regions: REGIONS, maxEvents: 10_000 });
  const started = performance.now();
  let firstRecordMs: number | undefined;
  const byRegion = new Map<string, number>();
  let rejected = 0;
  let truncated: string | undefined;
  let failure: string | undefined;
  try {
    for await (const item of source.read({ accessKeyId: session.accessKeyId })) {
      if (item.kind === 'record') {
        firstRecordMs ??= performance.now() - started;
        const region = item.record.awsRegion ?? '?';
        byRegion.set(region, (byRegion.get(region) ?? 0) + 1);
      } else if (item.kind === 'rejected') rejected++;
      else if (item.kind === 'truncated') truncated = item.reason;
    }
  } catch (err) {
    failure = (err as Error).message;
  }
  const seconds = (performance.now() - started) / 1000;
  const calls = endpoint.calls('LookupEvents');
  const throttled = calls.filter((c) => c.errorCode === 'ThrottlingException').length;
  const received = [...byRegion.values()].reduce((a, b) => a + b, 0);

  // Per region: its events over the time from the query's start to that region's last answered page
  // (regions run side by side; the source hands records on once all are in).
  const regions = REGIONS.map((region) => {
    const mine = calls.filter((c) => c.region === region && c.status === 200);
    const last = Math.max(...mine.map((c) => c.time));
    const first = Math.min(...calls.filter((c) => c.region === region).map((c) => c.time));
    // The last page is answered a moment after its request arrives; count the window up to its arrival plus the
    // one-page share of a second the quota allows, so a perfect client scores 100 %.
    const span = (last - first) / 1000 + 1 / REQUESTS_PER_SECOND;
    const events = byRegion.get(region) ?? 0;
    return {
      region,
      events,
      pages: mine.length,
      throttled: calls.filter((c) => c.region === region && c.errorCode === 'ThrottlingException').length,
      seconds: span,
      perSecond: events / span,
    };
  });
  const worst = regions.reduce((a, b) => (a.perSecond <= b.perSecond ? a : b));
  const complete = !failure && !truncated && rejected === 0 && received === EVENTS;
  const rows = [
    {
      metric: 'LookupEvents: events/s per region (worst of 4)',
      value: `${worst.perSecond.toFixed(1)} ev/s (${worst.region}) = ${((worst.perSecond / LIMIT_PER_REGION) * 100).toFixed(0)} % of ${LIMIT_PER_REGION}`,
      target: '≥ 90 % of 100 ev/s',
      met: worst.perSecond >= 0.9 * LIMIT_PER_REGION,
    },
    {
      metric: 'LookupEvents: 5,000 events over 4 regions',
      value: `${received} received in ${seconds.toFixed(1)} s, ${throttled} throttled answers${failure ? `, FAILED: ${failure}` : ''}${truncated ? `, truncated: ${truncated}` : ''}`,
      target: 'all, no failure',
      met: complete,
    },
  ];
  process.stdout.write(
    `${JSON.stringify({
      rows,
      events: EVENTS,
      received,
      seconds,
      firstRecordSeconds: firstRecordMs === undefined ? null : firstRecordMs / 1000,
      requests: calls.length,
      throttled,
      rejected,
      ...(failure ? { failure } : {}),
      ...(truncated ? { truncated } : {}),
      regions,
    })}\n`,
  );
} finally {
  await endpoint.close();
}
