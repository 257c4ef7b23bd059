/**
 * Running one Athena statement with the real SDK client: start it (values as ExecutionParameters), poll its state with
 * backoff, page through the results, and always stop a query the caller gives up on (abort, time-out, cap, budget,
 * break out of the loop) so it does not keep scanning and billing.
 *
 * Shared limits, per Athena region and workgroup in this process: at most `maxConcurrent` queries at once (Athena
 * allows about 20 running DML queries per account by default; the scheduler, the digest and analysts share that), and
 * an optional daily byte budget: a query is refused once the day's bytes reach it, and stopped when it passes it.
 */
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { SourceProgress } from '../../engine/source.ts';
import { sqlString } from './athena-sql.ts';
import { athenaQueryFailure, type ErrorContext, isAbort, SourceError, toSourceError } from './errors.ts';
import { sleep } from './rate-limiter.ts';

export interface QuerySettings {
  catalog: string;
  database: string;
  workgroup?: string;
  outputLocation?: string;
  timeoutMs: number;
  pollInitialMs: number;
  pollMaxMs: number;
  pricePerTbUsd: number;
  maxConcurrent: number;
  /** Bytes Athena may scan per UTC day for this process and workgroup (undefined: no budget). */
  dailyByteBudget?: number;
}

export interface QueryHandle {
  queryId: string;
  bytesScanned: number;
  costUsd: number;
  /** Pages of rows (header row removed), values as text, `undefined` for NULL. */
  pages(signal?: AbortSignal): AsyncGenerator<{ columns: string[]; rows: (string | undefined)[][] }>;
  /** Stops the query if it is still running (after a cap, or a caller who stopped reading). */
  stop(): Promise<void>;
}

/** Athena bills at least 10 MB per query, rounded up to whole megabytes. */
const MIN_BILLED_BYTES = 10 * 1024 * 1024;
const MB = 1024 * 1024;

/** USD for a query that scanned `bytes`, with Athena's 10 MB minimum and rounding. */
export function athenaCostUsd(bytes: number, pricePerTbUsd = 5): number {
  const billed = Math.max(MIN_BILLED_BYTES, Math.ceil(bytes / MB) * MB);
  return (billed / 1e12) * pricePerTbUsd;
}

// ---- process-wide limits ------------------------------------------------------------------------------------------

interface Limits {
  running: number;
  waiting: (() => void)[];
  day: string;
  bytes: number;
}
const limits = new Map<string, Limits>();

function limitsFor(key: string): Limits {
  let l = limits.get(key);
  if (!l) {
    l = { running: 0, waiting: [], day: '', bytes: 0 };
    limits.set(key, l);
  }
  const today = new Date().toISOString().slice(0, 10);
  if (l.day !== today) {
    l.day = today;
    l.bytes = 0;
  }
  return l;
}

async function acquire(l: Limits, max: number, signal?: AbortSignal): Promise<() => void> {
  while (l.running >= max) {
    signal?.throwIfAborted();
    await new Promise<void>((resolve) => {
      l.waiting.push(resolve);
      signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  signal?.throwIfAborted();
  l.running++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    l.running--;
    l.waiting.shift()?.();
  };
}

/** Bytes scanned today by this process in a workgroup, and how many queries run now (for tests and the CLI). */
export function athenaUsage(region: string, workgroup = 'primary'): { bytesToday: number; running: number } {
  const l = limitsFor(`${region}/${workgroup}`);
  return { bytesToday: l.bytes, running: l.running };
}

// ---- one statement ------------------------------------------------------------------------------------------------

export async function startQuery(
  client: AthenaClient,
  settings: QuerySettings,
  ctx: ErrorContext,
  statement: { sql: string; params: readonly string[] },
  options: { signal?: AbortSignal; onProgress?: (p: SourceProgress) => void } = {},
): Promise<QueryHandle> {
  const { signal } = options;
  const l = limitsFor(`${ctx.region}/${settings.workgroup ?? 'primary'}`);
  const budget = settings.dailyByteBudget;
  if (budget !== undefined && l.bytes >= budget) throw overBudget(budget, l.bytes, ctx);
  const release = await acquire(l, settings.maxConcurrent, signal);
  const call = callWith(signal, ctx);
  let queryId: string | undefined;
  let done = false;
  const stop = async () => {
    if (queryId && !done) {
      done = true;
      const id = queryId;
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
    }
  };
  try {
    const started = await call('athena:StartQueryExecution', () =>
      client.send(
        new StartQueryExecutionCommand({
          QueryString: statement.sql,
          ExecutionParameters: statement.params.length ? statement.params.map(sqlString) : undefined,
          QueryExecutionContext: { Catalog: settings.catalog, Database: settings.database },
          WorkGroup: settings.workgroup,
          ResultConfiguration: settings.outputLocation
            ? { OutputLocation: settings.outputLocation }
            : undefined,
        }),
        // Not aborted mid-request: a query that was sent gets its ID, so it can be stopped below.
      ),
    );
    queryId = started.QueryExecutionId;
    if (!queryId) throw new SourceError('Athena did not return a query ID.', 'unknown', 'Try again.', ctx);
    signal?.throwIfAborted();
    const execution = await waitFor(client, settings, ctx, queryId, l, options);
    done = true;
    const bytes = execution?.Statistics?.DataScannedInBytes ?? 0;
    l.bytes += bytes;
    const id = queryId;
    return {
      queryId: id,
      bytesScanned: bytes,
      costUsd: athenaCostUsd(bytes, settings.pricePerTbUsd),
      pages: (s) => resultPages(client, ctx, id, s ?? signal),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  } finally {
    release();
  }
}

function callWith(signal: AbortSignal | undefined, ctx: ErrorContext) {
  return async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      // The caller's reason ("analyst cancelled", "shutting down") says more than the SDK's "Request aborted".
      if (signal?.aborted) throw signal.reason;
      if (isAbort(err, signal)) throw err;
      throw toSourceError(err, { ...ctx, action });
    }
  };
}

async function waitFor(
  client: AthenaClient,
  settings: QuerySettings,
  ctx: ErrorContext,
  queryId: string,
  l: Limits,
  { signal, onProgress }: { signal?: AbortSignal; onProgress?: (p: SourceProgress) => void },
): Promise<GetQueryExecutionCommandOutput['QueryExecution']> {
  const call = callWith(signal, ctx);
  const deadline = Date.now() + settings.timeoutMs;
  let wait = settings.pollInitialMs;
  for (;;) {
    const out = await call('athena:GetQueryExecution', () =>
      client.send(new GetQueryExecutionCommand({ QueryExecutionId: queryId }), { abortSignal: signal }),
    );
    const execution = out.QueryExecution;
    const state = execution?.Status?.State;
    const scanned = execution?.Statistics?.DataScannedInBytes ?? 0;
    onProgress?.({
      message: `Athena query ${queryId}: ${state?.toLowerCase() ?? 'unknown'}, ${formatBytes(scanned)} scanned`,
      records: 0,
      bytesScanned: scanned,
    });
    if (state === 'SUCCEEDED') return execution;
    if (state === 'FAILED') {
      throw athenaQueryFailure(
        execution?.Status?.AthenaError?.ErrorMessage ?? execution?.Status?.StateChangeReason ?? '',
        ctx,
        queryId,
      );
    }
    if (state === 'CANCELLED') {
      throw new SourceError(
        `Athena query ${queryId} was cancelled outside Cartographer.`,
        'query-failed',
        'Run the query again; check the workgroup for data-usage limits that cancel queries.',
        ctx,
      );
    }
    const budget = settings.dailyByteBudget;
    if (budget !== undefined && l.bytes + scanned > budget) throw overBudget(budget, l.bytes + scanned, ctx);
    if (Date.now() + wait > deadline) {
      throw new SourceError(
        `Athena query ${queryId} did not finish within ${Math.round(settings.timeoutMs / 1000)} s and was stopped.`,
        'timeout',
        'Narrow the time range or the accounts/regions, or raise CARTOGRAPHER_ATHENA_TIMEOUT.',
        ctx,
      );
    }
    await sleep(wait, signal);
    wait = Math.min(settings.pollMaxMs, Math.round(wait * 1.5));
  }
}

function overBudget(budget: number, used: number, ctx: ErrorContext): SourceError {
  return new SourceError(
    `The daily Athena byte budget of ${formatBytes(budget)} is reached (${formatBytes(used)} scanned today, UTC): the query was refused or stopped.`,
    'budget',
    'Raise CARTOGRAPHER_ATHENA_DAILY_BUDGET_GB, narrow the accounts/regions, or wait until 00:00 UTC.',
    ctx,
  );
}

async function* resultPages(
  client: AthenaClient,
  ctx: ErrorContext,
  queryId: string,
  signal: AbortSignal | undefined,
): AsyncGenerator<{ columns: string[]; rows: (string | undefined)[][] }> {
  const call = callWith(signal, ctx);
  let nextToken: string | undefined;
  let columns: string[] | undefined;
  do {
    const token = nextToken;
    const page = await call('athena:GetQueryResults', () =>
      client.send(
        new GetQueryResultsCommand({ QueryExecutionId: queryId, NextToken: token, MaxResults: 1000 }),
        {
          abortSignal: signal,
        },
      ),
    );
    const rows = page.ResultSet?.Rows ?? [];
    let start = 0;
    if (!columns) {
      columns = (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      // The first row of the first page repeats the column names.
      if (rows[0]?.Data?.every((d, i) => d.VarCharValue === columns![i])) start = 1;
    }
    yield { columns, rows: rows.slice(start).map((r) => (r.Data ?? []).map((d) => d.VarCharValue)) };
    nextToken = page.NextToken;
  } while (nextToken);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}
