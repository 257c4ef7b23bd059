/**
 * Athena at organisation scale: node bin/run-ts.js bench/athena-scale.ts
 *
 * For each generated organisation day (bench/org-day.ts; BENCH_ATHENA = "events:accountsxregions,…", default
 * "300000:3x2,1000000:50x2"), served by the local Athena endpoint (the SQL runs in DuckDB; bytes scanned are the gzip
 * size of the partitions a statement reads, as Athena bills CloudTrail's gzip files):
 *
 *   digest      `cartographer digest --source athena` of the day: statements, rows pulled into Node, bytes, dollars,
 *               wall time, and the local-file digest of the same day as the correctness check (same JSON)
 *   alert scan  the scheduled scan over the whole day (one tick per TICK_HOURS): statements, rows, bytes, dollars
 *
 * and both extrapolated to 100M events a day (bytes and dollars grow with the events read; statements do not).
 * Wall times are DuckDB's on this machine, not Athena's. Prints one JSON line: `{ rows: [{ metric, value, target, met }] }`.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { digestJson } from '../engine/digest/build.ts';
import { produceDigest } from '../engine/digest/produce.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';
import { loadCloudTrailDir, startAwsEndpoint } from '../test/support/aws-endpoint.ts';
import { generateOrgDay } from './org-day.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATE = '2026-01-05';
const TICK_HOURS = Number(process.env.BENCH_ATHENA_TICK_HOURS ?? 4);
const GENERATOR_VERSION = '1';
const REGIONS = ['us-east-1', 'eu-west-1', 'us-west-2', 'eu-central-1'];

interface Row {
  metric: string;
  value: string;
  target: string;
  met: boolean | null;
}

interface Spec {
  events: number;
  accounts: number;
  regions: number;
}

function specs(): Spec[] {
  return (process.env.BENCH_ATHENA ?? '300000:3x2,1000000:50x2').split(',').map((s) => {
    const [events, shape] = s.split(':');
    const [accounts, regions] = (shape ?? '3x2').split('x').map(Number);
    return { events: Number(events), accounts: accounts!, regions: regions! };
  });
}

function log(s: string) {
  process.stderr.write(`[bench athena] ${s}\n`);
}

function files(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

async function day(spec: Spec): Promise<string> {
  const dir = join(root, 'bench/out', `orgday-${spec.events}-${spec.accounts}x${spec.regions}`);
  const marker = join(dir, '.generated');
  const want = `${GENERATOR_VERSION}:${JSON.stringify(spec)}`;
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return dir;
  const started = performance.now();
  const accounts = Array.from({ length: spec.accounts }, (_, i) => String(100000000000 + i * 7919));
  const g = await generateOrgDay(root, dir, {
    date: DATE,
    accounts,
    regions: REGIONS.slice(0, spec.regions),
    events: spec.events,
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(marker, want);
  log(
    `generated ${g.records} records (${JSON.stringify(g.byKind)}) in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  return dir;
}

const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
const usd = (d: number) => `$${d < 0.01 ? d.toFixed(4) : d.toFixed(2)}`;
const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(2)} %`;
/** Rows by what they are (GroupedScanStats.rowsByKind), largest first. */
const kinds = (s: { rowsByKind?: Record<string, number> }) =>
  Object.entries(s.rowsByKind ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n.toLocaleString('en-US')}`)
    .join(', ');

async function measure(spec: Spec): Promise<Row[]> {
  const dir = await day(spec);
  const folders = new Set(files(dir).map((f) => f.slice(0, f.lastIndexOf('/'))));
  let t = performance.now();
  let count = 0;
  function* streamed() {
    for (const folder of folders) {
      for (const r of loadCloudTrailDir(folder)) {
        count++;
        yield r;
      }
    }
  }
  const endpoint = await startAwsEndpoint({ athenaRecords: streamed() });
  log(`${count} records served by DuckDB in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  Object.assign(process.env, endpoint.env);
  const { createAthenaSource } = await import('../adapters/aws/athena-source.ts');
  const { loadDefaultStages } = await import('../compose/stages.ts');
  const athena = () =>
    createAthenaSource({
      region: 'us-east-1',
      database: 'security',
      table: 'cloudtrail_logs',
      pollInitialMs: 50,
      pollMaxMs: 250,
      timeoutMs: 3_600_000,
      maxEvents: 500_000,
    });
  const options = { date: DATE, defaultDate: DATE, timeZone: 'UTC', baselineDays: 14 };
  try {
    t = performance.now();
    const local = await produceDigest(createLocalSource([dir]), await loadDefaultStages(), options);
    const localSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const grouped = await produceDigest(athena(), await loadDefaultStages(), options);
    const athenaSeconds = (performance.now() - t) / 1000;
    const localJson = digestJson(local.digest);
    const same = JSON.stringify(localJson) === JSON.stringify(digestJson(grouped.digest));
    const s = grouped.stats!;
    // Rows no engine can leave out for the same findings: every finding's evidence.
    const evidence = new Set(localJson.sessions.flatMap((x) => x.findings.flatMap((f) => f.eventIds))).size;
    log(`digest: ${JSON.stringify(s)} same=${same} evidence=${evidence}`);
    // The same comparison with the fixed rule set of test/adapters/aws/athena-scale.test.ts, whose evidence is a small part of
    // the day: what the pushdown itself costs, apart from what a rule set makes necessary.
    const fixed = await fixtureStages();
    t = performance.now();
    const fixedLocal = await produceDigest(createLocalSource([dir]), fixed(), options);
    const fixedLocalSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    const fixedGrouped = await produceDigest(athena(), fixed(), options);
    const fixedSeconds = (performance.now() - t) / 1000;
    const fixedSame =
      JSON.stringify(digestJson(fixedLocal.digest)) === JSON.stringify(digestJson(fixedGrouped.digest));
    log(`digest (fixed rules): ${JSON.stringify(fixedGrouped.stats)} same=${fixedSame}`);
    const scans = await alertScans(athena(), await loadDefaultStages());
    return rowsFor(
      spec,
      count,
      { s, same, localSeconds, athenaSeconds, coverage: grouped.coverage ?? 0, evidence },
      {
        s: fixedGrouped.stats!,
        same: fixedSame,
        localSeconds: fixedLocalSeconds,
        athenaSeconds: fixedSeconds,
        coverage: fixedGrouped.coverage ?? 0,
      },
      scans,
    );
  } finally {
    await endpoint.close();
  }
}

interface Scans {
  queries: number;
  rows: number;
  bytes: number;
  usd: number;
  seconds: number;
  ticks: number;
  posted: number;
  /** Every alert key posted once (the ledger keeps a finding from being posted twice). */
  distinctPosts: number;
  maxStatementsPerTick: number;
  capped: Capped;
}

interface Capped {
  coverage: number;
  watermarkMoved: boolean;
  incompletePosted: boolean;
  incompleteLogged: boolean;
}

/** The scheduled alert scan over the whole day, one tick every TICK_HOURS (plus one for late delivery). */
async function alertScans(
  source: Awaited<ReturnType<typeof import('../adapters/aws/athena-source.ts')['createAthenaSource']>>,
  stages: Awaited<ReturnType<typeof import('../compose/stages.ts')['loadDefaultStages']>>,
): Promise<Scans> {
  const { openSchedulerState } = await import('../adapters/state/sqlite-scheduler-state.ts');
  const { manualClock } = await import('../bot/scheduler/clock.ts');
  const { loadSchedulerConfig } = await import('../config/scheduler.ts');
  const { createScheduler } = await import('../bot/scheduler/scheduler.ts');
  const lines: Record<string, number>[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) {
        const j = JSON.parse(l);
        if (j.msg === 'alert scan') lines.push(j);
      }
      done();
    },
  });
  const state = openSchedulerState(':memory:');
  const start = Date.parse(`${DATE}T00:00:00Z`);
  const clock = manualClock(start);
  let posted = 0;
  const keys = new Set<string>();
  const scheduler = createScheduler({
    config: loadSchedulerConfig({
      CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
      CARTOGRAPHER_SCHEDULE: 'off',
      CARTOGRAPHER_ALERT_EVERY_MINUTES: String(TICK_HOURS * 60),
    }),
    state,
    sourceName: 'athena',
    source: async () => source,
    stages: async () => stages,
    outbox: {
      post: async (_channel, _message, key) => {
        keys.add(key);
        return `${++posted}.000000`;
      },
      find: async () => undefined,
    },
    logger: pino({ level: 'info' }, sink),
    clock,
  });
  await state.setWatermark('athena/all', start);
  const ticks = Math.ceil(24 / TICK_HOURS) + 1;
  const t = performance.now();
  for (let i = 0; i < ticks; i++) {
    clock.advance(TICK_HOURS * 3_600_000);
    await scheduler.scanNow('bench');
  }
  const seconds = (performance.now() - t) / 1000;
  await state.close();
  const sum = (k: string) => lines.reduce((n, l) => n + (l[k] ?? 0), 0);
  return {
    queries: sum('queries'),
    rows: sum('rows'),
    bytes: sum('bytesScanned'),
    usd: sum('costUsd'),
    seconds,
    ticks,
    posted,
    distinctPosts: keys.size,
    maxStatementsPerTick: Math.max(...lines.map((l) => l.queries ?? 0)),
    capped: await cappedTick(),
  };
}

/** One hourly tick at noon with the row cap forced down to 100: the window must fail, visibly, and stay. */
async function cappedTick(): Promise<Capped> {
  const { createAthenaSource } = await import('../adapters/aws/athena-source.ts');
  const { loadDefaultStages } = await import('../compose/stages.ts');
  const { openSchedulerState } = await import('../adapters/state/sqlite-scheduler-state.ts');
  const { manualClock } = await import('../bot/scheduler/clock.ts');
  const { loadSchedulerConfig } = await import('../config/scheduler.ts');
  const { createScheduler } = await import('../bot/scheduler/scheduler.ts');
  const source = createAthenaSource({
    region: 'us-east-1',
    database: 'security',
    table: 'cloudtrail_logs',
    pollInitialMs: 50,
    pollMaxMs: 250,
    maxEvents: 100,
  });
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      logged.push(String(chunk));
      done();
    },
  });
  const keys: string[] = [];
  const state = openSchedulerState(':memory:');
  const start = Date.parse(`${DATE}T12:00:00Z`);
  const clock = manualClock(start);
  const scheduler = createScheduler({
    config: loadSchedulerConfig({
      CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
      CARTOGRAPHER_SCHEDULE: 'off',
      CARTOGRAPHER_ALERT_EVERY_MINUTES: '60',
    }),
    state,
    sourceName: 'athena',
    source: async () => source,
    stages: loadDefaultStages,
    outbox: {
      post: async (_channel, _message, key) => {
        keys.push(key);
        return `${keys.length}.000000`;
      },
      find: async () => undefined,
    },
    logger: pino({ level: 'info' }, sink),
    clock,
  });
  await state.setWatermark('athena/all', start);
  clock.advance(3_600_000);
  await scheduler.scanNow('bench-capped');
  const watermark = await state.getWatermark('athena/all');
  await state.close();
  return {
    coverage: scheduler.lastScan?.coverage ?? 1,
    watermarkMoved: watermark !== start,
    incompletePosted: keys.some((k) => k.startsWith('incomplete:')),
    incompleteLogged: logged.some((l) => l.includes('alert scan incomplete')),
  };
}

interface DigestRun {
  s: NonNullable<Awaited<ReturnType<typeof produceDigest>>['stats']>;
  same: boolean;
  localSeconds: number;
  athenaSeconds: number;
  coverage: number;
}

async function fixtureStages() {
  const { createDetectorFactory } = await import('../adapters/rules/detection-rules.ts');
  const { createEnricherFactory } = await import('../enrichment/index.ts');
  const { createSignalMapper } = await import('../engine/signals/index.ts');
  const enrichers = await createEnricherFactory();
  const signalMapper = await createSignalMapper({});
  const detectors = await createDetectorFactory({ rulesDir: join(root, 'test/fixtures/athena-rules') });
  return () => ({ enricher: enrichers(), signalMapper, detector: detectors() });
}

function rowsFor(
  spec: Spec,
  events: number,
  d: DigestRun & { evidence: number },
  f: DigestRun,
  a: Scans,
): Row[] {
  const label = `${(spec.events / 1e6).toLocaleString('en-US')}M-event day, ${spec.accounts} accounts × ${spec.regions} regions`;
  const scale = 100e6 / events;
  return [
    {
      metric: `Athena digest, shipped rules, ${label}`,
      value: `${d.s.queries} statements, ${d.s.rows.toLocaleString('en-US')} rows pulled (${pct(d.s.rows, events)} of the day: ${kinds(d.s)}; the findings' evidence is ${d.evidence.toLocaleString('en-US')} events = ${pct(d.evidence, events)}), ${mb(d.s.bytesScanned)} scanned, ${usd(d.s.costUsd)}, covered ${(d.coverage * 100).toFixed(0)} %; DuckDB ${d.athenaSeconds.toFixed(0)} s vs local files ${d.localSeconds.toFixed(0)} s; same digest as the files: ${d.same ? 'yes' : 'NO'}`,
      target: '≤ 5 % rows, same digest, 100 %',
      met: d.s.rows <= events * 0.05 && d.same && d.coverage === 1,
    },
    {
      metric: `Athena digest, fixed rule set (test/fixtures/athena-rules), ${label}`,
      value: `${f.s.queries} statements, ${f.s.rows.toLocaleString('en-US')} rows pulled (${pct(f.s.rows, events)} of the day: ${kinds(f.s)}), ${mb(f.s.bytesScanned)} scanned, ${usd(f.s.costUsd)}, covered ${(f.coverage * 100).toFixed(0)} %; DuckDB ${f.athenaSeconds.toFixed(0)} s vs local files ${f.localSeconds.toFixed(0)} s; same digest as the files: ${f.same ? 'yes' : 'NO'}`,
      target: '≤ 5 % rows, same digest, 100 %',
      met: f.s.rows <= events * 0.05 && f.same && f.coverage === 1,
    },
    {
      metric: `Athena alert scans over the day (${a.ticks} ticks), ${label}`,
      value: `${a.queries} statements (≤ ${a.maxStatementsPerTick} a tick, all accounts and regions in one), ${a.rows.toLocaleString('en-US')} rows pulled, ${mb(a.bytes)} scanned, ${usd(a.usd)}, ${a.posted} posts (${a.distinctPosts} distinct); DuckDB ${a.seconds.toFixed(0)} s`,
      target: 'one scan statement a tick, each finding posted once',
      met: a.maxStatementsPerTick <= 3 && a.distinctPosts === a.posted,
    },
    {
      metric: `Athena alert scan with the row cap forced to 100 (noon, 1 h), ${label}`,
      value: `coverage ${(a.capped.coverage * 100).toFixed(1)} %, "incomplete" posted: ${a.capped.incompletePosted ? 'yes' : 'NO'}, logged: ${a.capped.incompleteLogged ? 'yes' : 'NO'}, watermark advanced: ${a.capped.watermarkMoved ? 'YES' : 'no'}`,
      target: 'incomplete, no watermark advance',
      met:
        a.capped.coverage < 1 &&
        a.capped.incompletePosted &&
        a.capped.incompleteLogged &&
        !a.capped.watermarkMoved,
    },
    {
      metric: `… extrapolated to 100M events a day (${spec.accounts} accounts × ${spec.regions} regions)`,
      value: `digest ${mb(d.s.bytesScanned * scale)} scanned ≈ ${usd((d.s.bytesScanned * scale * 5) / 1e12)}, ≤ ${Math.round(d.s.rows * scale).toLocaleString('en-US')} rows; alert scans every ${TICK_HOURS} h ≈ ${usd((a.bytes * scale * 5) / 1e12)} a day (bytes and rows grow with the events; statements do not)`,
      target: '',
      met: null,
    },
  ];
}

const rows: Row[] = [];
for (const spec of specs()) rows.push(...(await measure(spec)));
process.stdout.write(`${JSON.stringify({ rows })}\n`);
