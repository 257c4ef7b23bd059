/**
 * `cartographer athena ddl|check`: the CloudTrail table Cartographer queries, set up right the first time.
 *
 *   ddl    prints CREATE EXTERNAL TABLE for the configured logs location (partition projection by default, every
 *          CloudTrail column, every region including opt-in ones)
 *   check  verifies the configured table, its columns and partition style, and the workgroup's results location
 */
import { parseArgs } from 'node:util';
import { type CartographerConfig, ConfigError, loadConfig } from '../../config/config.ts';

export const usage = `usage: cartographer athena ddl [--style projection|partitioned] [--location s3://bucket/AWSLogs/[o-orgid/]]
                        [--accounts ID,ID…] [--first-day yyyy/MM/dd]
       cartographer athena check [--format text|json]

ddl    prints the CREATE EXTERNAL TABLE statement for the CloudTrail table (run it in the Athena console):
       every CloudTrail column, partition projection over account, region and day (every region, opt-in ones
       included) unless --style partitioned. Defaults: CARTOGRAPHER_ATHENA_LOGS, CARTOGRAPHER_ACCOUNTS,
       CARTOGRAPHER_ATHENA_FIRST_DAY, CARTOGRAPHER_ATHENA_DATABASE / _TABLE / _TABLE_STYLE.
check  checks the configured table (exists, every column, partitions as CARTOGRAPHER_ATHENA_TABLE_STYLE says)
       and the workgroup (results location, engine version 3); one line per check with the fix.
       Exit 0 when everything is fine, 1 otherwise.`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    process.stdout.write(`${usage}\n`);
    return sub === undefined ? 2 : 0;
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest);
  } catch (e) {
    return usageError((e as Error).message);
  }
  const config = loadConfig();
  if (sub === 'ddl') return ddl(parsed.values, config);
  if (sub === 'check') return check(parsed.values, config);
  return usageError(`unknown sub-command '${sub}'`);
}

function parse(args: string[]) {
  return parseArgs({
    args,
    options: {
      style: { type: 'string' },
      location: { type: 'string' },
      accounts: { type: 'string' },
      'first-day': { type: 'string' },
      format: { type: 'string' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

async function ddl(values: Values, config: CartographerConfig): Promise<number> {
  const { athenaDdl, validateDdlOptions } = await import('../../adapters/aws/athena-ddl.ts');
  const location = values.location ?? config.athena.logsLocation;
  if (!location) {
    throw new ConfigError(
      'CARTOGRAPHER_ATHENA_LOGS is not set: give the trail bucket as --location s3://bucket/AWSLogs/[o-orgid/] (or set CARTOGRAPHER_ATHENA_LOGS).',
      'CARTOGRAPHER_ATHENA_LOGS',
    );
  }
  const style =
    values.style ?? (config.athena.tableStyle === 'none' ? 'projection' : config.athena.tableStyle);
  if (style !== 'projection' && style !== 'partitioned') {
    return usageError(`--style must be projection or partitioned (got '${style}')`);
  }
  const options = {
    location,
    ...(config.athena.database ? { database: config.athena.database } : {}),
    table: config.athena.table,
    style: style as 'projection' | 'partitioned',
    accounts: values.accounts
      ? values.accounts.split(',').map((a) => a.trim())
      : config.accounts.map((a) => a.id),
    firstDay: values['first-day'] ?? config.athena.firstDay,
  };
  const problem = validateDdlOptions(options);
  if (problem) return usageError(problem);
  process.stdout.write(athenaDdl(options));
  if (options.style === 'projection' && options.accounts.length === 0) {
    process.stderr.write(
      'note: no accounts configured (CARTOGRAPHER_ACCOUNTS or --accounts): replace the example account IDs in projection.account.values with every account the trail logs.\n',
    );
  }
  return 0;
}

async function check(values: Values, config: CartographerConfig): Promise<number> {
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    return usageError(`--format must be text or json (got '${format}')`);
  const { requireAthenaSettings } = await import('../../config/config.ts');
  requireAthenaSettings(config);
  // As for the Athena source: the SDK's Node-version notice belongs in the README, not on every terminal.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { checkAthena } = await import('../../adapters/aws/athena-check.ts');
  const a = config.athena;
  const checks = await checkAthena({
    region: a.region ?? config.awsRegion,
    catalog: a.catalog,
    database: a.database!,
    table: a.table,
    style: a.tableStyle,
    workgroup: a.workgroup,
    ...(a.outputLocation ? { outputLocation: a.outputLocation } : {}),
  });
  const ok = checks.every((c) => c.ok);
  if (format === 'json') process.stdout.write(`${JSON.stringify({ ok, checks }, null, 2)}\n`);
  else {
    for (const c of checks) {
      process.stdout.write(`${c.ok ? (c.warning ? '!' : '✓') : '✗'} ${c.name}: ${c.message}\n`);
    }
    process.stdout.write(ok ? 'The Athena table and workgroup are ready.\n' : 'Fix the lines marked ✗.\n');
  }
  return ok ? 0 : 1;
}

function usageError(message: string): number {
  process.stderr.write(`cartographer athena: ${message}\n\n${usage}\n`);
  return 2;
}
