/**
 * The health check tells the truth: /healthz (what Docker's HEALTHCHECK and Kubernetes ask) fails while the Slack
 * Socket Mode connection is down and while the state store cannot be written, names the failing check, and
 * recovers with them. The read-only store is a real one: the compiled bot (`bin/cartographer.js start`) runs in its
 * own process and its database file and directory are made read-only under it (as root, the process runs without
 * the capability to override file modes, through util-linux's setpriv, so the modes bind it as they bind a
 * non-root user).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openStores } from '../../adapters/store/open-stores.ts';
import type { Bot } from '../../bot/app.ts';
import { createLogger } from '../../bot/audit.ts';
import { createHealth, schedulerCheck } from '../../bot/health.ts';
import { manualClock } from '../../bot/scheduler/clock.ts';
import { composeBot } from '../../compose/bot.ts';
import { loadBotConfig } from '../../config/bot.ts';
import { loadConfig } from '../../config/config.ts';
import { loadSchedulerSettings } from '../../config/settings.ts';
import { loadStageSettings } from '../../config/stage-settings.ts';
import { startPostgres } from '../support/postgres.ts';
import { FIXTURE_DIR, waitFor } from '../support/slack-harness.ts';
import { type SocketModeSlack, startSocketModeSlack } from '../support/socket-mode-slack.ts';

interface Probe {
  status: number;
  body: { status: string; ready: boolean; checks: Record<string, { ok: boolean; detail: string }> };
}

async function probe(port: number, path = '/healthz'): Promise<Probe> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: (await res.json()) as Probe['body'] };
}

/** Polls `path` until its answer satisfies `want`. */
async function until(port: number, what: string, want: (p: Probe) => boolean, path = '/healthz') {
  let last: Probe | undefined;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    last = await probe(port, path).catch(() => undefined);
    if (last && want(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}; last answer: ${JSON.stringify(last)}`);
}

/** Calls `get` until its value satisfies `done` (at most 20 tries, 100 ms apart); returns the last value. */
async function poll<T>(get: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  let v = await get();
  for (let i = 0; i < 20 && !done(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await get();
  }
  return v;
}

const quiet = new Writable({ write: (_c, _e, done) => done() });

let slack: SocketModeSlack | undefined;
let bot: Bot | undefined;
let child: ChildProcess | undefined;
afterEach(async () => {
  await bot?.stop();
  await slack?.close();
  child?.kill('SIGTERM');
  bot = undefined;
  slack = undefined;
  child = undefined;
});

describe('health check', () => {
  it('Socket Mode: fails while the Slack connection is down, passes again once it is back', async () => {
    slack = await startSocketModeSlack();
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-health-'));
    const clock = manualClock(Date.now());
    const config = loadBotConfig({
      SLACK_BOT_TOKEN: 'xoxb-health-test',
      SLACK_APP_TOKEN: 'xapp-1-health-test',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      CARTOGRAPHER_DB: join(dir, 'bot.db'),
      CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
      CARTOGRAPHER_LOCAL_PATH: FIXTURE_DIR,
    });
    const settings = {
      bot: config,
      scheduler: loadSchedulerSettings({ CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS' }),
      sources: () => loadConfig(process.env),
      stages: () => loadStageSettings(process.env),
    };
    bot = composeBot(settings, { logger: createLogger('info', quiet), clock });
    const { port } = await bot.start();
    expect(config.socketMode).toBe(true);

    const up = await until(port!, 'healthy', (p) => p.status === 200);
    expect(up.body.checks.slack).toEqual({ ok: true, detail: 'Socket Mode connected' });
    expect(up.body.checks.store).toEqual({ ok: true, detail: 'writable' });
    expect(up.body.checks.scheduler?.ok).toBe(true);
    expect((await probe(port!, '/readyz')).status).toBe(200);

    // Slack drops the connection; the reconnection is held back until the probe has seen the outage.
    slack.hold();
    slack.drop();
    const down = await until(port!, 'unhealthy', (p) => p.status === 503);
    expect(down.body.status).toBe('failing');
    expect(down.body.checks.slack?.ok).toBe(false);
    expect(down.body.checks.slack?.detail).toMatch(
      /^Socket Mode (disconnected|reconnecting|connecting|socket closed)/,
    );
    expect(down.body.checks.store?.ok).toBe(true);
    expect((await probe(port!, '/readyz')).status).toBe(503);

    slack.release();
    const back = await until(port!, 'healthy again', (p) => p.status === 200);
    expect(back.body.checks.slack?.ok).toBe(true);
    expect(slack.connections).toBe(2);

    // The scheduler's heartbeat ticks once a minute: ten minutes without a tick is a stopped scheduler.
    clock.advance(10 * 60_000);
    const stale = await probe(port!);
    expect(stale.status).toBe(503);
    expect(stale.body.checks.scheduler).toMatchObject({ ok: false });
    expect(stale.body.checks.scheduler?.detail).toMatch(/expected every 60 s/);
  }, 60_000);

  it('fails while the state store is read-only (the compiled bot in its own process), passes once writable again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-health-ro-'));
    const bot = [process.execPath, 'bin/cartographer.js', 'start'];
    // Root writes through any file mode (CAP_DAC_OVERRIDE): drop that capability for the bot's process.
    const caps = '-dac_override,-dac_read_search';
    const argv =
      process.getuid?.() === 0 ? ['setpriv', `--inh-caps=${caps}`, `--bounding-set=${caps}`, ...bot] : bot;
    child = spawn(argv[0]!, argv.slice(1), {
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        CARTOGRAPHER_PLAYGROUND_PORT: '0',
        CARTOGRAPHER_DB: join(dir, 'bot.db'),
        CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
        CARTOGRAPHER_LOCAL_PATH: FIXTURE_DIR,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    child.stderr!.resume();
    const port = await waitFor('the bot to listen', () => {
      if (spawnError) throw spawnError;
      if (child!.exitCode !== null) throw new Error(`the bot exited with ${child!.exitCode}: ${out}`);
      const line = out.split('\n').find((l) => l.includes('"listening for Slack requests"'));
      return line ? (JSON.parse(line) as { port: number }).port : undefined;
    });
    const up = await until(port, 'healthy', (p) => p.status === 200);
    expect(up.body.checks.store).toEqual({ ok: true, detail: 'writable' });

    chmodSync(join(dir, 'bot.db'), 0o444);
    chmodSync(dir, 0o555);
    const down = await probe(port);
    expect(down.status).toBe(503);
    expect(down.body.checks.store?.ok).toBe(false);
    expect(down.body.checks.store?.detail).toMatch(/ is not writable \(EACCES\)$/);
    expect(down.body.checks.slack?.ok).toBe(true);

    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'bot.db'), 0o644);
    expect((await probe(port)).status).toBe(200);
  }, 60_000);

  it('PostgreSQL store: the probe fails while the database accepts only reads, passes once it accepts writes', async () => {
    const server = await startPostgres();
    const url = await server.createDatabase('health_probe');
    const stores = openStores({ dbFile: '', databaseUrl: url });
    const admin = new pg.Client({ connectionString: url });
    try {
      await stores.ready;
      await stores.probe();
      await admin.connect();
      // As after a fail-over to a standby: new sessions are read-only; the pool's connections are dropped.
      const setReadOnly = async (on: boolean) => {
        await admin.query(
          `ALTER DATABASE health_probe SET default_transaction_read_only = ${on ? 'on' : 'off'}`,
        );
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
      };
      const outcome = () =>
        stores.probe().then(
          () => 'ok',
          (e: Error) => e.message,
        );
      await setReadOnly(true);
      // The first query after the drop may meet a connection the server just closed: poll for the answer.
      const failed = await poll(outcome, (o) => /read-only transaction/.test(o));
      expect(failed).toMatch(/cannot execute INSERT in a read-only transaction/);
      await setReadOnly(false);
      expect(await poll(outcome, (o) => o === 'ok')).toBe('ok');
    } finally {
      await admin.end().catch(() => {});
      await Promise.all([stores.bot.close(), stores.scheduler.close(), stores.triage.close()]);
      await server.stop();
    }
  }, 120_000);

  it('the scheduler check: recent heartbeat passes, none for three intervals fails, no jobs passes', async () => {
    let now = 1_000_000;
    let beat: { enabled: boolean; lastTickAt?: number; startedAt?: number } = {
      enabled: true,
      startedAt: now,
    };
    const health = createHealth([
      schedulerCheck(
        () => beat,
        () => now,
        60_000,
      ),
    ]);
    expect((await health.report()).ok).toBe(true);
    now += 179_000;
    expect((await health.report()).ok).toBe(true);
    now += 2_000;
    expect((await health.report()).checks.scheduler).toEqual({
      ok: false,
      detail: 'started 181 s ago (expected every 60 s)',
    });
    beat = { ...beat, lastTickAt: now - 30_000 };
    expect((await health.report()).checks.scheduler).toEqual({ ok: true, detail: 'last tick 30 s ago' });
    beat = { enabled: false };
    expect((await health.report()).checks.scheduler).toEqual({ ok: true, detail: 'no scheduled jobs' });
  });
});
