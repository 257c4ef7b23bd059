import { afterEach, describe, expect, it, vi } from 'vitest';
import { rowToRecord } from '../../../adapters/aws/athena-rows.ts';
import {
  type AthenaSourceOptions,
  athenaCostUsd,
  createAthenaSource,
} from '../../../adapters/aws/athena-source.ts';
import {
  type AthenaTable,
  buildAthenaQuery,
  monthSpans,
  sqlString,
} from '../../../adapters/aws/athena-sql.ts';
import { SourceError } from '../../../adapters/aws/errors.ts';
import type { SourceItem, SourceProgress, SourceQuery } from '../../../engine/source.ts';
import {
  type AwsEndpoint,
  type AwsEndpointOptions,
  startAwsEndpoint,
  TEST_ATHENA_SOURCE,
} from '../../support/aws-endpoint.ts';
import {
  FIXTURE_KEY as KEY,
  fixtureKeyRecords as keyRecords,
  fixtureRecords as records,
} from '../../support/aws-fixtures.ts';

const table: AthenaTable = {
  catalog: 'AwsDataCatalog',
  database: 'security',
  table: 'cloudtrail_logs',
  style: 'partitioned',
};
const hour = { since: new Date('2023-07-10T12:00:00Z'), until: new Date('2023-07-10T13:00:00Z') };

let endpoint: AwsEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
  vi.unstubAllEnvs();
});

async function serve(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  endpoint = await startAwsEndpoint(options);
  for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
  return endpoint;
}

const baseOptions: AthenaSourceOptions = {
  ...TEST_ATHENA_SOURCE,
  workgroup: 'soc',
  outputLocation: 's3://soc-athena-results/cartographer/',
  pollMaxMs: 40,
};

async function collect(query: SourceQuery, options: Partial<AthenaSourceOptions> = {}, signal?: AbortSignal) {
  const progress: SourceProgress[] = [];
  const items: SourceItem[] = [];
  const source = createAthenaSource({ ...baseOptions, ...options });
  for await (const item of source.read(query, { signal, onProgress: (p) => progress.push(p) }))
    items.push(item);
  return { items, progress, records: items.flatMap((i) => (i.kind === 'record' ? [i.record] : [])) };
}

/** The records the test expects for the key in the test hour (the query itself runs for real, in DuckDB). */
const hourKeyRecords = keyRecords.filter(
  (r) => r.eventTime >= '2023-07-10T12:00:00Z' && r.eventTime <= '2023-07-10T13:00:00Z',
);

describe('Athena SQL', () => {
  it('prunes the classic partitions by account, region and each month of the date range', () => {
    const plan = buildAthenaQuery(
      { accessKeyId: KEY, since: new Date('2023-06-29T10:00:00Z'), until: new Date('2023-07-02T08:30:00Z') },
      table,
      { limit: 1000, accounts: ['123837392027'], regions: ['us-east-1', 'eu-west-1'] },
    );
    expect(plan.sql).toContain('FROM "AwsDataCatalog"."security"."cloudtrail_logs"');
    expect(plan.sql).toContain('account IN (?)');
    expect(plan.sql).toContain('region IN (?, ?)');
    expect(plan.sql).toContain(
      '((year = ? AND month = ? AND day BETWEEN ? AND ?) OR (year = ? AND month = ? AND day BETWEEN ? AND ?))',
    );
    expect(plan.sql).toContain('eventtime >= ?');
    expect(plan.sql).toContain('eventtime <= ?');
    expect(plan.sql).toContain('useridentity.accesskeyid = ?');
    expect(plan.sql).toMatch(/LIMIT 1001$/);
    // Days run to the day of `until` + 15 minutes: CloudTrail delivers late events into the next day's prefix.
    expect(plan.parameters).toEqual([
      "'123837392027'",
      "'us-east-1'",
      "'eu-west-1'",
      "'2023'",
      "'06'",
      "'29'",
      "'30'",
      "'2023'",
      "'07'",
      "'01'",
      "'02'",
      "'2023-06-29T10:00:00Z'",
      "'2023-07-02T08:30:00Z'",
      `'${KEY}'`,
    ]);
    expect(plan.sql.split('?').length - 1).toBe(plan.parameters.length);
  });

  it('uses one BETWEEN on the projected timestamp partition', () => {
    const plan = buildAthenaQuery(
      { user: 'bert-jan', ...hour },
      { ...table, style: 'projection' },
      { limit: 10 },
    );
    expect(plan.sql).toContain('"timestamp" BETWEEN ? AND ?');
    expect(plan.sql).not.toContain('account IN');
    expect(plan.parameters.slice(0, 2)).toEqual(["'2023/07/10'", "'2023/07/10'"]);
    // Until 23:50 reaches into the next day's prefix, where late deliveries land.
    const late = buildAthenaQuery(
      { since: new Date('2023-07-10T23:00:00Z'), until: new Date('2023-07-10T23:50:00Z') },
      { ...table, style: 'projection' },
      { limit: 10 },
    );
    expect(late.parameters.slice(0, 2)).toEqual(["'2023/07/10'", "'2023/07/11'"]);
    expect(plan.sql).toContain(
      "(useridentity.username = ? OR useridentity.sessioncontext.sessionissuer.username = ? OR element_at(split(useridentity.arn, '/'), -1) = ?)",
    );
  });

  it('defaults to a 7-day look-back instead of scanning the whole bucket', () => {
    const plan = buildAthenaQuery({}, table, { limit: 10, now: new Date('2026-11-21T12:00:00Z') });
    expect(plan.since.toISOString()).toBe('2026-11-14T12:00:00.000Z');
    expect(plan.parameters).toContain("'2026-11-14T12:00:00Z'");
  });

  it('splits a range into calendar months, across a year end', () => {
    expect(monthSpans(new Date('2025-12-30T00:00:00Z'), new Date('2026-02-02T00:00:00Z'))).toEqual([
      { year: '2025', month: '12', fromDay: '30', toDay: '31' },
      { year: '2026', month: '01', fromDay: '01', toDay: '31' },
      { year: '2026', month: '02', fromDay: '01', toDay: '02' },
    ]);
  });

  it('quotes parameter literals with inner quotes doubled', () => {
    expect(sqlString("O'Brien")).toBe("'O''Brien'");
  });

  it.each([
    ['accessKeyId', "'; DROP TABLE cloudtrail_logs; --"],
    ['accessKeyId', 'ASIA\nDROP TABLE x'],
    ['user', "bert-jan' OR '1'='1"],
    ['user', 'bert-jan"; DROP TABLE cloudtrail_logs; --'],
    ['user', 'bert-jan\nUNION SELECT 1'],
    ['sourceIp', "1.2.3.4' OR 1=1 --"],
    ['eventNames', ["ConsoleLogin') OR ('1'='1"]],
    ['regions', ["us-east-1') OR ('1'='1"]],
  ])('rejects a hostile %s before any SQL is built: %j', (field, value) => {
    const query = { [field]: value } as SourceQuery;
    expect(() => buildAthenaQuery(query, table, { limit: 10 })).toThrow(SourceError);
  });

  it('rejects table names that are not plain identifiers', () => {
    expect(() => buildAthenaQuery({}, { ...table, table: 'logs"; DROP TABLE x; --' }, { limit: 10 })).toThrow(
      /table name .* is not valid/,
    );
  });

  it('costs 5 USD per TB with the 10 MB minimum', () => {
    // 123,456,789,000 bytes = 117,737.57 MiB → billed 117,738 MiB = 123,457,241,088 bytes.
    expect(athenaCostUsd(123_456_789_000)).toBeCloseTo(0.61728620544, 10);
    expect(athenaCostUsd(1_000)).toBeCloseTo(0.0000524288, 12);
  });
});

describe('Athena rows', () => {
  it('reads the struct notation Athena prints when a struct is not cast to JSON', () => {
    const text =
      '{type=IAMUser, principalid=AIDATFQR7NSC, arn=arn:aws:iam::123837392027:user/bert-jan, accountid=123837392027, ' +
      'invokedby=null, accesskeyid=ASIATFQR7NSCS5BLNV76, username=bert-jan, sessioncontext={attributes={mfaauthenticated=true, ' +
      'creationdate=2023-07-10T12:27:45Z}, sessionissuer=null, ec2roledelivery=null, sourceidentity=null}}';
    const result = rowToRecord(
      ['eventtime', 'eventsource', 'eventname', 'useridentity', 'readonly'],
      ['2023-07-10T12:30:00Z', 's3.amazonaws.com', 'ListBuckets', text, 'true'],
    );
    expect(result).toEqual({
      record: {
        eventTime: '2023-07-10T12:30:00Z',
        eventSource: 's3.amazonaws.com',
        eventName: 'ListBuckets',
        readOnly: true,
        userIdentity: {
          type: 'IAMUser',
          principalId: 'AIDATFQR7NSC',
          arn: 'arn:aws:iam::123837392027:user/bert-jan',
          accountId: '123837392027',
          accessKeyId: 'ASIATFQR7NSCS5BLNV76',
          userName: 'bert-jan',
          sessionContext: { attributes: { mfaAuthenticated: 'true', creationDate: '2023-07-10T12:27:45Z' } },
        },
      },
    });
  });

  it('drops the NULL fields of struct columns, and keeps claim maps as they are', () => {
    const json = JSON.stringify({
      type: 'AssumedRole',
      principalid: 'AROA:alice',
      arn: 'arn:aws:sts::111122223333:assumed-role/GitHubDeploy/alice',
      accountid: '111122223333',
      invokedby: null,
      accesskeyid: 'ASIAEXAMPLEEXAMPLE12',
      username: null,
      onbehalfof: null,
      sessioncontext: {
        attributes: { mfaauthenticated: 'false', creationdate: '2026-11-21T10:00:00Z' },
        sessionissuer: {
          type: 'Role',
          principalid: 'AROA',
          arn: 'arn:aws:iam::111122223333:role/GitHubDeploy',
          accountid: '111122223333',
          username: 'GitHubDeploy',
        },
        ec2roledelivery: null,
        webidfederationdata: {
          federatedprovider: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com',
          attributes: { 'token.actions.githubusercontent.com:sub': 'repo:acme/app:ref:refs/heads/main' },
        },
      },
    });
    const result = rowToRecord(
      ['eventtime', 'eventsource', 'eventname', 'useridentity'],
      ['2026-11-21T10:00:05Z', 'sts.amazonaws.com', 'GetCallerIdentity', json],
    );
    expect('record' in result && result.record.userIdentity).toEqual({
      type: 'AssumedRole',
      principalId: 'AROA:alice',
      arn: 'arn:aws:sts::111122223333:assumed-role/GitHubDeploy/alice',
      accountId: '111122223333',
      accessKeyId: 'ASIAEXAMPLEEXAMPLE12',
      sessionContext: {
        attributes: { mfaAuthenticated: 'false', creationDate: '2026-11-21T10:00:00Z' },
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROA',
          arn: 'arn:aws:iam::111122223333:role/GitHubDeploy',
          accountId: '111122223333',
          userName: 'GitHubDeploy',
        },
        webIdFederationData: {
          federatedProvider: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com',
          attributes: { 'token.actions.githubusercontent.com:sub': 'repo:acme/app:ref:refs/heads/main' },
        },
      },
    });
  });

  it('keeps an unreadable requestparameters text instead of losing the event, and rejects a row without eventtime', () => {
    const kept = rowToRecord(
      ['eventtime', 'eventsource', 'eventname', 'requestparameters'],
      ['2023-07-10T12:30:00Z', 'ec2.amazonaws.com', 'DescribeRegions', '{"truncated'],
    );
    expect(kept).toMatchObject({ record: { requestParametersText: '{"truncated' } });
    const bad = rowToRecord(['eventsource', 'eventname'], ['ec2.amazonaws.com', 'DescribeRegions']);
    expect(bad).toMatchObject({ reason: expect.stringMatching(/eventTime/) });
  });
});

describe('Athena source against the local endpoint', () => {
  it('runs one parameterised query, polls, pages the results and maps rows back to the original records', async () => {
    const ep = await serve({
      records,
      athena: { pageSize: 50, bytesScanned: 123_456_789_000 },
    });
    const {
      items,
      records: out,
      progress,
    } = await collect(
      { accessKeyId: KEY, ...hour },
      { regions: ['us-east-1'], accounts: ['123837392027'], tableStyle: 'partitioned' },
    );

    const start = ep.calls('StartQueryExecution');
    expect(start).toHaveLength(1);
    const body = start[0]!.body as {
      QueryString: string;
      ExecutionParameters: string[];
      QueryExecutionContext: unknown;
      WorkGroup: string;
      ResultConfiguration: unknown;
    };
    expect(body.QueryExecutionContext).toEqual({ Catalog: 'AwsDataCatalog', Database: 'security' });
    expect(body.WorkGroup).toBe('soc');
    expect(body.ResultConfiguration).toEqual({ OutputLocation: 's3://soc-athena-results/cartographer/' });
    expect(body.QueryString).not.toContain(KEY);
    expect(body.QueryString).toContain('account IN (?)');
    expect(body.QueryString).toContain('region IN (?)');
    expect(body.QueryString).toContain('(year = ? AND month = ? AND day BETWEEN ? AND ?)');
    expect(body.ExecutionParameters).toEqual([
      "'123837392027'",
      "'us-east-1'",
      "'2023'",
      "'07'",
      "'10'",
      "'10'",
      "'2023-07-10T12:00:00Z'",
      "'2023-07-10T13:00:00Z'",
      `'${KEY}'`,
    ]);
    expect(ep.calls('GetQueryExecution').length).toBeGreaterThanOrEqual(3);
    const pages = ep.calls('GetQueryResults');
    expect(pages.length).toBe(Math.ceil((hourKeyRecords.length + 1) / 50));
    expect(pages[0]!.body.NextToken).toBeUndefined();
    expect(pages[1]!.body.NextToken).toBeDefined();
    expect(ep.calls('StopQueryExecution')).toHaveLength(0);

    // Every record comes back whole: nested user identity, JSON-string columns, booleans.
    expect(out).toHaveLength(hourKeyRecords.length);
    const byId = new Map(hourKeyRecords.map((r) => [r.eventID, r]));
    for (const r of out) {
      const original = byId.get(r.eventID)!;
      expect(r.userIdentity).toEqual(original.userIdentity);
      expect(r.requestParameters ?? null).toEqual(original.requestParameters ?? null);
      expect(r.responseElements ?? null).toEqual(original.responseElements ?? null);
      expect(r.readOnly).toBe(original.readOnly);
      expect(r.sourceIPAddress).toBe(original.sourceIPAddress);
      expect(r.tlsDetails).toEqual(original.tlsDetails);
      expect(r.resources).toEqual(original.resources);
      expect(r.sessionCredentialFromConsole).toBe(original.sessionCredentialFromConsole);
    }
    const stats = items.find((i) => i.kind === 'stats');
    expect(stats).toMatchObject({
      kind: 'stats',
      bytesScanned: 123_456_789_000,
      queryId: expect.any(String),
    });
    expect(stats?.kind === 'stats' && stats.costUsd).toBeCloseTo(0.6173, 4);
    expect(items.some((i) => i.kind === 'truncated' || i.kind === 'rejected')).toBe(false);
    expect(progress.at(-1)!.message).toMatch(
      new RegExp(`${hourKeyRecords.length} events read, 115 GB scanned`),
    );
  });

  it('never sends a hostile access key or user name to Athena', async () => {
    const ep = await serve({ records });
    for (const query of [
      { accessKeyId: "'; DROP TABLE cloudtrail_logs; --" },
      { user: "bert-jan'; DROP TABLE cloudtrail_logs; --" },
      { user: 'bert-jan\n; DROP TABLE cloudtrail_logs' },
    ]) {
      const err = await collect({ ...query, ...hour }).catch((e) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect(err.kind).toBe('invalid-request');
    }
    expect(ep.calls('StartQueryExecution')).toHaveLength(0);

    // A legal but odd-looking name goes only into the parameters.
    await collect({ user: 'DROP.TABLE+x@example.com', ...hour });
    const sent = ep.calls('StartQueryExecution')[0]!.body as {
      QueryString: string;
      ExecutionParameters: string[];
    };
    expect(sent.QueryString).not.toMatch(/DROP|example\.com/);
    expect(sent.ExecutionParameters).toContain("'DROP.TABLE+x@example.com'");
  });

  it('stops at the event cap and says so', async () => {
    const ep = await serve({ records });
    const { items, records: out } = await collect({ accessKeyId: KEY, ...hour, maxEvents: 10 });
    expect(out).toHaveLength(10);
    expect(items.at(-1)).toMatchObject({
      kind: 'truncated',
      reason: expect.stringMatching(/stopped at 10 events/),
    });
    expect((ep.calls('StartQueryExecution')[0]!.body.QueryString as string).endsWith('LIMIT 11')).toBe(true);
  });

  it('reports a row that is no CloudTrail record as rejected, with query and row number', async () => {
    // An event without eventSource is no CloudTrail record: the table holds it, the reader refuses it.
    const broken = hourKeyRecords[2]!.eventID;
    await serve({ records: records.map((r) => (r.eventID === broken ? { ...r, eventSource: '' } : r)) });
    const { items, records: out } = await collect({ accessKeyId: KEY, ...hour });
    const rejected = items.filter((i) => i.kind === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ origin: { file: expect.stringMatching(/^athena:/) } });
    expect(out).toHaveLength(hourKeyRecords.length - 1);
  });

  it('stops the query when the caller gives up', async () => {
    const ep = await serve({ records, athena: { hang: true } });
    const controller = new AbortController();
    const run = collect({ accessKeyId: KEY, ...hour }, {}, controller.signal);
    run.catch(() => undefined);
    // Give up once the query runs (it never finishes here).
    while (ep.calls('GetQueryExecution').length === 0) await new Promise((r) => setTimeout(r, 10));
    controller.abort(new Error('analyst cancelled'));
    await expect(run).rejects.toThrow(/analyst cancelled/);
    const id = (ep.calls('GetQueryExecution')[0]!.body as { QueryExecutionId: string }).QueryExecutionId;
    expect(ep.calls('StopQueryExecution').map((c) => c.body.QueryExecutionId)).toEqual([id]);
  });

  it('stops the query at the time-out and says which setting to raise', async () => {
    const ep = await serve({ records, athena: { hang: true } });
    const err = await collect({ accessKeyId: KEY, ...hour }, { timeoutMs: 200 }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect(err.hint).toContain('CARTOGRAPHER_ATHENA_TIMEOUT');
    expect(ep.calls('StopQueryExecution')).toHaveLength(1);
  });

  it('explains an unknown table', async () => {
    await serve({
      records,
      athena: {
        failWith: {
          reason:
            "TABLE_NOT_FOUND: line 1:300: Table 'awsdatacatalog.security.cloudtrail_logs' does not exist",
        },
      },
    });
    const err = await collect({ accessKeyId: KEY, ...hour }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'table-not-found' });
    expect(err.message).toContain('security.cloudtrail_logs');
    expect(err.hint).toContain('CARTOGRAPHER_ATHENA_TABLE');
  });

  it('passes on the state reason of a failed query', async () => {
    await serve({
      records,
      athena: { failWith: { reason: "COLUMN_NOT_FOUND: line 1:8: Column 'tlsdetails' cannot be resolved" } },
    });
    const err = await collect({ accessKeyId: KEY, ...hour }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'query-failed' });
    expect(err.message).toContain("Column 'tlsdetails' cannot be resolved");
  });

  it('names the missing permission when Athena cannot write to the output location', async () => {
    await serve({
      records,
      athena: {
        failWith: {
          reason: 'Access denied when writing output to url: s3://soc-athena-results/cartographer/x.csv',
        },
      },
    });
    const err = await collect({ accessKeyId: KEY, ...hour }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'access-denied', permission: 's3:PutObject' });
    expect(err.hint).toContain('s3://soc-athena-results/cartographer/');
  });

  it('names the missing permission when StartQueryExecution is denied', async () => {
    await serve({
      records,
      fault: (r) =>
        r.operation === 'StartQueryExecution'
          ? {
              code: 'AccessDeniedException',
              message:
                'User: arn:aws:iam::123837392027:user/analyst is not authorized to perform: athena:StartQueryExecution on resource: arn:aws:athena:us-east-1:123837392027:workgroup/soc',
            }
          : undefined,
    });
    const err = await collect({ accessKeyId: KEY, ...hour }).catch((e) => e);
    expect(err).toMatchObject({ kind: 'access-denied', permission: 'athena:StartQueryExecution' });
  });
});
