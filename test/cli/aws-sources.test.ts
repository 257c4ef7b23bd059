/**
 * `cartographer summarize --source lookup|athena …` end to end: the real CLI in a child process, the real SDK clients
 * pointed at the local AWS endpoint through the standard AWS_ENDPOINT_URL_* variables.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AwsEndpoint, type AwsEndpointOptions, startAwsEndpoint } from '../support/aws-endpoint.ts';
import {
  FIXTURE_KEY as KEY,
  fixtureKeyRecords as keyRecords,
  fixtureRecords as records,
} from '../support/aws-fixtures.ts';
import { runCli } from '../support/cli.ts';

let endpoint: AwsEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

/** Runs the CLI without blocking this process (the endpoint answers from here). */
const cli = runCli;

async function serve(options: AwsEndpointOptions): Promise<AwsEndpoint> {
  endpoint = await startAwsEndpoint(options);
  return endpoint;
}

describe('cartographer summarize with AWS sources', () => {
  it('--source lookup --access-key … --regions … prints the session found in AWS', async () => {
    const ep = await serve({ records });
    const res = await cli(
      [
        'summarize',
        '--source',
        'lookup',
        '--access-key',
        KEY,
        '--regions',
        'us-east-1,eu-west-1',
        '--format',
        'json',
        '--no-events',
      ],
      ep.env,
    );
    expect(res.stderr).not.toMatch(/Error|at .*\.ts:/);
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as { sessions: { accessKeyIds: string[]; eventCount: number }[] };
    const session = doc.sessions.find((s) => s.accessKeyIds.includes(KEY));
    expect(session?.eventCount).toBe(keyRecords.length);
    const calls = ep.calls('LookupEvents');
    expect(new Set(calls.map((c) => c.region))).toEqual(new Set(['us-east-1', 'eu-west-1']));
    expect(calls[0]!.body.LookupAttributes).toEqual([{ AttributeKey: 'AccessKeyId', AttributeValue: KEY }]);
  });

  it('--source athena runs the query with the configured table and prints the session', async () => {
    const ep = await serve({ records });
    const res = await cli(
      [
        'summarize',
        '--source',
        'athena',
        '--access-key',
        KEY,
        '--since',
        '2023-07-10T12:00:00Z',
        '--until',
        '2023-07-10T13:00:00Z',
        '--format',
        'json',
        '--no-events',
      ],
      {
        ...ep.env,
        CARTOGRAPHER_ATHENA_DATABASE: 'security',
        CARTOGRAPHER_ATHENA_OUTPUT: 's3://soc-athena-results/x/',
      },
    );
    expect(res.code).toBe(0);
    const doc = JSON.parse(res.stdout) as { sessions: { accessKeyIds: string[]; eventCount: number }[] };
    expect(doc.sessions.find((s) => s.accessKeyIds.includes(KEY))?.eventCount).toBe(keyRecords.length);
    const start = ep.calls('StartQueryExecution')[0]!.body as {
      QueryString: string;
      QueryExecutionContext: unknown;
    };
    expect(start.QueryString).toContain('FROM "AwsDataCatalog"."security"."cloudtrail_logs"');
    expect(start.QueryExecutionContext).toEqual({ Catalog: 'AwsDataCatalog', Database: 'security' });
  });

  it('names the missing setting when the Athena database is not configured', async () => {
    const ep = await serve({ records });
    const res = await cli(['summarize', '--source', 'athena', '--access-key', KEY], ep.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('CARTOGRAPHER_ATHENA_DATABASE');
    expect(ep.requests).toHaveLength(0);
  });

  it('tells the analyst which permission is missing instead of printing a stack', async () => {
    const ep = await serve({
      records,
      fault: () => ({
        code: 'AccessDeniedException',
        message:
          'User: arn:aws:iam::123837392027:user/analyst is not authorized to perform: cloudtrail:LookupEvents',
      }),
    });
    const res = await cli(
      ['summarize', '--source', 'lookup', '--access-key', KEY, '--regions', 'us-east-1'],
      ep.env,
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('cloudtrail:LookupEvents');
    expect(res.stderr).toContain('Grant cloudtrail:LookupEvents');
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.code).toBe(1);
  });
});
