#!/usr/bin/env node
/**
 * `npm run build`: compiles the TypeScript sources to dist/ (ES modules, source maps), copies the files the code
 * reads beside itself (the playground's web page, the Athena DDL, IAM policy samples) and links dist/rules to
 * ../rules, so compiled code finds the rule data where the sources do and a rule edit needs no rebuild.
 *
 *   node bin/build.js            always builds
 *   node bin/build.js --if-stale builds only when a source changed since the last build (what `npm start` runs)
 *
 * Types are checked by `npm run typecheck` (CI runs it); the build only emits (`tsc --noCheck`, a few seconds).
 * It writes dist.tmp-<pid> and swaps it in, so a concurrent reader never sees half a dist/.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The directories compiled into dist/ (tests, bench and the table builders stay sources). */
export const SOURCE_DIRS = [
  'cli',
  'compose',
  'config',
  'engine',
  'enrichment',
  'bot',
  'adapters',
  'playground',
];
const CONFIG_FILES = ['tsconfig.json', 'tsconfig.build.json'];
const STAMP = '.build-stamp.json';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/** Newest modification time and number of the build's inputs; undefined where the sources are absent (an image). */
export function sourceFingerprint(base = root) {
  if (!existsSync(join(base, 'cli/main.ts'))) return undefined;
  let newest = 0;
  let count = 0;
  for (const dir of SOURCE_DIRS) {
    for (const file of walk(join(base, dir))) {
      newest = Math.max(newest, statSync(file).mtimeMs);
      count++;
    }
  }
  for (const file of CONFIG_FILES) newest = Math.max(newest, statSync(join(base, file)).mtimeMs);
  return { newest, count };
}

/** 'current', 'stale' (a source changed since the build), 'missing' (no dist/) or 'prebuilt' (no sources). */
export function buildState(base = root) {
  const stampFile = join(base, 'dist', STAMP);
  if (!existsSync(stampFile)) return 'missing';
  const now = sourceFingerprint(base);
  if (!now) return 'prebuilt';
  const built = JSON.parse(readFileSync(stampFile, 'utf8'));
  return now.newest <= built.newest && now.count === built.count ? 'current' : 'stale';
}

function hasTypescript() {
  try {
    createRequire(import.meta.url).resolve('typescript/bin/tsc');
    return true;
  } catch {
    return false;
  }
}

function emit(outDir) {
  if (!hasTypescript())
    throw new Error('the build needs the dev dependencies (typescript): run `npm ci` first');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck', '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`tsc failed (exit ${r.status ?? r.signal})`);
}

/** Files the code reads relative to itself (not .ts): copied to the same place under dist/. */
function copyAssets(outDir) {
  let copied = 0;
  for (const dir of SOURCE_DIRS) {
    for (const file of walk(join(root, dir))) {
      if (file.endsWith('.ts')) continue;
      const target = join(outDir, relative(root, file));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(file, target);
      copied++;
    }
  }
  return copied;
}

/**
 * dist/rules-snapshot.json and dist/iam-actions-snapshot.json (compose/startup-snapshots.ts): the bundled rules'
 * YAML already parsed and the IAM access-level index already built, so start-up skips that work. Without them
 * everything still works (built at start-up): a failure only warns.
 */
function writeStartupSnapshots(outDir) {
  const module = pathToFileURL(join(outDir, 'compose', 'startup-snapshots.js')).href;
  const script = `const { writeStartupSnapshots } = await import(${JSON.stringify(module)});
process.stdout.write(JSON.stringify(await writeStartupSnapshots(${JSON.stringify(outDir)})));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.status !== 0) {
    process.stderr.write(
      `build: no start-up snapshots (start-up builds them): ${r.stderr || `exit ${r.status}`}\n`,
    );
    return 'no start-up snapshots';
  }
  const sizes = JSON.parse(r.stdout);
  const kb = (n) => `${Math.round(n / 1024)} KB`;
  return `start-up snapshots: rules ${kb(sizes.rules)}, IAM actions ${kb(sizes.iamActions)}`;
}

export function build() {
  const started = performance.now();
  const fingerprint = sourceFingerprint();
  if (!fingerprint) throw new Error('no sources to build (cli/main.ts is missing)');
  const tmp = join(root, `dist.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    emit(tmp);
    const assets = copyAssets(tmp);
    symlinkSync('../rules', join(tmp, 'rules'), 'dir');
    const snapshot = writeStartupSnapshots(tmp);
    writeFileSync(
      join(tmp, STAMP),
      `${JSON.stringify({ ...fingerprint, builtAt: new Date().toISOString() })}\n`,
    );
    rmSync(join(root, 'dist'), { recursive: true, force: true });
    renameSync(tmp, join(root, 'dist'));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(
      `build: dist/ written (${fingerprint.count} source files, ${assets} assets, ${snapshot}) in ${seconds} s\n`,
    );
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const ifStale = process.argv.includes('--if-stale');
    const state = ifStale ? buildState() : 'forced';
    if (state === 'current' || state === 'prebuilt') process.stderr.write('build: dist/ is up to date\n');
    else if (ifStale && !hasTypescript()) {
      // `npm ci --omit=dev` runs `prepare` too: nothing to build with, and not a reason to fail the install.
      process.stderr.write('build: skipped, typescript is not installed (dev dependencies omitted)\n');
    } else build();
  } catch (err) {
    process.stderr.write(`build: ${err.message}\n`);
    process.exitCode = 1;
  }
}
