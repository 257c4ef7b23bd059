/**
 * A local stand-in for the three AWS APIs Cartographer calls, for tests and benchmarks:
 *
 * - CloudTrail `LookupEvents` (AWS JSON 1.1): per-region data (taken from each record's `awsRegion`), 50 events per
 *   page, newest first, `NextToken` paging, lookup attributes and time range applied, and a per account+region rate
 *   limit that answers `ThrottlingException` like AWS does (2 requests per second by default).
 * - Athena `StartQueryExecution`, `GetQueryExecution`, paged `GetQueryResults`, `StopQueryExecution`,
 *   `GetTableMetadata` and `GetWorkGroup` (AWS JSON 1.1): the SQL really runs, in DuckDB over the endpoint's records
 *   loaded as a CloudTrail-shaped table (athena-duckdb.ts, with its documented dialect shim); queries go
 *   QUEUED → RUNNING → SUCCEEDED over a few polls, results come back as Athena returns them (header row first,
 *   1000 rows per page, every value as text), with DataScannedInBytes modelled per partition read.
 * - STS `AssumeRole` (AWS Query protocol, XML): issues temporary keys bound to the role's account, so the other two
 *   APIs can tell member accounts apart.
 *
 * Binds to 127.0.0.1 on a free port. Point the real SDK clients at it with `endpoint.env` (the SDK's standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables plus static test credentials). Every request is recorded in `requests`.
 * The region comes from the SigV4 credential scope in the `Authorization` header, as AWS routes it.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { AthenaQueryError, DuckAthena, type TableName } from './athena-duckdb.ts';

export type AwsService = 'cloudtrail' | 'athena' | 'sts';

export interface RecordedRequest {
  /** `Date.now()` when the request arrived. */
  time: number;
  service: AwsService;
  /** e.g. `LookupEvents`, `StartQueryExecution`, `AssumeRole`. */
  operation: string;
  /** Region from the SigV4 credential scope. */
  region: string;
  /** Access key that signed the request. */
  accessKeyId: string;
  /** Account the signing key belongs to (`default` for the static test key). */
  account: string;
  /** Parsed JSON body (JSON protocol) or form fields (Query protocol). */
  body: Record<string, unknown>;
  /** HTTP status answered. */
  status: number;
  /** AWS error code answered, if any. */
  errorCode?: string;
}

export interface AwsFault {
  status?: number;
  code: string;
  message: string;
}

export interface AthenaOptions {
  /** The table the records are served as (default AwsDataCatalog.security.cloudtrail_logs). */
  table?: TableName;
  /** GetQueryExecution calls answered QUEUED/RUNNING before the query is run (default 2). */
  pollsBeforeDone?: number;
  /** Never finish: stay RUNNING until StopQueryExecution (for cancellation tests). */
  hang?: boolean;
  /** Finish as FAILED with this reason (e.g. `TABLE_NOT_FOUND: …`) instead of running the query. */
  failWith?: { reason: string; errorType?: number; errorCategory?: number };
  /** Rows per GetQueryResults page, capped by the request's MaxResults (default 1000, as Athena). */
  pageSize?: number;
  /** DataScannedInBytes reported; default: the modelled bytes of the partitions the query reads. */
  bytesScanned?: number;
  /** GetTableMetadata answer overrides (a table with missing columns, another partition style …). */
  tableMetadata?: Record<string, unknown>;
  /** GetWorkGroup: the workgroup's enforced output location (default none) and whether it enforces it. */
  workgroup?: { outputLocation?: string; enforce?: boolean };
  /** Called with every statement Athena runs (SQL and parameters), e.g. to inspect the text. */
  onQuery?: (q: { sql: string; parameters: string[] }) => void;
}

export interface AwsEndpointOptions {
  records?: CloudTrailRecord[];
  /** The records the Athena table holds, when not `records` (e.g. a large day streamed from files). */
  athenaRecords?: Iterable<CloudTrailRecord>;
  /** LookupEvents requests allowed per second per account+region before ThrottlingException (default 2; 0 = no limit). */
  ratePerSecond?: number;
  /** Maximum events per LookupEvents page (AWS: 50). */
  lookupPageSize?: number;
  /** Regions answering like an opt-in region that is not enabled (`UnrecognizedClientException`). */
  disabledRegions?: string[];
  /** Called for every request before it is served; return a fault to answer with an error instead. */
  fault?: (request: RecordedRequest) => AwsFault | undefined;
  athena?: AthenaOptions;
  /** Account of the static (non-assumed) test key; records of every account are visible to it. */
  defaultAccount?: string;
  /** The `CloudTrailEvent` text LookupEvents returns for a record (default: its JSON); lets a test serve a broken one. */
  lookupEventText?: (record: CloudTrailRecord, index: number) => string;
}

export interface AwsEndpoint {
  url: string;
  requests: RecordedRequest[];
  /** Environment that points the SDK clients here with static test credentials. */
  env: Record<string, string>;
  /** Requests of one operation, in arrival order. */
  calls(operation: string): RecordedRequest[];
  close(): Promise<void>;
}

export const TEST_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
export const TEST_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** Athena source options that reach this endpoint's default table, polling quickly (tests spread and override). */
export const TEST_ATHENA_SOURCE = {
  region: 'us-east-1',
  database: 'security',
  table: 'cloudtrail_logs',
  pollInitialMs: 10,
  pollMaxMs: 50,
};

/** The SDK sends the short target; AWS documents the long one. Both are accepted. */
const CLOUDTRAIL_TARGETS = [
  'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.',
  'CloudTrail_20131101.',
];
const ATHENA_TARGET = 'AmazonAthena.';

interface QueryState {
  id: string;
  sql: string;
  parameters: string[];
  polls: number;
  state: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  rows?: (string | null)[][];
  columns?: string[];
  bytes?: number;
  failure?: string;
  running?: AbortController;
  submitted: number;
}

export async function startAwsEndpoint(options: AwsEndpointOptions = {}): Promise<AwsEndpoint> {
  const records = options.records ?? [];
  const rate = options.ratePerSecond ?? 2;
  const lookupPageSize = options.lookupPageSize ?? 50;
  const disabled = new Set(options.disabledRegions ?? []);
  const defaultAccount = options.defaultAccount ?? 'default';
  const requests: RecordedRequest[] = [];
  const keyAccounts = new Map<string, string>();
  const windows = new Map<string, number[]>();
  const queries = new Map<string, QueryState>();
  const tableName: TableName = options.athena?.table ?? {
    catalog: 'AwsDataCatalog',
    database: TEST_ATHENA_SOURCE.database,
    table: TEST_ATHENA_SOURCE.table,
  };
  const duck = await DuckAthena.create(options.athenaRecords ?? records, tableName);
  const lookupTokens = new Map<string, { events: CloudTrailRecord[]; offset: number }>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        serve(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        send(res, 500, { __type: 'InternalFailure', message: String(err) }, 'InternalFailure');
      }
    });
  });

  // Returns whatever the responder returned, so each branch can end with `return respond(…)`.
  function serve(req: IncomingMessage, res: ServerResponse, raw: string): unknown {
    const auth = String(req.headers.authorization ?? '');
    const scope = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(auth);
    const accessKeyId = scope?.[1] ?? '';
    const region = scope?.[2] ?? '';
    const target = String(req.headers['x-amz-target'] ?? '');
    let service: AwsService;
    let operation: string;
    let body: Record<string, unknown>;
    const cloudtrailPrefix = CLOUDTRAIL_TARGETS.find((p) => target.startsWith(p));
    if (cloudtrailPrefix) {
      service = 'cloudtrail';
      operation = target.slice(cloudtrailPrefix.length);
      body = raw ? JSON.parse(raw) : {};
    } else if (target.startsWith(ATHENA_TARGET)) {
      service = 'athena';
      operation = target.slice(ATHENA_TARGET.length);
      body = raw ? JSON.parse(raw) : {};
    } else {
      service = 'sts';
      body = Object.fromEntries(new URLSearchParams(raw));
      operation = String(body.Action ?? '');
    }
    const account = keyAccounts.get(accessKeyId) ?? defaultAccount;
    const recorded: RecordedRequest = {
      time: Date.now(),
      service,
      operation,
      region,
      accessKeyId,
      account,
      body,
      status: 200,
    };
    requests.push(recorded);

    const fail = (status: number, code: string, message: string) => {
      recorded.status = status;
      recorded.errorCode = code;
      if (service === 'sts') sendStsError(res, status, code, message);
      else send(res, status, { __type: code, message }, code);
    };

    if (!scope) return fail(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    if (accessKeyId !== TEST_ACCESS_KEY_ID && !keyAccounts.has(accessKeyId)) {
      return fail(
        403,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    if (disabled.has(region)) {
      return fail(
        400,
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    }
    const injected = options.fault?.(recorded);
    if (injected) return fail(injected.status ?? 400, injected.code, injected.message);

    if (service === 'cloudtrail' && operation === 'LookupEvents') {
      if (rate > 0 && !admit(`${account}/${region}`, recorded.time)) {
        return fail(400, 'ThrottlingException', 'Rate exceeded');
      }
      return send(res, 200, lookupEvents(body, region, account));
    }
    if (service === 'athena') {
      const answer = athena(operation, body);
      if ('fault' in answer) return fail(answer.fault.status ?? 400, answer.fault.code, answer.fault.message);
      return send(res, 200, answer.body);
    }
    if (service === 'sts' && operation === 'AssumeRole') return assumeRole(res, body);
    return fail(
      400,
      'UnknownOperationException',
      `${service} ${operation} is not served by the test endpoint`,
    );
  }

  /** Sliding one-second window per account+region, like the LookupEvents quota. */
  function admit(key: string, now: number): boolean {
    const window = (windows.get(key) ?? []).filter((t) => now - t < 1000);
    windows.set(key, window);
    if (window.length >= rate) return false;
    window.push(now);
    return true;
  }

  function lookupEvents(body: Record<string, unknown>, region: string, account: string): unknown {
    const max = Math.min(Number(body.MaxResults ?? lookupPageSize), lookupPageSize);
    let page: { events: CloudTrailRecord[]; offset: number };
    if (typeof body.NextToken === 'string') {
      const saved = lookupTokens.get(body.NextToken);
      if (!saved) throw new Error(`unknown NextToken ${body.NextToken}`);
      page = saved;
      lookupTokens.delete(body.NextToken);
    } else {
      const attrs = (body.LookupAttributes as { AttributeKey: string; AttributeValue: string }[]) ?? [];
      if (attrs.length > 1) throw new Error('LookupEvents accepts one lookup attribute');
      const start = typeof body.StartTime === 'number' ? body.StartTime * 1000 : -Infinity;
      const end = typeof body.EndTime === 'number' ? body.EndTime * 1000 : Infinity;
      const events = records
        .filter((r) => (r.awsRegion ?? 'us-east-1') === region)
        .filter((r) => account === defaultAccount || r.recipientAccountId === account)
        .filter((r) => {
          const t = Date.parse(r.eventTime);
          return t >= start && t <= end;
        })
        .filter((r) => attrs.every((a) => matchesAttribute(r, a.AttributeKey, a.AttributeValue)))
        .sort((a, b) => Date.parse(b.eventTime) - Date.parse(a.eventTime));
      page = { events, offset: 0 };
    }
    const slice = page.events.slice(page.offset, page.offset + max);
    const nextOffset = page.offset + slice.length;
    let NextToken: string | undefined;
    if (nextOffset < page.events.length) {
      NextToken = randomUUID();
      lookupTokens.set(NextToken, { events: page.events, offset: nextOffset });
    }
    return {
      Events: slice.map((r, i) => ({
        EventId: r.eventID,
        EventName: r.eventName,
        ReadOnly: String(r.readOnly ?? ''),
        AccessKeyId: r.userIdentity?.accessKeyId,
        EventTime: Date.parse(r.eventTime) / 1000,
        EventSource: r.eventSource,
        Username: lookupUsername(r),
        Resources: [],
        CloudTrailEvent: options.lookupEventText?.(r, page.offset + i) ?? JSON.stringify(r),
      })),
      NextToken,
    };
  }

  function athena(operation: string, body: Record<string, unknown>): { body: unknown } | { fault: AwsFault } {
    const opts = options.athena ?? {};
    if (operation === 'StartQueryExecution') {
      const id = randomUUID();
      const q: QueryState = {
        id,
        sql: String(body.QueryString ?? ''),
        parameters: (body.ExecutionParameters as string[]) ?? [],
        polls: 0,
        state: 'QUEUED',
        submitted: Date.now(),
      };
      queries.set(id, q);
      opts.onQuery?.({ sql: q.sql, parameters: q.parameters });
      return { body: { QueryExecutionId: id } };
    }
    if (operation === 'GetTableMetadata') {
      if (body.DatabaseName !== tableName.database || body.TableName !== tableName.table) {
        return {
          fault: {
            code: 'MetadataException',
            message: `Table ${String(body.TableName)} not found in database ${String(body.DatabaseName)}`,
          },
        };
      }
      return { body: { TableMetadata: tableMetadata(body) } };
    }
    if (operation === 'GetWorkGroup') return workGroup(body);
    const q = queries.get(String(body.QueryExecutionId ?? ''));
    if (!q) {
      return {
        fault: {
          code: 'InvalidRequestException',
          message: `QueryExecution ${body.QueryExecutionId} was not found`,
        },
      };
    }
    if (operation === 'StopQueryExecution') {
      if (q.state === 'QUEUED' || q.state === 'RUNNING') {
        q.state = 'CANCELLED';
        q.running?.abort();
      }
      return { body: {} };
    }
    if (operation === 'GetQueryExecution') return { body: { QueryExecution: execution(q, opts) } };
    if (operation === 'GetQueryResults') return results(q, body, opts);
    return { fault: { code: 'UnknownOperationException', message: `Athena ${operation} is not served` } };
  }

  function execution(q: QueryState, opts: AthenaOptions) {
    if (q.state === 'QUEUED' || (q.state === 'RUNNING' && !q.running)) {
      q.polls++;
      if (!opts.hang && q.polls > (opts.pollsBeforeDone ?? 2)) {
        if (opts.failWith) {
          q.state = 'FAILED';
          q.failure = opts.failWith.reason;
        } else run(q);
      } else if (q.polls > 1) q.state = 'RUNNING';
    }
    const failed = q.state === 'FAILED';
    return {
      QueryExecutionId: q.id,
      Query: q.sql,
      ExecutionParameters: q.parameters,
      Status: {
        State: q.state,
        SubmissionDateTime: q.submitted / 1000,
        ...(failed
          ? {
              StateChangeReason: q.failure,
              AthenaError: {
                ErrorCategory: opts.failWith?.errorCategory ?? 2,
                ErrorType: opts.failWith?.errorType ?? 1301,
                Retryable: false,
                ErrorMessage: q.failure,
              },
            }
          : {}),
        ...(q.state === 'CANCELLED' ? { StateChangeReason: 'Query was cancelled by user' } : {}),
      },
      Statistics: {
        DataScannedInBytes: q.state === 'SUCCEEDED' ? (opts.bytesScanned ?? q.bytes ?? 0) : 0,
        EngineExecutionTimeInMillis: 10,
      },
    };
  }

  /** Runs the statement in DuckDB; the query stays RUNNING until it is done. */
  function run(q: QueryState): void {
    q.state = 'RUNNING';
    q.running = new AbortController();
    duck.run(q.sql, q.parameters, q.running.signal).then(
      (out) => {
        if (q.state !== 'RUNNING') return;
        q.columns = out.columns;
        q.rows = out.rows;
        q.bytes = out.bytesScanned;
        q.state = 'SUCCEEDED';
      },
      (err) => {
        if (q.state !== 'RUNNING') return;
        q.state = 'FAILED';
        q.failure = err instanceof AthenaQueryError ? err.message : String(err);
      },
    );
  }

  function results(
    q: QueryState,
    body: Record<string, unknown>,
    opts: AthenaOptions,
  ): { body: unknown } | { fault: AwsFault } {
    if (q.state !== 'SUCCEEDED' || !q.rows || !q.columns) {
      return {
        fault: {
          code: 'InvalidRequestException',
          message: `Query has not yet finished. Current state: ${q.state}`,
        },
      };
    }
    const size = Math.min(Number(body.MaxResults ?? 1000), opts.pageSize ?? 1000);
    // Row 0 is the header row, as Athena returns it on the first page of a SELECT.
    const all: (string | null)[][] = [q.columns, ...q.rows];
    const offset = typeof body.NextToken === 'string' ? Number(body.NextToken) : 0;
    const slice = all.slice(offset, offset + size);
    const next = offset + slice.length < all.length ? String(offset + slice.length) : undefined;
    return {
      body: {
        UpdateCount: 0,
        ResultSet: {
          Rows: slice.map((row) => ({ Data: row.map((v) => (v === null ? {} : { VarCharValue: v })) })),
          ResultSetMetadata: {
            ColumnInfo: q.columns.map((name) => ({
              CatalogName: 'hive',
              Name: name,
              Label: name,
              Type: 'varchar',
            })),
          },
        },
        NextToken: next,
      },
    };
  }

  function tableMetadata(body: Record<string, unknown>) {
    return {
      Name: String(body.TableName ?? ''),
      TableType: 'EXTERNAL_TABLE',
      Columns: duck.describe(),
      PartitionKeys: ['account', 'region', 'timestamp'].map((Name) => ({ Name, Type: 'string' })),
      Parameters: {
        'projection.enabled': 'true',
        'projection.timestamp.type': 'date',
        'projection.timestamp.format': 'yyyy/MM/dd',
      },
      ...options.athena?.tableMetadata,
    };
  }

  function workGroup(body: Record<string, unknown>): { body: unknown } {
    const wg = options.athena?.workgroup ?? {};
    return {
      body: {
        WorkGroup: {
          Name: String(body.WorkGroup ?? ''),
          State: 'ENABLED',
          Configuration: {
            ...(wg.outputLocation ? { ResultConfiguration: { OutputLocation: wg.outputLocation } } : {}),
            EnforceWorkGroupConfiguration: wg.enforce ?? false,
            EngineVersion: { EffectiveEngineVersion: 'Athena engine version 3' },
          },
        },
      },
    };
  }

  function assumeRole(res: ServerResponse, body: Record<string, unknown>): unknown {
    const roleArn = String(body.RoleArn ?? '');
    const account = /^arn:aws[a-z-]*:iam::(\d{12}):role\//.exec(roleArn)?.[1];
    if (!account) return sendStsError(res, 400, 'ValidationError', `${roleArn} is not a role ARN`);
    const accessKeyId = `ASIA${account}${String(keyAccounts.size).padStart(4, '0')}`;
    keyAccounts.set(accessKeyId, account);
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    const session = String(body.RoleSessionName ?? '');
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
        `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>test-secret-${account}</SecretAccessKey>` +
        `<SessionToken>test-session-token-${account}</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
        `<AssumedRoleUser><AssumedRoleId>AROATEST:${escapeXml(session)}</AssumedRoleId>` +
        `<Arn>arn:aws:sts::${account}:assumed-role/test/${escapeXml(session)}</Arn></AssumedRoleUser>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    env: {
      AWS_ENDPOINT_URL_CLOUDTRAIL: url,
      AWS_ENDPOINT_URL_ATHENA: url,
      AWS_ENDPOINT_URL_STS: url,
      AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY,
      AWS_REGION: 'us-east-1',
      // Keep a developer's own AWS profile, SSO cache and instance metadata out of the tests.
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    calls: (operation) => requests.filter((r) => r.operation === operation),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          duck.close();
          resolve();
        });
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown, errorType?: string): void {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
  if (errorType) headers['x-amzn-errortype'] = errorType;
  headers['x-amzn-requestid'] = randomUUID();
  res.writeHead(status, headers);
  res.end(JSON.stringify(body));
}

function sendStsError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' });
  res.end(
    `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code>` +
      `<Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What CloudTrail's `Username` lookup attribute matches: the user name, or the role session name. */
function lookupUsername(r: CloudTrailRecord): string | undefined {
  const id = r.userIdentity;
  if (!id) return undefined;
  if (id.userName) return id.userName;
  if (id.type === 'AssumedRole' && id.arn) return id.arn.split('/').pop();
  return id.sessionContext?.sessionIssuer?.userName;
}

function matchesAttribute(r: CloudTrailRecord, key: string, value: string): boolean {
  switch (key) {
    case 'AccessKeyId':
      return r.userIdentity?.accessKeyId === value;
    case 'Username':
      return lookupUsername(r) === value;
    case 'EventName':
      return r.eventName === value;
    case 'EventSource':
      return r.eventSource === value;
    case 'EventId':
      return r.eventID === value;
    case 'ReadOnly':
      return String(r.readOnly) === value;
    default:
      throw new Error(`lookup attribute ${key} is not served by the test endpoint`);
  }
}

/** Every record of the CloudTrail delivery files (`{"Records": […]}`) in a directory, in file-name order. */
export function loadCloudTrailDir(dir: string): CloudTrailRecord[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap(
      (f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { Records: CloudTrailRecord[] }).Records,
    );
}
