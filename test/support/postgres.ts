/**
 * A real PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries (initdb, pg_ctl), a
 * fresh cluster in a temporary directory, listening on 127.0.0.1 on a free port, trust authentication,
 * fsync off (throw-away data). Several processes (bot replicas) can share it through `url`.
 *
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` user (created by the
 * Debian package) and the server runs as that user (`runuser -u postgres --`).
 *
 * When the binaries are missing this throws: the PostgreSQL-backed tests FAIL with the install hint,
 * they never skip (CI installs the package in .ci/run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  /** `postgres://cartographer@127.0.0.1:<port>/cartographer` */
  url: string;
  /** A URL of a new, empty database on the same server (one per test suite or scenario). */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export const POSTGRES_MISSING =
  "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql package (apt-get install postgresql). The PostgreSQL store tests need a real server and do not skip.";

/** Directory holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin. */
export function findPostgresBin(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  const onPath = which.status === 0 ? which.stdout.trim() : '';
  if (onPath && existsSync(join(onPath, '..', 'initdb'))) return join(onPath, '..');
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(POSTGRES_MISSING);
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'cartographer-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const run = (tool: string, args: string[]) => {
    const cmd = asRoot ? 'runuser' : join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd: dir });
    if (r.status !== 0) throw new Error(`${tool} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  const port = await freePort();
  run('initdb', ['-D', data, '-U', 'cartographer', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const base = `postgres://cartographer@127.0.0.1:${port}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: `${base}/postgres` });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin('CREATE DATABASE cartographer');
  let stopped = false;
  return {
    url: `${base}/cartographer`,
    async createDatabase(name) {
      const safe = name.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      await admin(`CREATE DATABASE ${safe}`);
      return `${base}/${safe}`;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
