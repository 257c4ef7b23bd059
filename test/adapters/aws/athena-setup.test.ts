/**
 * Table setup that works the first time: `cartographer athena ddl` prints the table the queries need (every
 * CloudTrail column, partition projection over every region), and `cartographer athena check` names each fault of
 * a table or workgroup with its fix — the real CLI against the local Athena endpoint (real SDK client).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOUDTRAIL_COLUMNS } from '../../../adapters/aws/athena-columns.ts';
import { ALL_REGIONS } from '../../../adapters/aws/athena-ddl.ts';
import { OPT_IN_REGIONS } from '../../../adapters/aws/regions.ts';
import { type AwsEndpoint, type AwsEndpointOptions, startAwsEndpoint } from '../../support/aws-endpoint.ts';
import { fixtureRecords as records } from '../../support/aws-fixtures.ts';
import { runCli } from '../../support/cli.ts';

let endpoint: AwsEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

const cli = runCli;

async function serve(options: AwsEndpointOptions = {}): Promise<Record<string, string>> {
  endpoint = await startAwsEndpoint({ records, ...options });
  return { ...endpoint.env, CARTOGRAPHER_ATHENA_DATABASE: 'security' };
}

describe('cartographer athena ddl', () => {
  it('prints the projection table for the configured bucket: every column, every region, the accounts', async () => {
    const res = await cli(['athena', 'ddl'], {
      CARTOGRAPHER_ATHENA_LOGS: 's3://org-trail/AWSLogs/o-abc123/',
      CARTOGRAPHER_ACCOUNTS: '111111111111,222222222222',
      CARTOGRAPHER_ATHENA_DATABASE: 'security',
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^CREATE EXTERNAL TABLE security\.cloudtrail_logs \(/);
    for (const c of CLOUDTRAIL_COLUMNS)
      expect(res.stdout).toMatch(new RegExp(`^ {2}${c.name.toLowerCase()} `, 'm'));
    expect(res.stdout).toContain('PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)');
    expect(res.stdout).toContain(`'projection.region.values' = '${ALL_REGIONS.join(',')}'`);
    for (const r of OPT_IN_REGIONS) expect(res.stdout).toContain(r);
    expect(res.stdout).toContain("'projection.account.values' = '111111111111,222222222222'");
    const template = ['account', 'region', 'timestamp'].map((p) => `\${${p}}`);
    expect(res.stdout).toContain(
      `'storage.location.template' = 's3://org-trail/AWSLogs/o-abc123/${template[0]}/CloudTrail/${template[1]}/${template[2]}'`,
    );
  });

  it('names the missing setting instead of printing a table for nobody', async () => {
    const res = await cli(['athena', 'ddl'], {});
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('CARTOGRAPHER_ATHENA_LOGS');
  });
});

describe('cartographer athena check', () => {
  it('passes on the table the DDL describes, with a results location', async () => {
    const env = await serve();
    const res = await cli(['athena', 'check'], { ...env, CARTOGRAPHER_ATHENA_OUTPUT: 's3://soc-results/x/' });
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toMatch(/✓ table: security\.cloudtrail_logs exists/);
    expect(res.stdout).toMatch(new RegExp(`✓ columns: all ${CLOUDTRAIL_COLUMNS.length} CloudTrail columns`));
    expect(res.stdout).toMatch(/✓ partitions: partitioned by \(account, region, timestamp\)/);
    expect(res.stdout).toMatch(/✓ output location: query results go to s3:\/\/soc-results\/x\//);
  });

  it('names each fault with its fix: missing columns, another partition style, no results location', async () => {
    const env = await serve({
      athena: {
        tableMetadata: {
          Columns: [
            { Name: 'eventversion', Type: 'string' },
            { Name: 'useridentity', Type: 'struct<type:string,arn:string>' },
            { Name: 'eventtime', Type: 'string' },
          ],
          PartitionKeys: ['account', 'region', 'year', 'month', 'day'].map((Name) => ({
            Name,
            Type: 'string',
          })),
          Parameters: {},
        },
      },
    });
    const res = await cli(['athena', 'check', '--format', 'json'], env);
    expect(res.code).toBe(1);
    const doc = JSON.parse(res.stdout) as {
      ok: boolean;
      checks: { name: string; ok: boolean; message: string }[];
    };
    const by = Object.fromEntries(doc.checks.map((c) => [c.name, c]));
    expect(by.columns).toMatchObject({ ok: false });
    expect(by.columns!.message).toContain('useridentity.principalid');
    expect(by.columns!.message).toContain('tlsdetails');
    expect(by.columns!.message).toContain('COLUMN_NOT_FOUND');
    expect(by.partitions).toMatchObject({ ok: false });
    expect(by.partitions!.message).toContain('set CARTOGRAPHER_ATHENA_TABLE_STYLE=partitioned');
    expect(by['output location']).toMatchObject({ ok: false });
    expect(by['output location']!.message).toContain('CARTOGRAPHER_ATHENA_OUTPUT');
  });

  it('says how to create a table that does not exist', async () => {
    const env = await serve();
    const res = await cli(['athena', 'check'], { ...env, CARTOGRAPHER_ATHENA_TABLE: 'trail_nope' });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /✗ table: AwsDataCatalog\.security\.trail_nope does not exist: create it with .*cartographer athena ddl/,
    );
  });
});
