/**
 * What an operator sees of a command: one request id on its log lines (received, every AWS call of its lookup,
 * every Slack post, the audit line), and the Prometheus metrics on the bot's own HTTP server.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { createSqsQueue } from '../../adapters/aws/sqs-queue.ts';
import { registry } from '../../adapters/observability/metrics.ts';
import { pollQueueDepth } from '../../bot/queue/attach-queue.ts';
import { botPerTest, FIXTURE_KEY, fixtureFileRecords, waitFor } from '../support/slack-harness.ts';
import { startSqsEndpoint } from '../support/sqs-endpoint.ts';

const KEY = FIXTURE_KEY;
const records = fixtureFileRecords();

const bot = botPerTest();

/** `name{labels} value` lines of a Prometheus text page, as a map. */
async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const values = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) values.set(m[1]!, Number(m[2]));
  }
  return values;
}

const delta = (before: Map<string, number>, after: Map<string, number>, key: string) =>
  (after.get(key) ?? 0) - (before.get(key) ?? 0);

describe('request ids and metrics', () => {
  it('a lookup command: its AWS calls and Slack posts log under one reqId; /metrics counts it', async () => {
    const { h, aws } = await bot.startOnAws({ records }, { logLevel: 'debug' });
    const before = await scrape(h.port);
    // One 429 from Slack on the first post: retried by the WebClient, counted as a Slack API error.
    h.standin.rateLimit('chat.postMessage', 1, 1);

    await h.standin.sendSlashCommand(`session ${KEY} --source lookup --since 2023-07-01`);
    const audit = await waitFor('the audit line', () => h.audits().find((a) => a.outcome === 'ok'));
    const reqId = audit.reqId as string;
    expect(reqId).toMatch(/^c-[0-9a-f]{12}$/);

    const awsLines = h.logs.filter((l) => (l.aws as { operation?: string })?.operation === 'LookupEvents');
    const posts = h.logs.filter((l) =>
      /^chat\.(postMessage|update)$/.test(String((l.slack as { method?: string })?.method)),
    );
    expect(awsLines.length).toBe(aws.calls('LookupEvents').length);
    expect(posts.length).toBeGreaterThanOrEqual(3);
    for (const line of [...awsLines, ...posts]) expect(line.reqId).toBe(reqId);
    expect(awsLines[0]!.aws).toMatchObject({ service: 'cloudtrail', outcome: 'ok', status: 200 });
    expect(posts.some((p) => (p.slack as { error?: string }).error === 'ratelimited')).toBe(true);

    // A second command is a second request.
    await h.standin.sendSlashCommand('help');
    const help = await waitFor('the help audit line', () =>
      h.audits().find((a) => String(a.what).endsWith('help')),
    );
    expect(help.reqId).toMatch(/^c-/);
    expect(help.reqId).not.toBe(reqId);

    const after = await scrape(h.port);
    expect(delta(before, after, 'cartographer_commands_total{command="session",outcome="ok"}')).toBe(1);
    expect(delta(before, after, 'cartographer_commands_total{command="help",outcome="ok"}')).toBe(1);
    expect(delta(before, after, 'cartographer_events_scanned_total{source="lookup"}')).toBeGreaterThan(0);
    expect(
      delta(
        before,
        after,
        'cartographer_aws_requests_total{service="cloudtrail",operation="LookupEvents",outcome="ok"}',
      ),
    ).toBe(aws.calls('LookupEvents').length);
    expect(
      delta(
        before,
        after,
        'cartographer_slack_api_errors_total{method="chat.postMessage",code="ratelimited"}',
      ),
    ).toBe(1);
    expect(
      delta(before, after, 'cartographer_scan_duration_seconds_count{job="read:lookup",outcome="ok"}'),
    ).toBe(1);
    expect(after.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('where alerts come from SQS, the queue depth is read into cartographer_sqs_queue_depth', async () => {
    const sqs = await startSqsEndpoint();
    try {
      const q = sqs.createQueue('depth-test');
      for (let i = 0; i < 3; i++) sqs.send(q.name, `{"n":${i}}`);
      const client = new SQSClient({
        region: 'us-east-1',
        endpoint: sqs.url,
        credentials: { accessKeyId: 'AKIADEPTHTEST000001', secretAccessKey: 'x' },
      });
      const queue = createSqsQueue({ queueUrl: q.url, region: 'us-east-1', client });
      const stop = pollQueueDepth(queue, pino({ level: 'silent' }));
      try {
        const depth = async () =>
          (await registry.getSingleMetric('cartographer_sqs_queue_depth')!.get()).values
            .filter((v) => v.labels.queue === q.url)
            .map((v) => `${v.labels.state}=${v.value}`)
            .sort();
        await vi.waitFor(async () => expect(await depth()).toEqual(['in_flight=0', 'visible=3']));
        expect(sqs.calls('GetQueueAttributes').length).toBeGreaterThanOrEqual(1);
      } finally {
        stop();
        client.destroy();
      }
    } finally {
      await sqs.close();
    }
  });
});
