/**
 * Competing consumers for real: bot replicas are separate `cartographer start` processes sharing one
 * PostgreSQL database (a real server, test/support/postgres.ts) and one queue (the local SQS endpoint),
 * reading objects from the local S3 endpoint and posting to the Slack stand-in over HTTP.
 *
 * 100 delivery files with findings, plus a truncated gzip and keys that are no log files. Replica A is
 * killed (SIGKILL) while it downloads file 30; replica C is started in its place and, later, the replica
 * that posts the first alert of file 70 is killed the moment Slack accepts that post (before its ledger
 * knows). The survivors must take both messages after the visibility timeout, and Slack must end up with
 * every alert of the 100 files exactly once; the truncated file must reach the dead-letter queue with a
 * log line naming it, without holding up the others.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackStandin, startSlackStandin } from '../../../playground/standin/server.ts';
import {
  BUCKET,
  buildDeliveryFiles,
  type DeliveryFile,
  expectedAlertKeys,
  s3Notification,
} from '../../support/delivery-files.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';
import { type S3Endpoint, startS3Endpoint } from '../../support/s3-endpoint.ts';
import { waitFor } from '../../support/slack-harness.ts';
import { type SqsEndpoint, startSqsEndpoint } from '../../support/sqs-endpoint.ts';

const TOKEN = 'xoxb-sqs-replicas-test';
const SECRET = 'sqs-replicas-signing-secret';
const CHANNEL = 'C0SOCTRIAGE';
const VISIBILITY = 3;
let pg: TestPostgres;
let standin: SlackStandin;
let sqs: SqsEndpoint;
let s3: S3Endpoint;
let databaseUrl: string;
const replicas = new Map<string, Replica>();

interface Replica {
  name: string;
  key: string;
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

beforeAll(async () => {
  [pg, standin, sqs, s3] = await Promise.all([
    startPostgres(),
    startSlackStandin({ signingSecret: SECRET, botToken: TOKEN }),
    startSqsEndpoint(),
    startS3Endpoint(),
  ]);
  databaseUrl = await pg.createDatabase('replicas');
}, 120_000);

afterAll(async () => {
  for (const r of replicas.values()) r.child.kill('SIGKILL');
  await Promise.all([standin?.close(), sqs?.close(), s3?.close()]);
  await pg?.stop();
});

function startReplica(name: string, queueUrl: string): Replica {
  const dir = mkdtempSync(join(tmpdir(), `cartographer-replica-${name}-`));
  const key = `AKIAREPLICA${name.toUpperCase()}0000`;
  const child = spawn(process.execPath, ['bin/cartographer.js', 'start'], {
    env: {
      PATH: process.env.PATH,
      HOME: dir,
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: standin.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      CARTOGRAPHER_DB: join(dir, 'unused.db'),
      CARTOGRAPHER_DATABASE_URL: databaseUrl,
      CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
      CARTOGRAPHER_ALERT_CHANNEL: CHANNEL,
      CARTOGRAPHER_ALERT_SOURCE: 'sqs',
      CARTOGRAPHER_ALERT_MIN_SEVERITY: 'medium',
      CARTOGRAPHER_SQS_QUEUE_URL: queueUrl,
      CARTOGRAPHER_SQS_REGION: 'us-east-1',
      CARTOGRAPHER_SQS_VISIBILITY_SECONDS: String(VISIBILITY),
      CARTOGRAPHER_SQS_WAIT_SECONDS: '1',
      CARTOGRAPHER_SQS_MAX_RECEIVES: '3',
      CARTOGRAPHER_SQS_CONCURRENCY: '2',
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ACCESS_KEY_ID: key,
      AWS_SECRET_ACCESS_KEY: 'replica-test-secret',
      AWS_REGION: 'us-east-1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (c) => {
    buffered += String(c);
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (c) => logs.push({ stderr: String(c) }));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const replica = { name, key, child, logs, exited };
  replicas.set(key, replica);
  return replica;
}

/** Alert keys posted in the channel (parents and thread replies), from their Slack metadata. */
function postedKeys(): string[] {
  return standin.state.messages
    .filter((m) => m.channel === CHANNEL && m.bot)
    .map((m) => (m.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key)
    .filter((k): k is string => typeof k === 'string');
}

describe('two bot replicas (processes) on one queue and one PostgreSQL database', () => {
  it('drain 100 files with findings: every alert once, across a SIGKILL mid-file and one right after a Slack post; a malformed object goes to the DLQ', async () => {
    sqs.createQueue('alerts-dlq');
    const queue = sqs.createQueue('alerts', { deadLetter: 'alerts-dlq', maxReceiveCount: 3 });
    const files = buildDeliveryFiles(100);
    for (const f of files) s3.put(BUCKET, f.key, f.body);
    const expected = await expectedAlertKeys(files, 'medium');
    const all = [...expected.values()].flat();
    expect(all.length).toBeGreaterThanOrEqual(200);
    expect([...expected.values()].every((keys) => keys.length > 0)).toBe(true);

    const broken = files[50]!.key.replace('.json.gz', '-truncated.json.gz');
    s3.put(BUCKET, broken, files[50]!.body.subarray(0, 400));
    const skipped = [
      'AWSLogs/o-exampleorg/218007301253/CloudTrail-Digest/us-east-1/2023/07/10/218007301253_CloudTrail-Digest_us-east-1_t_20230710T1200Z.json.gz',
      'AWSLogs/o-exampleorg/218007301253/CloudTrail-Insight/us-east-1/2023/07/10/x.json.gz',
      'AWSLogs/o-exampleorg/218007301253/CloudTrail/us-east-1/2023/07/10/',
    ];

    // The first kill: whoever starts downloading file 30 dies half-way through it.
    const slowFile = files[30]!;
    s3.slow(BUCKET, slowFile.key, { firstBytes: Math.floor(slowFile.body.length / 2), holdMs: 30_000 });
    const kills: { replica: string; object: string; when: string }[] = [];
    s3.onGet = (request) => {
      if (request.key !== slowFile.key || kills.length > 0) return;
      const victim = replicas.get(request.accessKeyId);
      if (!victim) return;
      kills.push({ replica: victim.name, object: request.key, when: 'mid-download' });
      victim.child.kill('SIGKILL');
    };
    // The second kill: the replica posting file 70's first alert dies as Slack accepts it.
    const target: DeliveryFile = files[70]!;
    const targetKeys = new Set(expected.get(target.key));
    standin.state.on('event', (event: { type: string; message?: { metadata?: unknown } }) => {
      const key = (event.message?.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload
        ?.key;
      if (event.type !== 'message' || !key || !targetKeys.has(key) || kills.length !== 1) return;
      const fetcher = [...s3.requests].reverse().find((r) => r.key === target.key);
      const victim = fetcher && replicas.get(fetcher.accessKeyId);
      if (!victim || victim.child.exitCode !== null) return;
      kills.push({ replica: victim.name, object: target.key, when: `after Slack accepted ${key}` });
      victim.child.kill('SIGKILL');
    });

    const a = startReplica('a', queue.url);
    const b = startReplica('b', queue.url);
    files.forEach((f, i) => {
      sqs.send('alerts', s3Notification(BUCKET, f.key, f.body.length));
      if (i === 10) sqs.send('alerts', s3Notification(BUCKET, broken));
      if (i === 20) for (const k of skipped) sqs.send('alerts', s3Notification(BUCKET, k));
    });

    await waitFor('the first kill', () => kills.length === 1, 120_000);
    const firstVictim = kills[0]!.replica === 'a' ? a : b;
    expect((await firstVictim.exited).signal).toBe('SIGKILL');
    const c = startReplica('c', queue.url);
    await waitFor('the second kill', () => kills.length === 2, 180_000);
    await waitFor(
      'queue drained',
      () => queue.messages.length === 0 && sqs.queue('alerts-dlq').messages.length >= 1,
      180_000,
    );
    // Only the malformed object is dead: a good file never ran out of receives (a kill costs one, and a loaded
    // machine may cost one more when a visibility extension comes late; hence 3 receives, not 2).
    expect(sqs.queue('alerts-dlq').messages.map((m) => JSON.parse(m.body).Records[0].s3.object.key)).toEqual([
      broken,
    ]);

    // Exactly once: every expected alert, none twice, nothing else.
    const posted = postedKeys();
    const counts = new Map<string, number>();
    for (const k of posted) counts.set(k, (counts.get(k) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    expect([...counts.keys()].sort()).toEqual([...new Set(all)].sort());

    // Both victims' messages were received again, by a survivor, after the visibility timeout.
    for (const kill of kills) {
      const m = queue.deleted.find((x) => JSON.parse(x.body).Records[0].s3.object.key === kill.object)!;
      const victimKey = [...replicas.values()].find((r) => r.name === kill.replica)!.key;
      expect(m.receives.length).toBeGreaterThanOrEqual(2);
      expect(m.receives[0]!.accessKeyId).toBe(victimKey);
      const last = m.receives.at(-1)!;
      expect(last.accessKeyId).not.toBe(victimKey);
      expect(last.at - m.receives[0]!.at).toBeGreaterThanOrEqual(VISIBILITY * 1000);
    }
    expect(kills.map((k) => k.replica)).not.toContain(undefined);

    // The malformed object: in the DLQ after 3 receives, with an error line naming it and the reason.
    const dead = sqs.queue('alerts-dlq').messages[0]!;
    expect(JSON.parse(dead.body).Records[0].s3.object.key).toBe(broken);
    const survivors = [a, b, c];
    const lines = survivors.flatMap((r) => r.logs);
    const dlqLine = lines.find((l) => l.level === 50 && String(l.msg).includes('dead-letter queue'));
    expect(dlqLine).toMatchObject({ object: `s3://${BUCKET}/${broken}`, receiveCount: 3 });
    expect(String(dlqLine?.reason)).toMatch(/truncated gzip|no CloudTrail record/);
    // Skipped keys: deleted with a debug line, never fetched.
    const skipLines = lines.filter((l) => l.msg === 'sqs: skipped, not a CloudTrail log file');
    expect(skipLines.map((l) => l.reason).sort()).toEqual([
      'CloudTrail Insights file',
      'CloudTrail digest file',
      'folder marker',
    ]);
    expect(s3.requests.filter((r) => skipped.includes(r.key))).toHaveLength(0);
    // The second victim died with its post in Slack and its ledger row 'pending': a survivor found the
    // post by its metadata instead of posting again.
    const acceptedKey = kills[1]!.when.replace('after Slack accepted ', '');
    const settles = lines.filter((l) => String(l.msg).startsWith('sqs: alert left pending'));
    expect(settles).toContainEqual(expect.objectContaining({ key: acceptedKey, settled: 'confirmed' }));
    // Work was shared: each replica that lived analysed files.
    const analysed = (r: Replica) => r.logs.filter((l) => l.msg === 'sqs: object analysed').length;
    expect(survivors.filter((r) => analysed(r) > 0).length).toBeGreaterThanOrEqual(2);
    const report = {
      files: files.length,
      alerts: counts.size,
      posts: posted.length,
      kills,
      analysedBy: Object.fromEntries(survivors.map((r) => [r.name, analysed(r)])),
      dlq: dlqLine?.reason,
      settled: settles.map((l) => `${l.key}:${l.settled}`),
    };
    process.stdout.write(`sqs replicas: ${JSON.stringify(report)}\n`);
    for (const r of survivors) if (r.child.exitCode === null) r.child.kill('SIGTERM');
    await Promise.all(survivors.map((r) => r.exited));
  }, 420_000);
});
