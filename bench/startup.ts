/**
 * Start-up time and memory of the bot, before and after the build step, and of the Docker image:
 *
 *   before  the TypeScript sources through tsx (what `npm start` and the image ran until dist/ existed)
 *   after   the compiled dist/ (`npm start` now), on the same Node
 *   image   the Dockerfile's steps performed by bin/rehearse-image.js: its exact Node 24, the production
 *           dependencies, running as an unprivileged user on a read-only tree with state in the /data volume
 *
 * Each starts 3 times in playground mode (no Slack credentials: the bot and the local Slack stand-in in one
 * process); measured: spawn → /readyz 200 in CPU time (the machines are shared: CPU seconds move less with the
 * load than wall time, which is shown beside them), resident memory then, and resident memory after one session
 * lookup of the demo data (`/cartographer session …` through the stand-in, until the summary is posted). Medians.
 *
 *   node bin/run-ts.js bench/startup.ts      (called by bench/run.ts; prints a JSON line with table rows)
 *   node bin/run-ts.js bench/startup.ts --before DIR
 *       the bot's cold start from dist/ of another copy of the project (the code before a change) against this
 *       one's, alternately, three rounds of three starts each (no tsx or image); prints one line per round
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  rehearseBuild,
  rssKb,
  startContainer,
  stop,
  waitForPort,
  // @ts-expect-error: a plain JavaScript module of bin/ (no types)
} from '../bin/rehearse-image.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 3;
/** A console session in demo/ (Invictus data set). */
const DEMO_KEY = 'AKIATFQR7NSC8Q4X20BJ';

interface Sample {
  readyMs: number;
  readyCpuMs: number;
  rssReadyMb: number;
  rssAfterLookupMb: number;
}

interface Started {
  child: ChildProcess;
  error?: Error;
}

function log(s: string) {
  process.stderr.write(`[startup] ${s}\n`);
}

const playgroundEnv = () => ({
  HOST: '127.0.0.1',
  PORT: '0',
  CARTOGRAPHER_PLAYGROUND_PORT: '0',
  LOG_LEVEL: 'info',
});

/** Starts one variant, waits for /readyz, runs one lookup, stops it. */
async function sample(start: () => Started): Promise<Sample> {
  const started = start();
  // From the spawn (the image's read-only preparation before it is not start-up).
  const t0 = performance.now();
  let output = '';
  started.child.stdout!.on('data', (d) => {
    output += d;
  });
  started.child.stderr!.on('data', (d) => {
    output += d;
  });
  try {
    const port: number = await waitForPort(() => output, started);
    await untilReady(port);
    const readyMs = performance.now() - t0;
    const readyCpuMs = cpuMs(started.child.pid!);
    const rssReadyMb = rssKb(started.child.pid) / 1024;
    const standin = /Open in a browser:\s+(http:\/\/127\.0\.0\.1:\d+)\//.exec(output)![1]!;
    await lookup(standin);
    const rssAfterLookupMb = rssKb(started.child.pid) / 1024;
    const code = await stop(started.child);
    if (code !== 0) throw new Error(`exit ${code} after SIGTERM`);
    return { readyMs, readyCpuMs, rssReadyMb, rssAfterLookupMb };
  } catch (err) {
    started.child.kill('SIGKILL');
    process.stderr.write(output);
    throw err;
  }
}

/** Polls /readyz until it answers 200; fails with its last answer after a minute. */
async function untilReady(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
    if (res?.ok) return;
    if (Date.now() > deadline) throw new Error(`not ready within 60 s: ${await res?.text()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** CPU milliseconds a process has used so far (Linux /proc: utime + stime in 10 ms ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** `/cartographer session <demo key>` through the stand-in, until the session's summary is in the channel. */
async function lookup(standin: string): Promise<void> {
  const post = await fetch(`${standin}/api/command`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: `session ${DEMO_KEY}`, channel: 'soc-triage' }),
  });
  if (!post.ok) throw new Error(`stand-in answered ${post.status}`);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const state = (await (await fetch(`${standin}/api/state`)).json()) as { messages: { text: string }[] };
    if (state.messages.some((m) => /[Ss]ession of/.test(m.text))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no session summary within 60 s');
}

function localVariant(args: string[], cwd = root): () => Started {
  return () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-startup-'));
    const child = spawn(process.execPath, args, {
      cwd,
      env: {
        PATH: process.env.PATH,
        ...playgroundEnv(),
        CARTOGRAPHER_DB: join(dir, 'bot.db'),
        CARTOGRAPHER_ALLOWLIST: join(dir, 'allowlist.yaml'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const started: Started = { child };
    child.on('error', (err) => {
      started.error = err;
    });
    return started;
  };
}

async function measure(name: string, start: () => Started): Promise<Sample> {
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await sample(start));
  const median = (f: (s: Sample) => number) => samples.map(f).sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
  const m = {
    readyMs: median((s) => s.readyMs),
    readyCpuMs: median((s) => s.readyCpuMs),
    rssReadyMb: median((s) => s.rssReadyMb),
    rssAfterLookupMb: median((s) => s.rssAfterLookupMb),
  };
  log(
    `${name}: ready after ${m.readyCpuMs.toFixed(0)} ms CPU (wall ${m.readyMs.toFixed(0)} ms), RSS ${m.rssReadyMb.toFixed(0)} MB, after a lookup ${m.rssAfterLookupMb.toFixed(0)} MB`,
  );
  return m;
}

execFileSync(process.execPath, [join(root, 'bin/build.js'), '--if-stale'], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const beforeAt = process.argv.indexOf('--before');
if (beforeAt > 0) {
  const other = resolve(process.argv[beforeAt + 1] ?? '');
  execFileSync(process.execPath, [join(other, 'bin/build.js'), '--if-stale'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let round = 1; round <= 3; round++) {
    const b = await measure(
      `round ${round}, before (${other})`,
      localVariant(['bin/cartographer.js', 'start'], other),
    );
    const a = await measure(`round ${round}, this copy`, localVariant(['bin/cartographer.js', 'start']));
    log(
      `round ${round}: ready after ${b.readyCpuMs} → ${a.readyCpuMs} ms CPU (${(a.readyCpuMs / b.readyCpuMs).toFixed(2)}×)`,
    );
  }
  process.exit(0);
}
const before = await measure('tsx sources', localVariant(['bin/run-ts.js', 'cli/main.ts', 'start']));
const after = await measure('dist', localVariant(['bin/cartographer.js', 'start']));
log('building the image (the Dockerfile steps, bin/rehearse-image.js)…');
// The same directory as `node bin/rehearse-image.js` (outside the repository): reused when its inputs are unchanged.
const image = rehearseBuild();
const inImage = await measure(`image (Node ${image.node})`, () => startContainer(image, playgroundEnv()));

const secs = (m: Sample) => `${(m.readyCpuMs / 1000).toFixed(2)} s (wall ${(m.readyMs / 1000).toFixed(2)} s)`;
const pct = (a: number, b: number) => `${b < a ? '−' : '+'}${Math.abs((1 - b / a) * 100).toFixed(0)} %`;
const rows = [
  {
    metric: 'start-up to /readyz, CPU (wall), median of 3: tsx sources → dist; image',
    value: `${secs(before)} → ${secs(after)} (${pct(before.readyCpuMs, after.readyCpuMs)} CPU, Node ${process.versions.node}); image ${secs(inImage)} (Node ${image.node}, non-root, read-only)`,
    target: 'dist below tsx (CPU)',
    met: after.readyCpuMs < before.readyCpuMs,
  },
  {
    metric: 'resident memory at ready: tsx sources → dist; image',
    value: `${before.rssReadyMb.toFixed(0)} MB → ${after.rssReadyMb.toFixed(0)} MB (${pct(before.rssReadyMb, after.rssReadyMb)}); image ${inImage.rssReadyMb.toFixed(0)} MB`,
    target: 'dist smaller than tsx',
    met: after.rssReadyMb < before.rssReadyMb,
  },
  {
    metric: 'resident memory after one session lookup: tsx sources → dist; image',
    value: `${before.rssAfterLookupMb.toFixed(0)} MB → ${after.rssAfterLookupMb.toFixed(0)} MB (${pct(before.rssAfterLookupMb, after.rssAfterLookupMb)}); image ${inImage.rssAfterLookupMb.toFixed(0)} MB`,
    target: '',
    met: null,
  },
  {
    metric: 'image build without Docker (Dockerfile steps, bin/rehearse-image.js)',
    value: `${image.cached ? 'reused (same inputs), built ' : ''}${image.buildSeconds.toFixed(0)} s; ${(image.sizeBytes / 2 ** 20).toFixed(0)} MiB on top of ${image.base}; app files sha256 ${image.appDigest.slice(0, 12)}`,
    target: '',
    met: null,
  },
];
process.stdout.write(
  `${JSON.stringify({ rows, before, after, image: { ...inImage, node: image.node, buildSeconds: image.buildSeconds, sizeBytes: image.sizeBytes, appDigest: image.appDigest, steps: image.steps } })}\n`,
);
