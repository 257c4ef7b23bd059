import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_REGIONS } from '../../adapters/aws/regions.ts';
import { createSource } from '../../compose/sources.ts';
import { ConfigError, loadConfig } from '../../config/config.ts';
import type { SourceItem } from '../../engine/source.ts';
import { type AwsEndpoint, loadCloudTrailDir, startAwsEndpoint } from '../support/aws-endpoint.ts';

const dir = mkdtempSync(join(tmpdir(), 'cartographer-config-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig from the environment', () => {
  it('defaults to the local source and the default-enabled regions', () => {
    const c = loadConfig({});
    expect(c.source).toBe('local');
    expect(c.localPaths).toEqual([]);
    expect(c.regions).toEqual([...DEFAULT_REGIONS]);
    expect(c.regions).toHaveLength(17);
    expect(c.regionsConfigured).toBe(false);
    expect(c.awsRegion).toBe('us-east-1');
    expect(c.lookup).toEqual({ maxEvents: 10_000, requestsPerSecond: 2, timeoutSeconds: 300 });
    expect(c.athena).toMatchObject({
      table: 'cloudtrail_logs',
      workgroup: 'primary',
      tableStyle: 'projection',
      maxConcurrentQueries: 5,
      firstDay: '2024/01/01',
    });
    expect(c.athena.dailyBudgetGb).toBeUndefined();
    expect(c.athena.database).toBeUndefined();
  });

  it('reads every documented variable', () => {
    const c = loadConfig({
      CARTOGRAPHER_SOURCE: 'athena',
      CARTOGRAPHER_LOCAL_PATH: 'demo/,logs/a.json:logs/b.json.gz',
      AWS_DEFAULT_REGION: 'eu-west-1',
      CARTOGRAPHER_REGIONS: 'us-east-1, eu-west-1',
      CARTOGRAPHER_ACCOUNTS: '111122223333,arn:aws:iam::444455556666:role/Audit',
      CARTOGRAPHER_ASSUME_ROLE_NAME: 'CartographerReadOnly',
      CARTOGRAPHER_EXTERNAL_ID: 'soc-7',
      CARTOGRAPHER_ROLE_SESSION_NAME: 'soc-bot',
      CARTOGRAPHER_LOOKUP_MAX_EVENTS: '2000',
      CARTOGRAPHER_LOOKUP_RATE: '1.5',
      CARTOGRAPHER_LOOKUP_TIMEOUT: '60',
      CARTOGRAPHER_ATHENA_REGION: 'us-east-2',
      CARTOGRAPHER_ATHENA_CATALOG: 'AwsDataCatalog',
      CARTOGRAPHER_ATHENA_DATABASE: 'security',
      CARTOGRAPHER_ATHENA_TABLE: 'org_trail',
      CARTOGRAPHER_ATHENA_WORKGROUP: 'soc',
      CARTOGRAPHER_ATHENA_OUTPUT: 's3://soc-athena-results/cartographer/',
      CARTOGRAPHER_ATHENA_TABLE_STYLE: 'projection',
      CARTOGRAPHER_ATHENA_MAX_EVENTS: '100000',
      CARTOGRAPHER_ATHENA_TIMEOUT: '600',
      CARTOGRAPHER_ATHENA_PRICE_PER_TB: '6.25',
      CARTOGRAPHER_ATHENA_LOOKBACK_DAYS: '3',
      CARTOGRAPHER_ATHENA_CONCURRENCY: '8',
      CARTOGRAPHER_ATHENA_DAILY_BUDGET_GB: '500',
      CARTOGRAPHER_ATHENA_LOGS: 's3://org-trail/AWSLogs/o-abc123/',
      CARTOGRAPHER_ATHENA_FIRST_DAY: '2025/06/01',
    });
    expect(c).toMatchObject({
      source: 'athena',
      localPaths: ['demo/', 'logs/a.json', 'logs/b.json.gz'],
      awsRegion: 'eu-west-1',
      regions: ['us-east-1', 'eu-west-1'],
      regionsConfigured: true,
      roleSessionName: 'soc-bot',
      lookup: { maxEvents: 2000, requestsPerSecond: 1.5, timeoutSeconds: 60 },
      athena: {
        region: 'us-east-2',
        database: 'security',
        table: 'org_trail',
        workgroup: 'soc',
        outputLocation: 's3://soc-athena-results/cartographer/',
        tableStyle: 'projection',
        maxEvents: 100_000,
        timeoutSeconds: 600,
        pricePerTbUsd: 6.25,
        defaultLookbackDays: 3,
        maxConcurrentQueries: 8,
        dailyBudgetGb: 500,
        logsLocation: 's3://org-trail/AWSLogs/o-abc123/',
        firstDay: '2025/06/01',
      },
    });
    expect(c.accounts).toEqual([
      {
        id: '111122223333',
        roleArn: 'arn:aws:iam::111122223333:role/CartographerReadOnly',
        externalId: 'soc-7',
      },
      { id: '444455556666', roleArn: 'arn:aws:iam::444455556666:role/Audit', externalId: 'soc-7' },
    ]);
  });

  it.each([
    [{ CARTOGRAPHER_SOURCE: 's3' }, 'CARTOGRAPHER_SOURCE', /"s3"/],
    [
      { CARTOGRAPHER_REGIONS: 'us-east-1,eu-wst-1x' },
      'CARTOGRAPHER_REGIONS',
      /"eu-wst-1x".*not an AWS region/,
    ],
    [{ CARTOGRAPHER_LOOKUP_MAX_EVENTS: 'lots' }, 'CARTOGRAPHER_LOOKUP_MAX_EVENTS', /number/],
    [{ CARTOGRAPHER_LOOKUP_RATE: '50' }, 'CARTOGRAPHER_LOOKUP_RATE', /10/],
    [{ CARTOGRAPHER_ATHENA_OUTPUT: 'soc-athena-results' }, 'CARTOGRAPHER_ATHENA_OUTPUT', /s3:\/\//],
    [{ CARTOGRAPHER_ATHENA_TABLE: 'logs; DROP TABLE x' }, 'CARTOGRAPHER_ATHENA_TABLE', /letters, digits/],
    [{ CARTOGRAPHER_ATHENA_TABLE_STYLE: 'hive' }, 'CARTOGRAPHER_ATHENA_TABLE_STYLE', /partitioned/],
    [{ CARTOGRAPHER_ACCOUNTS: '1234' }, 'CARTOGRAPHER_ACCOUNTS', /12-digit/],
    [{ AWS_REGION: 'mars-1' }, 'AWS_REGION', /not an AWS region/],
    [{ CARTOGRAPHER_SOURCE: 'athena' }, 'CARTOGRAPHER_ATHENA_DATABASE', /not set/],
  ])('names the setting at fault: %j', (env, setting, message) => {
    const err = configError(() => loadConfig(env));
    expect(err.setting).toBe(setting);
    expect(err.message).toContain(setting);
    expect(err.message).toMatch(message);
  });

  it('lists every problem at once', () => {
    const err = configError(() =>
      loadConfig({ CARTOGRAPHER_SOURCE: 'x', CARTOGRAPHER_LOOKUP_TIMEOUT: '-1' }),
    );
    expect(err.message).toContain('CARTOGRAPHER_SOURCE');
    expect(err.message).toContain('CARTOGRAPHER_LOOKUP_TIMEOUT');
  });
});

describe('loadConfig from a file', () => {
  const yaml = file(
    'cartographer.yaml',
    `source: lookup
regions: [us-east-1, eu-central-1]
accounts:
  - id: "123837392027"
  - id: "210987654321"
    roleArn: arn:aws:iam::210987654321:role/CartographerReadOnly
    externalId: soc-7
    name: prod
lookup:
  maxEvents: 500
athena:
  database: security
  tableStyle: projection
slack:
  channel: "#soc"   # other modules' sections are left to them
`,
  );

  it('reads YAML, and the environment wins over the file', () => {
    const c = loadConfig({ CARTOGRAPHER_CONFIG: yaml, CARTOGRAPHER_LOOKUP_MAX_EVENTS: '750' });
    expect(c.source).toBe('lookup');
    expect(c.regions).toEqual(['us-east-1', 'eu-central-1']);
    expect(c.accounts[1]).toEqual({
      id: '210987654321',
      roleArn: 'arn:aws:iam::210987654321:role/CartographerReadOnly',
      externalId: 'soc-7',
      name: 'prod',
    });
    expect(c.lookup.maxEvents).toBe(750);
    expect(c.athena).toMatchObject({
      database: 'security',
      tableStyle: 'projection',
      table: 'cloudtrail_logs',
    });
  });

  it('reads JSON through the file argument', () => {
    const json = file('c.json', JSON.stringify({ source: 'athena', athena: { database: 'trail_db' } }));
    expect(loadConfig({}, json).athena.database).toBe('trail_db');
  });

  it('names the file and key of a bad value, and catches misspelt keys', () => {
    const bad = file('bad.yaml', 'athena:\n  tableStyle: hive\n');
    const err = configError(() => loadConfig({ CARTOGRAPHER_CONFIG: bad }));
    expect(err.setting).toBe(`${bad}: athena.tableStyle`);
    const typo = file('typo.yaml', 'athena:\n  databse: security\n');
    expect(configError(() => loadConfig({ CARTOGRAPHER_CONFIG: typo })).message).toMatch(/databse/);
    const mismatch = file(
      'm.yaml',
      'accounts:\n  - id: "111122223333"\n    roleArn: arn:aws:iam::444455556666:role/X\n',
    );
    expect(configError(() => loadConfig({}, mismatch)).message).toMatch(
      /accounts\.0\.roleArn.*different account/,
    );
  });

  it('points at the line of a syntax error and at CARTOGRAPHER_CONFIG for a missing file', () => {
    const broken = file('broken.yaml', 'source: lookup\nregions: [us-east-1\n');
    expect(configError(() => loadConfig({ CARTOGRAPHER_CONFIG: broken })).message).toMatch(
      /broken\.yaml:\d+:\d+/,
    );
    const missing = configError(() => loadConfig({ CARTOGRAPHER_CONFIG: join(dir, 'nope.yaml') }));
    expect(missing.setting).toBe('CARTOGRAPHER_CONFIG');
    expect(missing.message).toContain('no such file');
  });
});

describe('createSource', () => {
  let endpoint: AwsEndpoint | undefined;
  afterEach(async () => {
    await endpoint?.close();
    endpoint = undefined;
    vi.unstubAllEnvs();
  });

  it('asks for CARTOGRAPHER_LOCAL_PATH, the Athena database, and a role per member account', async () => {
    await expect(createSource('local', loadConfig({}))).rejects.toMatchObject({
      setting: 'CARTOGRAPHER_LOCAL_PATH',
    });
    await expect(createSource('athena', loadConfig({}))).rejects.toMatchObject({
      setting: 'CARTOGRAPHER_ATHENA_DATABASE',
    });
    await expect(
      createSource('lookup', loadConfig({ CARTOGRAPHER_ACCOUNTS: '111122223333,444455556666' })),
    ).rejects.toMatchObject({ setting: 'CARTOGRAPHER_ACCOUNTS' });
  });

  it('builds each source by name', async () => {
    const config = loadConfig({
      CARTOGRAPHER_LOCAL_PATH: 'test/fixtures/aws-source',
      CARTOGRAPHER_ATHENA_DATABASE: 'security',
    });
    expect((await createSource('local', config)).name).toBe('local');
    expect((await createSource('lookup', config)).name).toBe('lookup');
    expect((await createSource('athena', config)).name).toBe('athena');
  });

  it('wires the configured lookup source to the SDK endpoint variables', async () => {
    const records = loadCloudTrailDir('test/fixtures/aws-source');
    endpoint = await startAwsEndpoint({ records });
    for (const [k, v] of Object.entries(endpoint.env)) vi.stubEnv(k, v);
    const config = loadConfig({
      ...process.env,
      CARTOGRAPHER_REGIONS: 'us-east-1,eu-west-1',
      CARTOGRAPHER_LOOKUP_MAX_EVENTS: '20',
    });
    const source = await createSource('lookup', config);
    const items: SourceItem[] = [];
    for await (const item of source.read({ user: 'bert-jan' })) items.push(item);
    expect(items.filter((i) => i.kind === 'record')).toHaveLength(20);
    expect(items.at(-1)).toMatchObject({ kind: 'truncated' });
    expect(new Set(endpoint.calls('LookupEvents').map((c) => c.region))).toEqual(
      new Set(['us-east-1', 'eu-west-1']),
    );
  });
});
