/**
 * Slack latency of the real bot:
 *   node bin/run-ts.js bench/slack-latency.ts
 *
 * Runs the bot the way it is deployed, `cartographer start` in its own process (HTTP receiver on
 * 127.0.0.1), reading a generated local corpus that holds one 10,000-event console session among ordinary
 * ones. This process plays Slack: the local stand-in (playground/standin) sends correctly signed slash
 * commands, serves the Web API and response URLs the bot calls, and keeps the time. Then:
 *   1. command → summary: `/cartographer session <key>` for the 10,000-event session, timed from sending the
 *      signed command to the moment the parent summary (the header message) lands in the channel; median of
 *      three runs after one warm-up lookup (which loads the rules; its time is reported as the cold start).
 *   2. two bursts of 200 concurrent slash commands (an analyst mix: 1 in 5 a lookup of a user's sessions, the
 *      rest help and a mistyped command), each timed from sending to its HTTP answer, which is Slack's
 *      acknowledgement: every one must be answered 200, p99 under 100 ms. The burst's commands then run to
 *      completion (one audit line each, read from the bot's log) before the bot is stopped.
 *   3. the harness floor: the same two bursts sent the same way to a server (its own process) that does
 *      nothing but answer 200. Sending 200 requests with fetch costs this process about as much CPU as the
 *      bot spends acknowledging them, so the floor says how much of the measured latency is the load
 *      generator's own; the target is still judged on the bot's numbers alone.
 * Prints one JSON line: `{ rows: [{ metric, value, target, met }], … }`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type SlackStandin, startSlackStandin } from '../playground/standin/server.ts';
import type { StandinEvent } from '../playground/standin/state.ts';
import { generate } from './generate.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = join(root, 'bench/out/slack-corpus');
const LONG_SESSION = 10_000;
const BACKGROUND = 3_000;
const BURST = 200;
const CHANNEL = 'C0SOCTRIAGE';
const VERSION = '1';
const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';
const BOT_TOKEN = 'xoxb-bench-0000-bot-token';

async function corpus(): Promise<{ sessionKey: string; users: string[] }> {
  const marker = join(CORPUS, '.generated.json');
  if (existsSync(marker)) {
    const saved = JSON.parse(readFileSync(marker, 'utf8'));
    if (saved.version === VERSION) return saved;
  }
  const g = await generate(root, CORPUS, BACKGROUND, { longSession: LONG_SESSION, seed: 3 });
  if (!g.longSession) throw new Error('the generator did not write the long session');
  const saved = { version: VERSION, sessionKey: g.longSession.sessionKey, users: g.users.slice(0, 40) };
  writeFileSync(marker, JSON.stringify(saved));
  return saved;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** `cartographer start` in its own process; its JSON log lines (audits among them) are collected. */
async function startBot(
  standin: SlackStandin,
): Promise<{ child: ChildProcess; port: number; audits: Record<string, unknown>[] }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cartographer-bench-'));
  const child = spawn(process.execPath, [join(root, 'bin/cartographer.js'), 'start'], {
    cwd: root,
    env: {
      ...process.env,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: standin.apiUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      CARTOGRAPHER_DB: join(dir, 'bot.db'),
      CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
      CARTOGRAPHER_LOCAL_PATH: CORPUS,
      CARTOGRAPHER_SOURCE: 'local',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const audits: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.audit === true) audits.push(entry);
    } catch {
      // not a log line
    }
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the bot exited with ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error('the bot did not start within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  standin.setBotUrl(`http://127.0.0.1:${port}/slack/events`);
  return { child, port, audits };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** CPU milliseconds a process has used so far (Linux /proc; undefined elsewhere). */
function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, in 10 ms ticks
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const { sessionKey, users } = await corpus();
const standin = await startSlackStandin({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN });
const bot = await startBot(standin);

/** Sends one command; resolves with the time until the parent summary (a header message) is in the channel. */
async function commandToSummary(text: string): Promise<number> {
  const started = performance.now();
  const posted = new Promise<number>((resolveTime, reject) => {
    const timer = setTimeout(() => reject(new Error(`no summary for '${text}' within 60 s`)), 60_000);
    const onEvent = (e: StandinEvent) => {
      if (e.type !== 'update' && e.type !== 'message') return;
      if (e.message.channel !== CHANNEL || e.message.thread_ts) return;
      if (e.message.blocks?.[0]?.type !== 'header') return;
      clearTimeout(timer);
      standin.state.off('event', onEvent);
      resolveTime(performance.now() - started);
    };
    standin.state.on('event', onEvent);
  });
  const seen = bot.audits.length;
  const res = await standin.sendSlashCommand(text);
  if (res.status !== 200) throw new Error(`'${text}' answered ${res.status}`);
  const ms = await posted;
  // Let the thread replies finish before the next run, so runs do not overlap.
  await until(`the audit line of '${text}'`, () => bot.audits.length > seen, 60_000);
  return ms;
}

interface BurstResult {
  acked: number;
  p50: number;
  p99: number;
  max: number;
  ackedAllMs: number;
  doneMs: number;
  botCpuMs?: number;
  loadAverage: number;
  outcomes: Record<string, number>;
  failures: { status: number; ms: number; error?: string }[];
}

/** Sends every command at once; each is timed to its HTTP answer. Waits for all to finish (audit lines). */
async function burst(texts: string[]): Promise<BurstResult> {
  const auditsBefore = bot.audits.length;
  const loadAverage = loadavg()[0]!;
  const cpuBefore = cpuMs(bot.child.pid);
  const started = performance.now();
  const results = await Promise.all(
    texts.map(async (text) => {
      const sent = performance.now();
      try {
        const res = await standin.sendSlashCommand(text);
        return { status: res.status, ms: performance.now() - sent };
      } catch (err) {
        return { status: 0, ms: performance.now() - sent, error: (err as Error).message };
      }
    }),
  );
  const ackedAllMs = performance.now() - started;
  const cpuAfter = cpuMs(bot.child.pid);
  await until(
    'every command of the burst to finish',
    () => bot.audits.length - auditsBefore >= texts.length,
    300_000,
  );
  const outcomes: Record<string, number> = {};
  for (const a of bot.audits.slice(auditsBefore))
    outcomes[String(a.outcome)] = (outcomes[String(a.outcome)] ?? 0) + 1;
  const lat = results.map((r) => r.ms).sort((a, b) => a - b);
  return {
    acked: results.filter((r) => r.status === 200).length,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat.at(-1)!,
    ackedAllMs,
    doneMs: performance.now() - started,
    // The bot's own CPU time while the burst was being acknowledged (background work included): what the
    // latency would be bounded by on an idle machine, whatever else shares the cores.
    ...(cpuBefore !== undefined && cpuAfter !== undefined ? { botCpuMs: cpuAfter - cpuBefore } : {}),
    loadAverage,
    outcomes,
    failures: results.filter((r) => r.status !== 200),
  };
}

/** Two bursts, timed exactly as the bot's, against a process that answers every request 200 at once. */
async function harnessFloor(texts: string[]): Promise<{ p50: number; p99: number }[]> {
  const port = await freePort();
  const server = `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => { s.writeHead(200); s.end(); }); }).listen(${port}, '127.0.0.1', () => console.log('up'));`;
  const child = spawn(process.execPath, ['-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolveUp, reject) => {
      child.stdout!.once('data', () => resolveUp());
      child.once('exit', (code) => reject(new Error(`the floor server exited with ${code}`)));
    });
    standin.setBotUrl(`http://127.0.0.1:${port}/slack/events`);
    const out: { p50: number; p99: number }[] = [];
    for (let b = 0; b < 2; b++) {
      const lat = (
        await Promise.all(
          texts.map(async (text) => {
            const sent = performance.now();
            await standin.sendSlashCommand(text);
            return performance.now() - sent;
          }),
        )
      ).sort((x, y) => x - y);
      out.push({ p50: percentile(lat, 50), p99: percentile(lat, 99) });
    }
    return out;
  } finally {
    child.kill('SIGTERM');
    standin.setBotUrl(`http://127.0.0.1:${bot.port}/slack/events`);
  }
}

try {
  const cold = await commandToSummary(`user ${users[0]}`);
  const runs: number[] = [];
  const runsCpu: number[] = [];
  for (let i = 0; i < 3; i++) {
    const before = cpuMs(bot.child.pid) ?? 0;
    runs.push(await commandToSummary(`session ${sessionKey}`));
    // Includes the thread replies posted after the summary (the run waits for its audit line).
    runsCpu.push((cpuMs(bot.child.pid) ?? 0) - before);
  }
  const summaryMs = [...runs].sort((a, b) => a - b)[1]!;
  const summaryCpuMs = [...runsCpu].sort((a, b) => a - b)[1]!;
  const parent = standin.state.channelMessages(CHANNEL).at(-1);
  const events = /([\d,]+) events/.exec(parent?.text ?? '')?.[1];

  const texts = Array.from({ length: BURST }, (_, i) =>
    i % 5 === 0 ? `user ${users[(i / 5) % users.length]}` : i % 10 === 3 ? 'sesion typo' : 'help',
  );
  // Two bursts: the first meets code paths the lookups above did not warm (help, usage replies); the
  // second, once the first has finished, is the bot in its steady state.
  const first = await burst(texts);
  const second = await burst(texts);
  const floor = await harnessFloor(texts);
  const acked = first.acked + second.acked;
  const worst = first.p99 >= second.p99 ? first : second;
  const rows = [
    {
      metric: `Slack: ${BURST} concurrent commands acknowledged (×2 bursts)`,
      value: `${acked}/${2 * BURST} (HTTP 200); each burst answered in ${first.ackedAllMs.toFixed(0)} / ${second.ackedAllMs.toFixed(0)} ms`,
      target: `${2 * BURST}/${2 * BURST}`,
      met: acked === 2 * BURST,
    },
    {
      metric: 'Slack: acknowledgement p50 / p99 (1st, 2nd burst)',
      value: `${first.p50.toFixed(0)} / ${first.p99.toFixed(0)} ms, ${second.p50.toFixed(0)} / ${second.p99.toFixed(0)} ms (bot CPU ${first.botCpuMs ?? '?'} / ${second.botCpuMs ?? '?'} ms per burst, load ${first.loadAverage.toFixed(1)})`,
      target: 'p99 < 100 ms',
      met: worst.p99 < 100,
    },
    {
      metric: 'Slack: harness floor, same bursts to a do-nothing server: p50 / p99 (1st, 2nd burst)',
      value: floor.map((f) => `${f.p50.toFixed(0)} / ${f.p99.toFixed(0)} ms`).join(', '),
      target: 'context for the row above (the load generator’s own share)',
      met: true,
    },
    {
      metric: `Slack: command → summary, ${LONG_SESSION.toLocaleString('en-US')}-event session`,
      value: `${(summaryMs / 1000).toFixed(2)} s (median of 3; bot CPU ${(summaryCpuMs / 1000).toFixed(2)} s per lookup incl. thread; cold start ${(cold / 1000).toFixed(2)} s)`,
      target: '< 2 s',
      met: summaryMs < 2000,
    },
  ];
  process.stdout.write(
    `${JSON.stringify({
      rows,
      sessionKey,
      summaryEvents: events,
      summaryRunsMs: runs,
      summaryRunsBotCpuMs: runsCpu,
      coldStartMs: cold,
      bursts: [first, second],
      harnessFloor: floor,
    })}\n`,
  );
} finally {
  bot.child.kill('SIGTERM');
  await new Promise((r) => bot.child.once('exit', r));
  await standin.close();
}
