/**
 * Athena over the organisation's CloudTrail bucket as a RecordSource: any volume, data events included, billed per
 * byte scanned. One query per read: start it (values as ExecutionParameters, see athena-sql.ts), poll its state with
 * backoff, page through the results in time order, and report bytes scanned and cost. A query the caller gives up on
 * (abort, break out of the loop) or that runs past the time-out is stopped, so it does not keep scanning and billing.
 */
import {
  AthenaClient,
  type AthenaClientConfig,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import type { ReadOptions, RecordSource, SourceItem, SourceQuery } from '../../engine/source.ts';
import { instrumentAwsClient } from '../observability/aws-telemetry.ts';
import { rowToRecord } from './athena-rows.ts';
import { type AthenaTable, buildAthenaQuery, type TableStyle } from './athena-sql.ts';
import { athenaQueryFailure, type ErrorContext, isAbort, SourceError, toSourceError } from './errors.ts';
import { sleep } from './rate-limiter.ts';

export interface AthenaSourceOptions {
  region: string;
  catalog?: string;
  database: string;
  table: string;
  tableStyle?: TableStyle;
  workgroup?: string;
  /** `s3://…` for query results; optional when the workgroup enforces its own. */
  outputLocation?: string;
  /** Partition filters used when a query names none (explicitly configured lists only). */
  regions?: readonly string[];
  accounts?: readonly string[];
  maxEvents?: number;
  /** Stop the query after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Look-back when a query has no `since` (default 7 days). */
  defaultLookbackDays?: number;
  /** USD per TB scanned (default 5, the list price in most regions). */
  pricePerTbUsd?: number;
  /** First wait between state polls; grows ×1.5 up to `pollMaxMs`. */
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** Extra SDK client settings (e.g. `credentials`, `endpoint`), mostly for tests. */
  clientConfig?: Partial<AthenaClientConfig>;
}

/** Athena bills at least 10 MB per query, rounded up to whole megabytes. */
const MIN_BILLED_BYTES = 10 * 1024 * 1024;
const MB = 1024 * 1024;

/** USD for a query that scanned `bytes`, with Athena's 10 MB minimum and rounding. */
export function athenaCostUsd(bytes: number, pricePerTbUsd = 5): number {
  const billed = Math.max(MIN_BILLED_BYTES, Math.ceil(bytes / MB) * MB);
  return (billed / 1e12) * pricePerTbUsd;
}

export function createAthenaSource(options: AthenaSourceOptions): RecordSource {
  return { name: 'athena', read: (query, readOptions) => readAthena(query, readOptions ?? {}, options) };
}

async function* readAthena(
  query: SourceQuery,
  { signal, onProgress }: ReadOptions,
  options: AthenaSourceOptions,
): AsyncGenerator<SourceItem> {
  const table: AthenaTable = {
    catalog: options.catalog ?? 'AwsDataCatalog',
    database: options.database,
    table: options.table,
    style: options.tableStyle ?? 'partitioned',
  };
  const cap = Math.min(query.maxEvents ?? Number.POSITIVE_INFINITY, options.maxEvents ?? 50_000);
  const plan = buildAthenaQuery(query, table, {
    limit: cap,
    regions: options.regions,
    accounts: options.accounts,
    defaultLookbackDays: options.defaultLookbackDays,
  });
  const ctx: ErrorContext = {
    source: 'athena',
    action: 'athena:StartQueryExecution',
    region: options.region,
    table: `${table.database}.${table.table}`,
    outputLocation: options.outputLocation,
  };
  const client = instrumentAwsClient(
    new AthenaClient({ region: options.region, maxAttempts: 5, ...options.clientConfig }),
  );
  const timeoutMs = options.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  let queryId: string | undefined;
  let terminal = false;

  const call = async <T>(action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      // The caller's reason ("analyst cancelled") says more than the SDK's "Request aborted".
      if (signal?.aborted) throw signal.reason;
      if (isAbort(err, signal)) throw err;
      throw toSourceError(err, { ...ctx, action });
    }
  };

  try {
    const started = await call('athena:StartQueryExecution', () =>
      client.send(
        new StartQueryExecutionCommand({
          QueryString: plan.sql,
          ExecutionParameters: plan.parameters.length ? plan.parameters : undefined,
          QueryExecutionContext: { Catalog: table.catalog, Database: table.database },
          WorkGroup: options.workgroup,
          ResultConfiguration: options.outputLocation
            ? { OutputLocation: options.outputLocation }
            : undefined,
        }),
        { abortSignal: signal },
      ),
    );
    queryId = started.QueryExecutionId;
    if (!queryId) throw new SourceError('Athena did not return a query ID.', 'unknown', 'Try again.', ctx);

    // Poll until the query ends.
    let wait = options.pollInitialMs ?? 500;
    let execution: GetQueryExecutionCommandOutput['QueryExecution'];
    for (;;) {
      const id = queryId;
      const out = await call('athena:GetQueryExecution', () =>
        client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }), { abortSignal: signal }),
      );
      execution = out.QueryExecution;
      const state = execution?.Status?.State;
      const scanned = execution?.Statistics?.DataScannedInBytes ?? 0;
      onProgress?.({
        message: `Athena query ${queryId}: ${state?.toLowerCase() ?? 'unknown'}, ${formatBytes(scanned)} scanned`,
        records: 0,
        bytesScanned: scanned,
      });
      if (state === 'SUCCEEDED') break;
      if (state === 'FAILED') {
        terminal = true;
        throw athenaQueryFailure(
          execution?.Status?.AthenaError?.ErrorMessage ?? execution?.Status?.StateChangeReason ?? '',
          ctx,
          queryId,
        );
      }
      if (state === 'CANCELLED') {
        terminal = true;
        throw new SourceError(
          `Athena query ${queryId} was cancelled outside Cartographer.`,
          'query-failed',
          'Run the query again; check the workgroup for data-usage limits that cancel queries.',
          ctx,
        );
      }
      if (Date.now() + wait > deadline) {
        throw new SourceError(
          `Athena query ${queryId} did not finish within ${Math.round(timeoutMs / 1000)} s and was stopped.`,
          'timeout',
          'Narrow the time range or the accounts/regions, or raise CARTOGRAPHER_ATHENA_TIMEOUT.',
          ctx,
        );
      }
      await sleep(wait, signal);
      wait = Math.min(options.pollMaxMs ?? 5_000, Math.round(wait * 1.5));
    }
    terminal = true;

    const bytes = execution?.Statistics?.DataScannedInBytes ?? 0;
    yield {
      kind: 'stats',
      bytesScanned: bytes,
      costUsd: athenaCostUsd(bytes, options.pricePerTbUsd),
      queryId,
    };

    let nextToken: string | undefined;
    let columns: string[] | undefined;
    let row = 0;
    let emitted = 0;
    do {
      const id = queryId;
      const token = nextToken;
      const page = await call('athena:GetQueryResults', () =>
        client.send(
          new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
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
      for (const r of rows.slice(start)) {
        row++;
        if (emitted >= cap) {
          yield {
            kind: 'truncated',
            reason: `stopped at ${cap} events (event cap, CARTOGRAPHER_ATHENA_MAX_EVENTS); narrow the time range or raise the cap`,
          };
          return;
        }
        const origin = { file: `athena:${queryId}`, position: row };
        const result = rowToRecord(
          columns,
          (r.Data ?? []).map((d) => d.VarCharValue),
        );
        if ('reason' in result) {
          yield { kind: 'rejected', origin, reason: result.reason };
          continue;
        }
        emitted++;
        yield { kind: 'record', record: result.record, origin };
      }
      nextToken = page.NextToken;
      onProgress?.({
        message: `Athena query ${queryId}: ${emitted} events read, ${formatBytes(bytes)} scanned`,
        records: emitted,
        bytesScanned: bytes,
      });
    } while (nextToken);
  } finally {
    if (queryId && !terminal) {
      // The caller gave up, timed out or failed mid-poll: stop the query so it stops scanning (and billing).
      const id = queryId;
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
    }
    client.destroy();
  }
}

function formatBytes(n: number): string {
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
