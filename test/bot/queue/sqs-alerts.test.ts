/**
 * The sqs alert source in one process, over the real SDK clients (@aws-sdk/client-sqs, @aws-sdk/client-s3)
 * against the local SQS (JSON protocol) and S3 (REST) endpoints, the real detections and the Slack stand-in:
 * every envelope, skipped keys, a redelivered message, throttling, a truncated gzip, a missing object,
 * a file big enough that its visibility must be extended, and the takeover of alerts a dead replica left
 * pending. Replicas as separate processes are in sqs-replicas.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3ObjectReader } from '../../../adapters/aws/sqs-objects.ts';
import { createSqsQueue } from '../../../adapters/aws/sqs-queue.ts';
import { openStores, type Stores } from '../../../adapters/store/open-stores.ts';
import type { QueueAlertDeps } from '../../../bot/queue/deps.ts';
import { alertOnObject } from '../../../bot/queue/object-alerts.ts';
import { createQueueConsumer, type QueueConsumer } from '../../../bot/queue/sqs-consumer.ts';
import { systemClock } from '../../../bot/scheduler/clock.ts';
import { createOutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadStageFactory } from '../../../compose/stages.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import type { PipelineStages } from '../../../engine/stages.ts';
import { type SlackStandin, startSlackStandin } from '../../../playground/standin/server.ts';
import {
  BUCKET,
  buildDeliveryFiles,
  buildLargeFile,
  type DeliveryFile,
  eventBridgeNotification,
  expectedAlertKeys,
  s3Notification,
  snsNotification,
} from '../../support/delivery-files.ts';
import { type S3Endpoint, startS3Endpoint } from '../../support/s3-endpoint.ts';
import { waitFor } from '../../support/slack-harness.ts';
import { type SqsEndpoint, startSqsEndpoint } from '../../support/sqs-endpoint.ts';

const TOKEN = 'xoxb-sqs-alerts-test';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIASQSTESTREPLICA1', secretAccessKey: 'test-secret' };
let standin: SlackStandin;
let sqs: SqsEndpoint;
let s3: S3Endpoint;
let stages: () => PipelineStages;
let scenario = 0;

beforeAll(async () => {
  [standin, sqs, s3, stages] = await Promise.all([
    startSlackStandin({ signingSecret: 'sqs-alerts-secret', botToken: TOKEN }),
    startSqsEndpoint(),
    startS3Endpoint(),
    loadStageFactory(),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([standin?.close(), sqs?.close(), s3?.close()]);
});

interface Run {
  consumer: QueueConsumer;
  stores: Stores;
  channel: string;
  queue: string;
  dlq: string;
  logs: Record<string, unknown>[];
  posted(): string[];
  stop(): Promise<void>;
}

/** A consumer on fresh queues, a fresh SQLite state and its own Slack channel. */
function startRun(settings: { visibilitySeconds?: number; maxReceives?: number } = {}): Run {
  const n = ++scenario;
  const channel = `C0SQS${n}`;
  standin.state.channels.push({ id: channel, name: `sqs-${n}`, botMember: true });
  const dlq = `alerts-dlq-${n}`;
  const queue = `alerts-${n}`;
  sqs.createQueue(dlq);
  const q = sqs.createQueue(queue, { deadLetter: dlq, maxReceiveCount: settings.maxReceives ?? 2 });
  const dir = mkdtempSync(join(tmpdir(), 'cartographer-sqs-'));
  const stores = openStores({ dbFile: join(dir, 'bot.db') });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      done();
    },
  });
  const deps: QueueAlertDeps = {
    config: loadSchedulerConfig({
      CARTOGRAPHER_ALERT_CHANNEL: channel,
      CARTOGRAPHER_ALERT_SOURCE: 'sqs',
      CARTOGRAPHER_ALERT_MIN_SEVERITY: 'medium',
    }),
    clock: systemClock,
    state: stores.scheduler,
    store: stores.bot,
    sourceName: 'local',
    source: () => Promise.reject(new Error('the queue consumer reads no RecordSource')),
    stages: async () => stages(),
    outbox: createOutboxPoster(new WebClient(TOKEN, { slackApiUrl: standin.apiUrl })),
    logger: pino({ level: 'debug' }, sink),
    queue: createSqsQueue({
      queueUrl: q.url,
      region: REGION,
      client: new SQSClient({ region: REGION, endpoint: sqs.url, credentials: CREDENTIALS }),
    }),
    objects: createS3ObjectReader({
      region: REGION,
      client: new S3Client({ region: REGION, endpoint: s3.url, credentials: CREDENTIALS }),
    }),
    queueSettings: {
      batchSize: 10,
      concurrency: 4,
      maxReceives: settings.maxReceives ?? 2,
      visibilitySeconds: settings.visibilitySeconds ?? 2,
      waitSeconds: 1,
    },
  };
  const consumer = createQueueConsumer({ ...deps, onObject: (ref) => alertOnObject(deps, ref) });
  consumer.start();
  return {
    consumer,
    stores,
    channel,
    queue,
    dlq,
    logs,
    posted: () =>
      standin.state.messages
        .filter((m) => m.channel === channel && m.bot)
        .map((m) => (m.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key)
        .filter((k): k is string => typeof k === 'string'),
    async stop() {
      await consumer.stop();
      await stores.bot.close();
      await stores.scheduler.close();
      await stores.triage.close();
    },
  };
}

const drained = (run: Run) => () => {
  const q = sqs.queue(run.queue);
  return (
    q.messages.length === 0 &&
    run.consumer.stats.messages === run.consumer.stats.deleted + run.consumer.stats.failed
  );
};

function put(files: DeliveryFile[]): void {
  for (const f of files) s3.put(BUCKET, f.key, f.body);
}

describe('sqs alert source (one replica, real SDK clients, local SQS and S3)', () => {
  it('reads S3, SNS, CloudTrail-SNS and EventBridge notifications; skips digest, Insights and folder keys with a debug line', async () => {
    const run = startRun();
    const files = buildDeliveryFiles(4);
    put(files);
    const expected = await expectedAlertKeys(files, 'medium');
    const [a, b, c, d] = files as [DeliveryFile, DeliveryFile, DeliveryFile, DeliveryFile];
    sqs.send(run.queue, s3Notification(BUCKET, a.key, a.body.length));
    sqs.send(run.queue, snsNotification(BUCKET, b.key));
    sqs.send(
      run.queue,
      JSON.stringify({
        Type: 'Notification',
        Message: JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: [c.key] }),
      }),
    );
    sqs.send(run.queue, eventBridgeNotification(BUCKET, d.key));
    const skipped = [
      'AWSLogs/o-exampleorg/218007301253/CloudTrail-Digest/us-east-1/2023/07/10/218007301253_CloudTrail-Digest_us-east-1_x_20230710T1200Z.json.gz',
      'AWSLogs/o-exampleorg/218007301253/CloudTrail-Insight/us-east-1/2023/07/10/218007301253_CloudTrail-Insight_us-east-1_20230710T1200Z_x.json.gz',
      'AWSLogs/o-exampleorg/218007301253/CloudTrail/us-east-1/2023/07/10/',
    ];
    for (const key of skipped) sqs.send(run.queue, s3Notification(BUCKET, key));
    sqs.send(run.queue, JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: BUCKET }));

    const want = [...expected.values()].flat();
    expect(want.length).toBeGreaterThanOrEqual(4);
    await waitFor('all messages handled', drained(run));
    expect([...run.posted()].sort()).toEqual([...want].sort());
    expect(sqs.queue(run.queue).deleted).toHaveLength(8);
    expect(run.consumer.stats).toMatchObject({ objects: 4, skipped: 3, failed: 0 });
    const debug = run.logs.filter((l) => l.msg === 'sqs: skipped, not a CloudTrail log file');
    expect(debug.map((l) => l.reason)).toEqual(
      expect.arrayContaining(['CloudTrail digest file', 'CloudTrail Insights file', 'folder marker']),
    );
    expect(debug.every((l) => l.level === 20)).toBe(true);
    // No GetObject for the skipped keys.
    expect(s3.requests.filter((r) => skipped.includes(r.key))).toHaveLength(0);
    await run.stop();
  }, 60_000);

  it('a redelivered message (and a second notification of the same object) posts nothing again', async () => {
    const run = startRun();
    const files = buildDeliveryFiles(3);
    put(files);
    for (const f of files) sqs.send(run.queue, s3Notification(BUCKET, f.key));
    await waitFor('first delivery', drained(run));
    const first = run.posted();
    expect(first.length).toBeGreaterThanOrEqual(3);
    for (const f of files) sqs.send(run.queue, s3Notification(BUCKET, f.key));
    sqs.send(run.queue, eventBridgeNotification(BUCKET, files[0]!.key));
    await waitFor('second delivery', () => drained(run)() && run.consumer.stats.deleted === 7);
    expect(run.posted()).toEqual(first);
    expect(run.consumer.stats.objects).toBe(7);
    await run.stop();
  }, 60_000);

  it('throttling by SQS and S3 is retried; a truncated gzip, a non-CloudTrail object and a 404 go to the DLQ with a log line, the rest is posted', async () => {
    const run = startRun({ maxReceives: 2, visibilitySeconds: 1 });
    const files = buildDeliveryFiles(6);
    put(files);
    const expected = await expectedAlertKeys(files, 'medium');
    const full = files[5]!.body;
    const truncated = {
      ...files[5]!,
      key: files[5]!.key.replace('.json.gz', '-cut.json.gz'),
      body: full.subarray(0, Math.floor(full.length / 2)),
    };
    const garbage = {
      key: files[4]!.key.replace('.json.gz', '-junk.json.gz'),
      body: gzipSync('this is not JSON at all'),
    };
    const missing = files[3]!.key.replace('.json.gz', '-gone.json.gz');
    s3.put(BUCKET, truncated.key, truncated.body);
    s3.put(BUCKET, garbage.key, garbage.body);
    sqs.throttle('ReceiveMessage', 2);
    s3.throttle(2);
    for (const key of [truncated.key, files[0]!.key, garbage.key, files[1]!.key, missing, files[2]!.key]) {
      sqs.send(run.queue, s3Notification(BUCKET, key));
    }
    await waitFor(
      'three messages in the DLQ',
      () => sqs.queue(run.dlq).messages.length === 3 && drained(run)(),
      60_000,
    );
    const want = [0, 1, 2].flatMap((i) => expected.get(files[i]!.key) ?? []);
    // The truncated file's records before the break are analysed too: its alerts may be among the posts.
    const cut = new Set(expected.get(files[5]!.key));
    const posted = run.posted();
    expect(new Set(posted).size).toBe(posted.length);
    expect(posted.filter((k) => !cut.has(k)).sort()).toEqual([...want].sort());
    expect(sqs.calls('ReceiveMessage').filter((r) => r.errorCode === 'ThrottlingException')).toHaveLength(2);
    expect(s3.requests.filter((r) => r.status === 503)).toHaveLength(2);

    const dead = run.logs.filter((l) => l.level === 50 && String(l.msg).includes('dead-letter queue'));
    const reasons = new Map(dead.map((l) => [String(l.object), String(l.reason)]));
    expect(reasons.get(`s3://${BUCKET}/${truncated.key}`)).toMatch(/truncated gzip/);
    expect(reasons.get(`s3://${BUCKET}/${garbage.key}`)).toMatch(/no CloudTrail record in it/);
    expect(reasons.get(`s3://${BUCKET}/${missing}`)).toMatch(/gone \(404 NoSuchKey\)/);
    expect(sqs.queue(run.dlq).messages.map((m) => m.receives.length)).toEqual([2, 2, 2]);
    await run.stop();
  }, 90_000);

  it('a file that takes longer than the visibility timeout keeps its message: visibility is extended, one receive, one post each', async () => {
    const run = startRun({ visibilitySeconds: 3, maxReceives: 5 });
    const big = buildLargeFile(100_000, 'slow');
    s3.put(BUCKET, big.key, big.body);
    // Half the object at once, the rest 3.5 visibility timeouts later.
    s3.slow(BUCKET, big.key, { firstBytes: Math.floor(big.body.length / 2), holdMs: 10_500 });
    const expected = (await expectedAlertKeys([big], 'medium')).get(big.key) ?? [];
    const message = sqs.send(run.queue, s3Notification(BUCKET, big.key, big.body.length));
    await waitFor('the big file handled', () => drained(run)() && run.consumer.stats.deleted === 1, 60_000);
    expect(message.receives).toHaveLength(1);
    const extensions = sqs
      .calls('ChangeMessageVisibility')
      .filter((r) => String(r.body.ReceiptHandle).startsWith(message.id));
    expect(extensions.length).toBeGreaterThanOrEqual(3);
    expect(extensions.every((r) => r.status === 200)).toBe(true);
    expect([...run.posted()].sort()).toEqual([...expected].sort());
    expect(run.consumer.stats.records).toBe(big.records.length);
    await run.stop();
  }, 90_000);

  it("alerts a dead replica left 'pending' are settled, not posted twice: found in Slack → posted; not in Slack → posted once", async () => {
    const run = startRun({ visibilitySeconds: 1 });
    const [file] = buildDeliveryFiles(1) as [DeliveryFile];
    put([file]);
    const keys = (await expectedAlertKeys([file], 'medium')).get(file.key) ?? [];
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const [inSlack, lost] = keys as [string, string];
    // The dead replica's work: both rows pending for longer than the visibility timeout, one post in Slack.
    const old = Date.now() - 5_000;
    const row = (key: string) => ({
      key,
      ruleId: 'r',
      principal: 'p',
      resource: '',
      severity: 'high',
      channel: run.channel,
      threadKey: `t-${key}`,
      eventAt: 0,
      createdAt: old,
      state: 'pending' as const,
    });
    await run.stores.scheduler.beginAlert(row(inSlack));
    await run.stores.scheduler.beginAlert(row(lost));
    const outbox = createOutboxPoster(new WebClient(TOKEN, { slackApiUrl: standin.apiUrl }));
    await outbox.post(run.channel, { text: 'posted by the replica that died' }, inSlack);
    sqs.send(run.queue, s3Notification(BUCKET, file.key));
    await waitFor('handled', () => drained(run)() && run.consumer.stats.deleted === 1);
    const posted = run.posted();
    expect(posted.filter((k) => k === inSlack)).toHaveLength(1);
    expect(posted.filter((k) => k === lost)).toHaveLength(1);
    expect([...new Set(posted)].sort()).toEqual([...keys].sort());
    expect((await run.stores.scheduler.getAlert(inSlack))?.state).toBe('posted');
    expect(await run.stores.scheduler.pendingAlerts()).toEqual([]);
    await run.stop();
  }, 60_000);

  it("`cartographer watch --source sqs` prints each file's findings from the queue and deletes the messages", async () => {
    const n = ++scenario;
    const queue = sqs.createQueue(`watch-${n}`);
    const files = buildDeliveryFiles(2);
    put(files);
    const expected = await expectedAlertKeys(files, 'medium');
    for (const f of files) sqs.send(queue.name, eventBridgeNotification(BUCKET, f.key));
    sqs.send(
      queue.name,
      s3Notification(BUCKET, 'AWSLogs/o-exampleorg/218007301253/CloudTrail-Digest/x.json.gz'),
    );
    const env = {
      PATH: process.env.PATH ?? '',
      CARTOGRAPHER_SQS_QUEUE_URL: queue.url,
      CARTOGRAPHER_SQS_WAIT_SECONDS: '1',
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ACCESS_KEY_ID: 'AKIAWATCHTERMINAL01',
      AWS_SECRET_ACCESS_KEY: 'x',
      AWS_REGION: REGION,
    };
    const out = await runCli(['watch', '--source', 'sqs', '--format', 'json', '--max-messages', '3'], env);
    expect(out.code, out.stderr).toBe(0);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { object: string; finding: { ruleId: string } });
    for (const f of files) {
      const printed = lines.filter((l) => l.object === `s3://${BUCKET}/${f.key}`);
      expect(printed.length).toBe(expected.get(f.key)?.length);
    }
    expect(out.stderr).toContain('3 messages, 2 files');
    expect(out.stderr).toContain('queue: 0 waiting, 0 in flight');
    expect(queue.messages).toHaveLength(0);
    const noQueue = await runCli(['watch', '--source', 'sqs'], { PATH: env.PATH });
    expect(noQueue.code).toBe(2);
    expect(noQueue.stderr).toContain('CARTOGRAPHER_SQS_QUEUE_URL is not set');
    const wrong = await runCli(['watch', '--source', 'local'], { PATH: env.PATH });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('use `cartographer scan`');
  }, 60_000);
});

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/cartographer.js', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += String(c);
    });
    child.stderr.on('data', (c) => {
      stderr += String(c);
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
