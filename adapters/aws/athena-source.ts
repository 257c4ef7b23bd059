/**
 * Athena over the organisation's CloudTrail bucket as a RecordSource: any volume, data events included, billed per
 * byte scanned. `read` runs one query for a SourceQuery (an analyst's look-up) and streams its rows in time order;
 * `scan`, `sessionEvents` and `baseline` (engine/source.ts AggregatingSource) let scheduled scans and the digest
 * group and filter in SQL so only the rows that can matter travel to Node (athena-scan.ts). Every answer carries
 * bytes scanned and cost; every query a caller gives up on is stopped (athena-query.ts).
 */
import { AthenaClient, type AthenaClientConfig } from '@aws-sdk/client-athena';
import type { AggregatingSource, ReadOptions, SourceItem, SourceQuery } from '../../engine/source.ts';
import { instrumentAwsClient } from '../observability/aws-telemetry.ts';
import { formatBytes, type QuerySettings, startQuery } from './athena-query.ts';
import { rowToRecord } from './athena-rows.ts';
import { baselineScan, groupedScan, type ScanContext, sessionEvents } from './athena-scan.ts';
import { type AthenaTable, buildAthenaQuery, type TableStyle } from './athena-sql.ts';
import type { ErrorContext } from './errors.ts';

export { athenaCostUsd } from './athena-query.ts';

export interface AthenaSourceOptions {
  region: string;
  catalog?: string;
  database: string;
  table: string;
  /** Default `projection`, matching `cartographer athena ddl`. */
  tableStyle?: TableStyle;
  workgroup?: string;
  /** `s3://…` for query results; optional when the workgroup enforces its own. */
  outputLocation?: string;
  /** Partition filters used when a query names none (explicitly configured lists only). */
  regions?: readonly string[];
  accounts?: readonly string[];
  /** Rows one query may bring into Node (look-ups: events; scans: all rows), default 50,000. */
  maxEvents?: number;
  /** Stop the query after this long (default 5 minutes). */
  timeoutMs?: number;
  /** Look-back when a query has no `since` (default 7 days). */
  defaultLookbackDays?: number;
  /** USD per TB scanned (default 5, the list price in most regions). */
  pricePerTbUsd?: number;
  /** Queries running at once in this process and workgroup (default 5; Athena allows about 20 per account). */
  maxConcurrentQueries?: number;
  /** Bytes scanned per UTC day before queries are refused (default: no budget). */
  dailyByteBudget?: number;
  /** First wait between state polls; grows ×1.5 up to `pollMaxMs`. */
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** Extra SDK client settings (e.g. `credentials`, `endpoint`), mostly for tests. */
  clientConfig?: Partial<AthenaClientConfig>;
}

export function createAthenaSource(options: AthenaSourceOptions): AggregatingSource {
  const table: AthenaTable = {
    catalog: options.catalog ?? 'AwsDataCatalog',
    database: options.database,
    table: options.table,
    style: options.tableStyle ?? 'projection',
  };
  const settings: QuerySettings = {
    catalog: table.catalog,
    database: table.database,
    ...(options.workgroup ? { workgroup: options.workgroup } : {}),
    ...(options.outputLocation ? { outputLocation: options.outputLocation } : {}),
    timeoutMs: options.timeoutMs ?? 300_000,
    pollInitialMs: options.pollInitialMs ?? 500,
    pollMaxMs: options.pollMaxMs ?? 5_000,
    pricePerTbUsd: options.pricePerTbUsd ?? 5,
    maxConcurrent: options.maxConcurrentQueries ?? 5,
    ...(options.dailyByteBudget !== undefined ? { dailyByteBudget: options.dailyByteBudget } : {}),
  };
  const ctx: ErrorContext = {
    source: 'athena',
    action: 'athena:StartQueryExecution',
    region: options.region,
    table: `${table.database}.${table.table}`,
    ...(options.outputLocation ? { outputLocation: options.outputLocation } : {}),
  };
  let client: AthenaClient | undefined;
  const getClient = () => {
    client ??= instrumentAwsClient(
      new AthenaClient({ region: options.region, maxAttempts: 5, ...options.clientConfig }),
    );
    return client;
  };
  const scans: ScanContext = {
    client: getClient,
    settings,
    table,
    ctx,
    maxRows: options.maxEvents ?? 50_000,
    ...(options.accounts ? { accounts: options.accounts } : {}),
    ...(options.regions ? { regions: options.regions } : {}),
  };
  return {
    name: 'athena',
    read: (query, readOptions) =>
      readAthena(query, readOptions ?? {}, options, table, settings, ctx, getClient),
    scan: (request, o) => groupedScan(scans, request, o),
    sessionEvents: (sessions, scope, o) => sessionEvents(scans, sessions, scope, o),
    baseline: (request, o) => baselineScan(scans, request, o),
  };
}

async function* readAthena(
  query: SourceQuery,
  { signal, onProgress }: ReadOptions,
  options: AthenaSourceOptions,
  table: AthenaTable,
  settings: QuerySettings,
  ctx: ErrorContext,
  client: () => AthenaClient,
): AsyncGenerator<SourceItem> {
  const cap = Math.min(query.maxEvents ?? Number.POSITIVE_INFINITY, options.maxEvents ?? 50_000);
  const plan = buildAthenaQuery(query, table, {
    limit: cap,
    ...(options.regions ? { regions: options.regions } : {}),
    ...(options.accounts ? { accounts: options.accounts } : {}),
    ...(options.defaultLookbackDays ? { defaultLookbackDays: options.defaultLookbackDays } : {}),
  });
  const statement = { sql: plan.sql, params: plan.values };
  const handle = await startQuery(client(), settings, ctx, statement, { signal, onProgress });
  yield {
    kind: 'stats',
    bytesScanned: handle.bytesScanned,
    costUsd: handle.costUsd,
    queryId: handle.queryId,
  };
  let row = 0;
  let emitted = 0;
  try {
    for await (const page of handle.pages(signal)) {
      for (const values of page.rows) {
        row++;
        if (emitted >= cap) {
          yield {
            kind: 'truncated',
            reason: `stopped at ${cap} events (event cap, CARTOGRAPHER_ATHENA_MAX_EVENTS); narrow the time range or raise the cap`,
          };
          return;
        }
        const origin = { file: `athena:${handle.queryId}`, position: row };
        const result = rowToRecord(page.columns, values);
        if ('reason' in result) {
          yield { kind: 'rejected', origin, reason: result.reason };
          continue;
        }
        emitted++;
        yield { kind: 'record', record: result.record, origin };
      }
      onProgress?.({
        message: `Athena query ${handle.queryId}: ${emitted} events read, ${formatBytes(handle.bytesScanned)} scanned`,
        records: emitted,
        bytesScanned: handle.bytesScanned,
      });
    }
  } finally {
    await handle.stop();
  }
}
