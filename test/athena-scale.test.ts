/**
 * Org-scale scans on Athena, on a generated organisation day (bench/org-day.ts: real recorded sessions replayed over
 * 3 accounts × 2 regions — automation polling all day, people in the console, a few recorded attacks) served by the
 * local Athena endpoint, where the generated SQL runs in DuckDB:
 *
 *   - `cartographer digest --source athena` reports the same digest (sessions, ranking, findings, counts, new facts)
 *     as `cartographer digest` on the same files, covers 100 % of the day, and reads at most 5 % of the day's rows;
 *   - the alert scan over the day posts each finding once, the same alerts as the scan of the files;
 *   - a forced row cap makes the scan incomplete: Slack and the log say so with the coverage, the watermark stays.
 *
 * The 300,000-event day's figures come from `npm run bench` (bench/athena-scale.ts); this day is smaller to keep the
 * test file fast, with the same composition.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAthenaSource } from '../adapters/aws/athena-source.ts';
import { openSchedulerState } from '../adapters/state/sqlite-scheduler-state.ts';
import { generateOrgDay } from '../bench/org-day.ts';
import { manualClock } from '../bot/scheduler/clock.ts';
import { loadSchedulerConfig } from '../bot/scheduler/config.ts';
import { createScheduler } from '../bot/scheduler/scheduler.ts';
import type { OutboxPoster } from '../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../cli/stages.ts';
import type { RecordSource } from '../engine/source.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';
import { type AwsEndpoint, loadCloudTrailDir, startAwsEndpoint } from './support/aws-endpoint.ts';

const DATE = '2026-01-05';
const EVENTS = 30_000;
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

function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/cartographer.js', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('the digest of an organisation day on Athena', () => {
  it('equals `cartographer digest` on the same files, covers the whole day and reads ≤ 5 % of its rows', async () => {
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
    expect(facts.rowsRead).toBeLessThanOrEqual(EVENTS * 0.05);
    expect(facts.bytesScanned).toBeGreaterThan(0);
    expect(facts.costUsd).toBeGreaterThan(0);
  }, 180_000);
});

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
    stages: loadDefaultStages,
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
  const athenaOptions = {
    region: 'us-east-1',
    database: 'security',
    table: 'cloudtrail_logs',
    pollInitialMs: 20,
    pollMaxMs: 100,
  };

  it('post each finding once, the same alerts as the scan of the files', async () => {
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const before = endpoint.calls('StartQueryExecution').length;
    const scopes = {
      CARTOGRAPHER_SCAN_ACCOUNTS: '111111111111,222222222222,333333333333',
      CARTOGRAPHER_SCAN_REGIONS: 'us-east-1,eu-west-1',
    };
    const [fromFiles, fromAthena] = await Promise.all([
      scanDay(createLocalSource([dir]), 'local/*/*', 7),
      scanDay(createAthenaSource(athenaOptions), 'athena/all', 7, scopes),
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
    expect(scans).toHaveLength(7);
    for (const sql of scans) {
      expect(sql).toContain('account IN (?, ?, ?)');
      expect(sql).toContain('region IN (?, ?)');
    }
    // Every alert says what its scan cost; the watermark reached the last tick.
    for (const p of fromAthena.posted.filter((x) => !x.key.startsWith('note:')))
      expect(p.blocks).toMatch(/Athena scan of .* scanned, \$0\.\d{4}/);
    expect(fromAthena.watermarks.at(-1)).toBe(Date.parse(`${DATE}T00:00:00Z`) + 7 * 4 * 3_600_000);
    vi.unstubAllEnvs();
  }, 240_000);

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
