import { stat } from 'node:fs/promises';
import { delimiter } from 'node:path';
import { CartographerError, UsageError } from '../engine/errors.ts';
import type { RecordSource, SourceName, SourceQuery } from '../engine/source.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';
import { parseTimeText } from '../engine/time-range.ts';

/**
 * The options every command that reads CloudTrail shares (summarize, scan, digest):
 *   --source local|lookup|athena  --access-key ID  --user NAME|ARN  --source-ip IP
 *   --since 24h|2023-07-10T12:00Z  --until …  --regions us-east-1,eu-west-1  --max-events N
 * Merge `sourceOptionSpec` into the command's parseArgs options, then call `resolveSource`.
 */
export const sourceOptionSpec = {
  source: { type: 'string' },
  'access-key': { type: 'string' },
  user: { type: 'string' },
  'source-ip': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  regions: { type: 'string' },
  'max-events': { type: 'string' },
  'max-record-mb': { type: 'string' },
} as const;

export const sourceOptionsUsage = `source options:
  --source local|lookup|athena   where CloudTrail comes from (default: local, or CARTOGRAPHER_SOURCE)
  --access-key ID                only events made with this access key
  --user NAME|ARN                only events of this IAM user / role / role session
  --source-ip IP                 only events from this source address
  --since 24h|7d|<ISO time>      only events at or after this time (relative: m, h, d, w)
  --until <same>                 only events at or before this time
  --regions R1,R2                only these regions (API sources: the regions to query)
  --max-events N                 stop after N events and say so
  --max-record-mb N              local files: refuse (and name) any single record over N MB (default 8)`;

/** An input that cannot be read (path missing, unreadable): exit code 1, the path is named. */
export class InputError extends CartographerError {
  readonly code = 'input';
  override name = 'InputError';
}

export interface SourceOptionValues {
  source?: string;
  'access-key'?: string;
  user?: string;
  'source-ip'?: string;
  since?: string;
  until?: string;
  regions?: string;
  'max-events'?: string;
  'max-record-mb'?: string;
}

export interface ResolvedSource {
  source: RecordSource;
  query: SourceQuery;
  /** The local source's files and folders (`-`: standard input). */
  paths?: string[];
}

export async function resolveSource(
  values: SourceOptionValues,
  paths: string[],
  env: NodeJS.ProcessEnv = process.env,
  now: Date = new Date(),
): Promise<ResolvedSource> {
  const query = parseQuery(values, now);
  const name = values.source ?? (env.CARTOGRAPHER_SOURCE || 'local');
  if (name !== 'local' && name !== 'lookup' && name !== 'athena') {
    throw new UsageError(`--source must be local, lookup or athena (got '${name}')`);
  }
  if (name === 'local') {
    const inputs = paths.length > 0 ? paths : splitPathList(env.CARTOGRAPHER_LOCAL_PATH);
    if (inputs.length === 0) {
      throw new UsageError(
        'no input: give files, directories or - (standard input), or set CARTOGRAPHER_LOCAL_PATH',
      );
    }
    await assertReadable(inputs);
    return { source: createLocalSource(inputs, process.stdin, readLimits(values)), query, paths: inputs };
  }
  if (paths.length > 0) throw new UsageError(`--source ${name} reads from AWS; paths are for --source local`);
  return { source: await loadAwsSource(name, env), query };
}

export function parseQuery(values: SourceOptionValues, now: Date = new Date()): SourceQuery {
  const q: SourceQuery = {};
  if (values['access-key']) q.accessKeyId = values['access-key'];
  if (values.user) q.user = values.user;
  if (values['source-ip']) q.sourceIp = values['source-ip'];
  if (values.since) q.since = parseTimeArg(values.since, now, '--since');
  if (values.until) q.until = parseTimeArg(values.until, now, '--until');
  if (q.since && q.until && q.since > q.until) throw new UsageError('--since is after --until');
  if (values.regions) {
    q.regions = values.regions
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
  }
  if (values['max-events'] !== undefined) {
    const n = Number(values['max-events']);
    if (!/^\s*\d+\s*$/.test(values['max-events']) || !Number.isSafeInteger(n) || n <= 0)
      throw new UsageError(`--max-events must be a positive whole number (got '${values['max-events']}')`);
    q.maxEvents = n;
  }
  return q;
}

/** `--max-record-mb N`: the local source's record size cap. */
function readLimits(values: SourceOptionValues): { maxRecordChars?: number } {
  const raw = values['max-record-mb'];
  if (raw === undefined) return {};
  const mb = /^\s*\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(mb > 0 && mb <= 1024))
    throw new UsageError(
      `--max-record-mb must be a number of megabytes above 0, at most 1024 (got '${raw}')`,
    );
  return { maxRecordChars: Math.round(mb * 2 ** 20) };
}

/** `24h`, `30m`, `7d`, `2w` (that long before now) or an ISO 8601 time / date (engine/time-range.ts). */
export function parseTimeArg(text: string, now: Date = new Date(), option = 'time'): Date {
  const at = parseTimeText(text, now);
  if (at) return at;
  throw new UsageError(
    `${option}: '${text}' is neither a duration (30m, 24h, 7d, 2w) nor an ISO time (2023-07-10T12:00:00Z)`,
  );
}

export function splitPathList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(new RegExp(`[,${delimiter === ';' ? ';' : ':'}]`))
    .map((p) => p.trim())
    .filter(Boolean);
}

async function assertReadable(paths: string[]): Promise<void> {
  for (const p of paths) {
    if (p === '-') continue;
    try {
      await stat(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : code;
      throw new InputError(`cannot read ${p}: ${why}`);
    }
  }
}

/** The AWS sources are built by the composition root (compose/sources.ts); imported only when asked for. */
async function loadAwsSource(name: SourceName, env: NodeJS.ProcessEnv): Promise<RecordSource> {
  const [{ loadConfig }, { createSource }] = await Promise.all([
    import('../config/config.ts'),
    import('../compose/sources.ts'),
  ]);
  return createSource(name, loadConfig(env));
}
