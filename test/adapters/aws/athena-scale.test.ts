/**
 * Org-scale scans on Athena, on a generated organisation day (bench/org-day.ts: real recorded sessions replayed over
 * 3 accounts × 2 regions — automation polling all day, people in the console, a few recorded attacks) served by the
 * local Athena endpoint, where the generated SQL runs in DuckDB:
 *
 *   - `cartographer digest --source athena` reports the same digest (sessions, ranking, findings, counts, new facts)
 *     as `cartographer digest` on the same files and covers 100 % of the day, with the shipped rules and with a
 *     fixed rule set (test/fixtures/athena-rules/); with the fixed set it reads at most 5 % of the day's rows (with
 *     the shipped rules the share is printed);
 *   - the alert scan over the day posts each finding once, the same alerts as the scan of the files;
 *   - a forced row cap makes the scan incomplete: Slack and the log say so with the coverage, the watermark stays.
 *
 * The 300,000-event day's figures come from `npm run bench` (bench/athena-scale.ts); this day is smaller to keep the
 * test file fast, with the same composition.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAthenaSource } from '../../../adapters/aws/athena-source.ts';
import { metrics } from '../../../adapters/observability/metrics.ts';
import { createDetectorFactory } from '../../../adapters/rules/detection-rules.ts';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { generateOrgDay } from '../../../bench/org-day.ts';
import { meteredSources } from '../../../bot/lookup/metered-sources.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler } from '../../../bot/scheduler/scheduler.ts';
import type { OutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { digestJson } from '../../../engine/digest/build.ts';
import { produceDigest } from '../../../engine/digest/produce.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import type { RecordSource } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import type { PipelineStages } from '../../../engine/stages.ts';
import { createEnricherFactory } from '../../../enrichment/index.ts';
import {
  type AwsEndpoint,
  loadCloudTrailDir,
  startAwsEndpoint,
  TEST_ATHENA_SOURCE,
} from '../../support/aws-endpoint.ts';
import { runCli } from '../../support/cli.ts';
import { TEST_DIR } from '../../support/paths.ts';

const DATE = '2026-01-05';
const EVENTS = 20_000;
const EIGHT_HOURS = 8 * 3_600_000;
let dir: string;
let endpoint: AwsEndpoint;
let athenaEnv: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cartographer-org-day-'));
  await generateOrgDay(process.cwd(), dir, {
    date: DATE,
    accounts: ['111111111111', '222222222222', '333333333333'],
    regions: ['us-east-1', 'eu-west-1'],
    events: EVENTS,
  });
  const folders = new Set(files(dir).map((f) => f.slice(0, f.lastIndexOf('/'))));
  endpoint = await startAwsEndpoint({ records: [...folders].flatMap(loadCloudTrailDir) });
  athenaEnv = {
    ...endpoint.env,
    CARTOGRAPHER_ATHENA_DATABASE: 'security',
    CARTOGRAPHER_ATHENA_OUTPUT: 's3://soc-athena-results/cartographer/',
  };
}, 120_000);

afterAll(async () => {
  await endpoint?.close();
  rmSync(dir, { recursive: true, force: true });
});

function files(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const cli = runCli;

describe('the digest of an organisation day on Athena', () => {
  it('with the shipped rules: equals `cartographer digest` on the same files and covers the whole day', async () => {
    const [local, athena] = await Promise.all([
      cli(['digest', dir, '--date', DATE, '--format', 'json']),
      cli(['digest', '--source', 'athena', '--date', DATE, '--format', 'json'], athenaEnv),
    ]);
    expect(local.code, local.stderr).toBe(0);
    expect(athena.code, athena.stderr).toBe(0);
    const l = JSON.parse(local.stdout);
    const { athena: facts, ...a } = JSON.parse(athena.stdout);
    // A real day: hundreds of sessions, findings at several severities, a ranking with risk.
    expect(l.sessions.length).toBeGreaterThan(200);
    expect(l.sessions.filter((s: { risk: number }) => s.risk > 0).length).toBeGreaterThan(10);
    expect(Object.values(l.countsBySeverity).filter((n) => (n as number) > 0).length).toBeGreaterThanOrEqual(
      3,
    );
    // Same sessions in the same order, same findings (ids, evidence, explanations), same counts and "new".
    expect(a).toEqual(l);
    expect(facts.coverage).toBe(1);
    expect(facts.bytesScanned).toBeGreaterThan(0);
    expect(facts.costUsd).toBeGreaterThan(0);
    // How much of the day comes into Node depends on the rule set: event rules pushed down exactly are counted in
    // SQL, the events of thresholds and sequences that can fire (and of rules SQL cannot decide) come whole. The
    // share is reported, not asserted, here (the shipped rules change); the next test asserts it on a fixed rule set.
    const evidence = new Set(
      l.sessions.flatMap((s: { findings: { eventIds: string[] }[] }) =>
        s.findings.flatMap((f) => f.eventIds),
      ),
    );
    expect(facts.rowsRead).toBeLessThan(EVENTS);
    console.info(
      `shipped rules: ${facts.rowsRead} of ${EVENTS} rows into Node (${pct(facts.rowsRead / EVENTS)}); ` +
        `findings' evidence alone: ${evidence.size} (${pct(evidence.size / EVENTS)})`,
    );
  }, 300_000);

  it('with a fixed rule set: the same digest as the local pipeline, reading ≤ 5 % of the day', async () => {
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    // The kinds of rules Cartographer ships (event rules, enrichment facts, org lists, thresholds per principal and
    // across sessions, a sequence, credential lineage), fixed here so the share does not move with rule tuning.
    const stages = await fixtureStages();
    const options = { date: DATE, defaultDate: DATE, timeZone: 'UTC', baselineDays: 14 };
    const local = await produceDigest(createLocalSource([dir]), stages(), options);
    const athena = await produceDigest(createAthenaSource(athenaOptions), stages(), options);
    const l = digestJson(local.digest);
    expect(l.sessions.filter((s) => s.findings.length > 0).length).toBeGreaterThanOrEqual(5);
    expect(digestJson(athena.digest)).toEqual(l);
    expect(athena.coverage).toBe(1);
    expect(athena.stats?.rows).toBeLessThanOrEqual(EVENTS * 0.05);
    console.info(
      `fixed rules: ${athena.stats?.rows} of ${EVENTS} rows into Node (${pct((athena.stats?.rows ?? 0) / EVENTS)})`,
    );
    vi.unstubAllEnvs();
  }, 180_000);
});

const athenaOptions = { ...TEST_ATHENA_SOURCE, pollInitialMs: 20, pollMaxMs: 100 };

async function athenaBytesMetric(): Promise<number> {
  return (await metrics.athenaBytesScanned.get()).values[0]?.value ?? 0;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)} %`;
}

async function fixtureStages(): Promise<() => PipelineStages> {
  const enrichers = await createEnricherFactory();
  const signalMapper = await createSignalMapper({});
  const detectors = await createDetectorFactory({
    rulesDir: join(TEST_DIR, 'fixtures', 'athena-rules'),
  });
  return () => ({ enricher: enrichers(), signalMapper, detector: detectors() });
}

interface Posted {
  key: string;
  text: string;
  blocks: string;
}

function recordingOutbox(posted: Posted[]): OutboxPoster {
  return {
    async post(_channel, message, key) {
      posted.push({ key, text: message.text, blocks: JSON.stringify(message.blocks ?? []) });
      return `${posted.length}.000000`;
    },
    async find() {
      return undefined;
    },
  };
}

async function scanDay(
  source: RecordSource,
  scope: string,
  ticks: number,
  env: Record<string, string> = {},
  from = `${DATE}T00:00:00Z`,
  tickMs = 4 * 3_600_000,
  stages: () => Promise<PipelineStages> = loadDefaultStages,
) {
  const state = openSchedulerState(':memory:');
  const posted: Posted[] = [];
  const lines: string[] = [];
  const log = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const start = Date.parse(from);
  const clock = manualClock(start);
  const scheduler = createScheduler({
    config: loadSchedulerConfig({
      CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
      CARTOGRAPHER_SCHEDULE: 'off',
      CARTOGRAPHER_ALERT_MIN_SEVERITY: 'medium',
      CARTOGRAPHER_ALERT_EVERY_MINUTES: '240',
      ...env,
    }),
    state,
    sourceName: source.name,
    source: async () => source,
    stages,
    outbox: recordingOutbox(posted),
    logger: pino({ level: 'info' }, log),
    clock,
  });
  await state.setWatermark(scope, start);
  const watermarks: (number | undefined)[] = [];
  for (let i = 0; i < ticks; i++) {
    clock.advance(tickMs);
    await scheduler.scanNow('tick');
    watermarks.push(await state.getWatermark(scope));
  }
  await state.close();
  return { posted, lines, watermarks, last: scheduler.lastScan };
}

describe('alert scans of an organisation day on Athena', () => {
  // The slowest test: DuckDB runs 4 ticks' scan statements (hundreds of counted rules) and threshold findings with
  // RANGE frames (under 2 min even on a 2-core machine loaded 6-fold); a correctness test, so the limit only stops a hang.
  it('post each finding once, the same alerts as the scan of the files', async () => {
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const before = endpoint.calls('StartQueryExecution').length;
    const bytesBefore = await athenaBytesMetric();
    // Through the bot's metered source provider (bot/app.ts), which must keep the grouped scan.
    const athena = await meteredSources(async () => createAthenaSource(athenaOptions))('athena');
    const scopes = {
      CARTOGRAPHER_SCAN_ACCOUNTS: '111111111111,222222222222,333333333333',
      CARTOGRAPHER_SCAN_REGIONS: 'us-east-1,eu-west-1',
    };
    const [fromFiles, fromAthena] = await Promise.all([
      scanDay(
        createLocalSource([dir]),
        'local/*/*',
        4,
        { CARTOGRAPHER_ALERT_EVERY_MINUTES: '480' },
        undefined,
        EIGHT_HOURS,
      ),
      scanDay(
        athena,
        'athena/all',
        4,
        { ...scopes, CARTOGRAPHER_ALERT_EVERY_MINUTES: '480' },
        undefined,
        EIGHT_HOURS,
      ),
    ]);
    const alerts = (p: Posted[]) => p.filter((x) => !x.key.startsWith('note:')).map((x) => x.key);
    const athenaKeys = alerts(fromAthena.posted);
    expect(athenaKeys.length).toBeGreaterThan(5);
    expect(new Set(athenaKeys).size).toBe(athenaKeys.length);
    expect([...athenaKeys].sort()).toEqual([...alerts(fromFiles.posted)].sort());
    // One scan statement per tick for all 6 accounts × regions, as partition predicates of the same query.
    const scans = endpoint
      .calls('StartQueryExecution')
      .slice(before)
      .map((c) => String(c.body.QueryString))
      .filter((sql) => sql.includes('GROUPING SETS'));
    expect(scans).toHaveLength(4);
    for (const sql of scans) {
      expect(sql).toContain('account IN (?, ?, ?)');
      expect(sql).toContain('region IN (?, ?)');
    }
    // Every alert says what its scan cost; the watermark reached the last tick.
    for (const p of fromAthena.posted.filter((x) => !x.key.startsWith('note:')))
      expect(p.blocks).toMatch(/Athena scan of .* scanned, \$0\.\d{4}/);
    expect(fromAthena.watermarks.at(-1)).toBe(Date.parse(`${DATE}T00:00:00Z`) + 4 * EIGHT_HOURS);
    // The bytes Athena reported are on /metrics.
    const scanned = fromAthena.lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'alert scan')
      .reduce((n, l) => n + l.bytesScanned, 0);
    expect(scanned).toBeGreaterThan(0);
    expect((await athenaBytesMetric()) - bytesBefore).toBeGreaterThanOrEqual(scanned);
    vi.unstubAllEnvs();
  }, 480_000);

  it('a forced row cap makes the window incomplete: said in Slack and the log with the coverage, no watermark advance', async () => {
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    // Midday, one hour of an organisation's activity: no part of it fits in 20 rows.
    const capped = createAthenaSource({ ...athenaOptions, maxEvents: 20 });
    const noon = `${DATE}T12:00:00Z`;
    const run = await scanDay(
      capped,
      'athena/all',
      1,
      { CARTOGRAPHER_ALERT_EVERY_MINUTES: '60' },
      noon,
      3_600_000,
      async () => (await fixtureStages())(),
    );
    const note = run.posted.find((p) => p.key.startsWith('incomplete:'));
    expect(note?.text).toMatch(
      /^Alert scan incomplete: covered 0\.0 % of 2026-01-05 11:45:00 UTC – 2026-01-05 13:00:00 UTC; .* could not be scanned \(.*more than 20 rows/,
    );
    expect(run.posted.filter((p) => !p.key.startsWith('incomplete:') && !p.key.startsWith('note:'))).toEqual(
      [],
    );
    const log = run.lines
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'alert scan incomplete' && 'coverage' in l);
    expect(log).toMatchObject({ coverage: 0, level: 40 });
    expect(run.watermarks).toEqual([Date.parse(noon)]);
    expect(run.last?.coverage).toBe(0);
    vi.unstubAllEnvs();
  }, 120_000);
});
