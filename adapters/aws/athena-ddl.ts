/**
 * The CREATE TABLE statements of the CloudTrail table Cartographer queries (`cartographer athena ddl`), built from the
 * one column list (athena-columns.ts) and the one region list (regions.ts), so the table, the queries and the check
 * cannot drift apart. adapters/aws/athena-tables.sql is this output for example settings (a test keeps it so).
 */
import { columnDefinitions } from './athena-columns.ts';
import type { TableStyle } from './athena-sql.ts';
import { DEFAULT_REGIONS, OPT_IN_REGIONS } from './regions.ts';

export interface DdlOptions {
  /** `s3://bucket/AWSLogs/` or `s3://bucket/AWSLogs/o-orgid/` (organisation trail), with the trailing slash. */
  location: string;
  database?: string;
  table: string;
  style: Exclude<TableStyle, 'none'>;
  /** Projection: the accounts (an org trail: every member account). Empty: a placeholder to fill in. */
  accounts: readonly string[];
  /** Projection: the first day with logs, `yyyy/MM/dd`. */
  firstDay: string;
}

/** Every region CloudTrail can deliver from, opt-in regions included (a region with no logs costs nothing). */
export const ALL_REGIONS: readonly string[] = [...DEFAULT_REGIONS, ...OPT_IN_REGIONS];

const S3_LOGS = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/([^'\\]*\/)?$/;
const DAY = /^\d{4}\/\d{2}\/\d{2}$/;

export function validateDdlOptions(o: DdlOptions): string | undefined {
  if (!S3_LOGS.test(o.location))
    return `the logs location '${o.location}' is not s3://bucket/AWSLogs/[o-orgid/] (with the trailing slash)`;
  if (!DAY.test(o.firstDay)) return `the first day '${o.firstDay}' is not yyyy/MM/dd`;
  if (o.accounts.some((a) => !/^\d{12}$/.test(a))) return 'an account ID has 12 digits';
  return undefined;
}

export function athenaDdl(o: DdlOptions): string {
  const problem = validateDdlOptions(o);
  if (problem) throw new Error(problem);
  const name = o.database ? `${o.database}.${o.table}` : o.table;
  const head = [
    `CREATE EXTERNAL TABLE ${name} (`,
    columnDefinitions(),
    ')',
    o.style === 'projection'
      ? 'PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)'
      : 'PARTITIONED BY (account STRING, region STRING, year STRING, month STRING, day STRING)',
    "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'",
    "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'",
    "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
    `LOCATION '${o.location}'`,
  ];
  if (o.style === 'partitioned') return `${head.join('\n')};\n`;
  const accounts = o.accounts.length ? o.accounts.join(',') : '111122223333,444455556666';
  const props = [
    ['projection.enabled', 'true'],
    ['projection.account.type', 'enum'],
    ['projection.account.values', accounts],
    ['projection.region.type', 'enum'],
    ['projection.region.values', ALL_REGIONS.join(',')],
    ['projection.timestamp.type', 'date'],
    ['projection.timestamp.format', 'yyyy/MM/dd'],
    ['projection.timestamp.range', `${o.firstDay},NOW`],
    ['projection.timestamp.interval', '1'],
    ['projection.timestamp.interval.unit', 'DAYS'],
    ['storage.location.template', `${o.location}\${account}/CloudTrail/\${region}/\${timestamp}`],
  ];
  const tblProps = props.map(([k, v]) => `  '${k}' = '${v}'`).join(',\n');
  return `${head.join('\n')}\nTBLPROPERTIES (\n${tblProps}\n);\n`;
}

/** The classic table's partition for one account, region and day (a daily job adds these). */
export function addPartitionStatement(o: DdlOptions, account: string, region: string, day: Date): string {
  const [y, m, d] = day.toISOString().slice(0, 10).split('-');
  return (
    `ALTER TABLE ${o.table} ADD IF NOT EXISTS\n` +
    `  PARTITION (account = '${account}', region = '${region}', year = '${y}', month = '${m}', day = '${d}')\n` +
    `  LOCATION '${o.location}${account}/CloudTrail/${region}/${y}/${m}/${d}/';\n`
  );
}

const EXAMPLE: DdlOptions = {
  location: 's3://org-cloudtrail-bucket/AWSLogs/o-exampleorgid/',
  table: 'cloudtrail_logs',
  style: 'projection',
  accounts: ['111122223333', '444455556666'],
  firstDay: '2024/01/01',
};

/** adapters/aws/athena-tables.sql: both table styles for example settings (a test keeps the file equal to this). */
export function exampleTablesFile(): string {
  const partitioned = { ...EXAMPLE, table: 'cloudtrail_logs_partitioned', style: 'partitioned' as const };
  return [
    '-- The CloudTrail table Cartographer queries, for example settings: `cartographer athena ddl` prints it for yours',
    '-- (CARTOGRAPHER_ATHENA_LOGS, CARTOGRAPHER_ACCOUNTS, CARTOGRAPHER_ATHENA_FIRST_DAY). Generated from',
    '-- adapters/aws/athena-columns.ts (every CloudTrail column) and adapters/aws/regions.ts (every region).',
    '',
    '-- 1. tableStyle = projection (the default): partition projection on account, region and day; no upkeep.',
    athenaDdl(EXAMPLE),
    '-- 2. tableStyle = partitioned (classic): the same columns, partitions you add yourself (e.g. a daily job).',
    athenaDdl(partitioned),
    '-- One partition per account, region and day (values zero-padded, as in the S3 keys):',
    addPartitionStatement(partitioned, '111122223333', 'us-east-1', new Date('2026-11-21T00:00:00Z')),
  ].join('\n');
}
