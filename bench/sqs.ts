/**
 * Near-real-time alerts from the queue:
 *   node bin/run-ts.js bench/sqs.ts
 *
 * One bot replica (`cartographer start`, its own process, SQLite store, CARTOGRAPHER_ALERT_SOURCE=sqs)
 * reads the local SQS endpoint (JSON protocol) and S3 endpoint (REST) from test/support through the real
 * SDK clients and posts to the Slack stand-in.
 *
 *   1. throughput: the bench corpus (bench/generate.ts, realistic delivery files of up to 500 records,
 *      gzipped as CloudTrail stores them) notified at once; records per second from the first
 *      notification to the last message deleted (every record fetched, analysed and decided), and per
 *      CPU second of the replica process;
 *   2. latency: a 1 MB gzip delivery file (corpus records, fresh event IDs each round) notified into an
 *      idle, long-polling replica, 20 rounds: time from SendMessage to the first alert of the file in
 *      Slack, and to the message's deletion (every alert of the file posted), p50 / p95.
 *
 * Prints one JSON line: `{ rows: [{ metric, value, target, met }], … }`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type SlackStandin, startSlackStandin } from '../playground/standin/server.ts';
import { s3Notification } from '../test/support/delivery-files.ts';
import { type S3Endpoint, startS3Endpoint } from '../test/support/s3-endpoint.ts';
import { type SqsEndpoint, startSqsEndpoint } from '../test/support/sqs-endpoint.ts';
import { generate } from './generate.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS_SIZE = 20_000;
const ROUNDS = 20;
const BUCKET = 'bench-cloudtrail';
const TOKEN = 'xoxb-bench-sqs';
const SECRET = 'bench-sqs-signing-secret';
const CHANNEL = 'C0SOCTRIAGE';
type Json = Record<string, unknown>;

interface CorpusFile {
  key: string;
  records: Json[];
}

async function corpus(): Promise<CorpusFile[]> {
  const dir = join(root, 'bench/out', `sqs-${CORPUS_SIZE}`);
  const marker = join(dir, '.generated');
  if (!existsSync(marker)) {
    await generate(root, dir, CORPUS_SIZE);
    writeFileSync(marker, String(CORPUS_SIZE));
  }
  const files: CorpusFile[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.json(\.gz)?$/.test(e.name)) {
        const bytes = readFileSync(p);
        const text = (bytes[0] === 0x1f ? gunzipSync(bytes) : bytes).toString('utf8');
        const key = relative(dir, p).replace(/\.json$/, '.json.gz');
        files.push({ key, records: (JSON.parse(text) as { Records: Json[] }).Records });
      }
    }
  };
  walk(dir);
  return files.sort((a, b) => a.key.localeCompare(b.key));
}

function startReplica(
  standin: SlackStandin,
  sqs: SqsEndpoint,
  s3: S3Endpoint,
  queueUrl: string,
): ChildProcess {
  const dir = mkdtempSync(join(tmpdir(), 'cartographer-bench-sqs-'));
  return spawn(process.execPath, [join(root, 'bin/cartographer.js'), 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      SLACK_BOT_TOKEN: TOKEN,
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_API_URL: standin.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: process.env.BENCH_SQS_LOG_LEVEL ?? 'warn',
      CARTOGRAPHER_DB: join(dir, 'bot.db'),
      CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
      CARTOGRAPHER_ALERT_CHANNEL: CHANNEL,
      CARTOGRAPHER_ALERT_SOURCE: 'sqs',
      CARTOGRAPHER_SQS_QUEUE_URL: queueUrl,
      CARTOGRAPHER_SQS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ACCESS_KEY_ID: 'AKIABENCHREPLICA0001',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_REGION: 'us-east-1',
    },
    stdio: ['ignore', process.env.BENCH_SQS_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
  });
}

/** Corpus records enough for a delivery file of at least `bytes` gzip bytes (found once, by doubling). */
function largeRecords(files: CorpusFile[], bytes: number): Json[] {
  const pool = files.flatMap((f) => f.records);
  let n = 1000;
  while (n < pool.length && gzipSync(JSON.stringify({ Records: pool.slice(0, n) })).length < bytes) n *= 2;
  let lo = n / 2;
  let hi = Math.min(n, pool.length);
  while (hi - lo > 100) {
    const mid = Math.floor((lo + hi) / 2);
    if (gzipSync(JSON.stringify({ Records: pool.slice(0, mid) })).length < bytes) lo = mid;
    else hi = mid;
  }
  return pool.slice(0, hi);
}

/** Those records with every eventID tagged (new alerts each round), gzipped. */
function largeFile(records: Json[], tag: string): Buffer {
  return gzipSync(
    JSON.stringify({ Records: records.map((r) => ({ ...r, eventID: `${String(r.eventID)}-${tag}` })) }),
  );
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const files = await corpus();
const [standin, sqs, s3] = await Promise.all([
  startSlackStandin({ signingSecret: SECRET, botToken: TOKEN }),
  startSqsEndpoint(),
  startS3Endpoint(),
]);
const queue = sqs.createQueue('cloudtrail-alerts');
const postTimes: number[] = [];
standin.state.on('event', (e: { type: string }) => {
  if (e.type === 'message') postTimes.push(Date.now());
});
const replica = startReplica(standin, sqs, s3, queue.url);
try {
  // Ready when its first long poll arrives.
  await until('the replica to poll the queue', () => sqs.calls('ReceiveMessage').length > 0, 60_000);

  // 1. Throughput.
  let records = 0;
  for (const f of files) {
    s3.put(BUCKET, f.key, gzipSync(JSON.stringify({ Records: f.records })));
    records += f.records.length;
  }
  const cpu0 = cpuMs(replica.pid);
  const t0 = performance.now();
  for (const f of files) sqs.send(queue.name, s3Notification(BUCKET, f.key));
  await until('the corpus drained', () => queue.deleted.length === files.length, 600_000);
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = cpu0 !== undefined ? ((cpuMs(replica.pid) ?? cpu0) - cpu0) / 1000 : undefined;
  const alertsPosted = postTimes.length;

  // 2. Latency of a 1 MB file.
  const first: number[] = [];
  const all: number[] = [];
  let size = 0;
  const base = largeRecords(files, 1_000_000);
  const fileRecords = base.length;
  for (let i = 0; i < ROUNDS; i++) {
    const big = { body: largeFile(base, `lat${i}`) };
    size = big.body.length;
    const key = `AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/05/111122223333_CloudTrail_us-east-1_20260105T12${String(i).padStart(2, '0')}Z_lat${i}.json.gz`;
    s3.put(BUCKET, key, big.body);
    const postsBefore = postTimes.length;
    const deletedBefore = queue.deleted.length;
    const sent = Date.now();
    sqs.send(queue.name, s3Notification(BUCKET, key, big.body.length));
    await until(`round ${i}`, () => queue.deleted.length > deletedBefore, 120_000);
    const done = queue.deleted.at(-1)!.deletedAt!;
    if (postTimes.length === postsBefore) throw new Error(`round ${i}: the 1 MB file gave no alert`);
    first.push(postTimes[postsBefore]! - sent);
    all.push(done - sent);
  }
  first.sort((a, b) => a - b);
  all.sort((a, b) => a - b);
  const p95 = percentile(first, 95);
  const rows = [
    {
      metric: 'SQS → decision, one replica',
      value: `${Math.round(records / seconds).toLocaleString('en-US')} records/s wall${cpuSeconds ? `, ${Math.round(records / cpuSeconds).toLocaleString('en-US')} per CPU s of the replica` : ''} (${records.toLocaleString('en-US')} records in ${files.length} gzip files, ${alertsPosted} alerts posted)`,
      target: '',
      met: null,
    },
    {
      metric: `notification → first Slack alert, ${(size / 1e6).toFixed(2)} MB gzip (${fileRecords.toLocaleString('en-US')} records)`,
      value: `p50 ${percentile(first, 50)} ms, p95 ${p95} ms (${ROUNDS} rounds); all alerts posted and message deleted: p50 ${percentile(all, 50)} ms, p95 ${percentile(all, 95)} ms`,
      target: 'p95 < 2000 ms',
      met: p95 < 2000,
    },
  ];
  process.stdout.write(
    `${JSON.stringify({ rows, throughput: { records, files: files.length, seconds, cpuSeconds, alertsPosted }, latency: { bytes: size, records: fileRecords, firstMs: first, allMs: all } })}\n`,
  );
} finally {
  replica.kill('SIGTERM');
  await new Promise((r) => replica.once('exit', r));
  await Promise.all([standin.close(), sqs.close(), s3.close()]);
}
