/**
 * Cartographer's configuration: which CloudTrail source, regions, member accounts and roles, Athena settings.
 *
 * Read from an optional JSON/YAML file (`CARTOGRAPHER_CONFIG`) and the environment; the environment wins, so one file
 * can serve several deployments. Validated with zod; any wrong or missing setting raises a ConfigError whose message
 * names the setting the operator has to fix (the environment variable, or the file and key).
 *
 * AWS credentials and endpoints are not settings here: the SDK's own chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO,
 * instance roles) and `AWS_ENDPOINT_URL_<SERVICE>` variables apply unchanged.
 *
 * Other modules (Slack bot, scheduler) parse their own settings; the schema pieces below are exported for reuse.
 */
import { readFileSync } from 'node:fs';
import { delimiter } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { IDENTIFIER } from '../adapters/aws/athena-sql.ts';
import { DEFAULT_REGIONS, isRegionName, partitionOf } from '../adapters/aws/regions.ts';
import { CartographerError } from '../engine/errors.ts';

export class ConfigError extends CartographerError {
  readonly code = 'config';
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** The setting to fix: an environment variable or `file: key`. */
    readonly setting: string,
  ) {
    super(message);
  }
}

export const SOURCE_NAMES = ['local', 'lookup', 'athena'] as const;
export const TABLE_STYLES = ['partitioned', 'projection', 'none'] as const;

export const RegionSchema = z
  .string()
  .refine(isRegionName, { message: 'is not an AWS region name (e.g. us-east-1)' });
export const AccountIdSchema = z.string().regex(/^\d{12}$/, 'is not a 12-digit AWS account ID');
const ROLE_ARN = /^arn:aws(-cn|-us-gov|-iso[a-z]?)?:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
export const RoleArnSchema = z
  .string()
  .regex(ROLE_ARN, 'is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)');
const IdentifierSchema = z.string().regex(IDENTIFIER, "may only contain letters, digits, '_' and '-'");

export const AccountSchema = z
  .strictObject({
    id: AccountIdSchema,
    roleArn: RoleArnSchema.optional(),
    /** The external ID the role's trust policy requires, if any. */
    externalId: z
      .string()
      .regex(/^[\w+=,.@:/-]{2,1224}$/, 'is not a valid external ID')
      .optional(),
    name: z.string().min(1).optional(),
  })
  .refine((a) => !a.roleArn || ROLE_ARN.exec(a.roleArn)?.[2] === a.id, {
    message: 'roleArn belongs to a different account than id',
    path: ['roleArn'],
  });

export const LookupSettingsSchema = z.strictObject({
  /** Stop after this many events and say the result is truncated. */
  maxEvents: z.number().int().positive().max(1_000_000).default(10_000),
  /** LookupEvents requests per second per account and region (AWS quota: 2). */
  requestsPerSecond: z.number().positive().max(10).default(2),
  timeoutSeconds: z.number().positive().max(3600).default(300),
});

export const AthenaSettingsSchema = z.strictObject({
  /** Region of the Athena workgroup; defaults to `awsRegion`. */
  region: RegionSchema.optional(),
  catalog: IdentifierSchema.default('AwsDataCatalog'),
  database: IdentifierSchema.optional(),
  table: IdentifierSchema.default('cloudtrail_logs'),
  workgroup: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{1,128}$/, 'is not a valid workgroup name')
    .default('primary'),
  /** `s3://bucket/prefix/` for query results; optional if the workgroup enforces its own location. */
  outputLocation: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, 'is not an s3:// URI')
    .optional(),
  /** `projection` matches the table `cartographer athena ddl` prints. */
  tableStyle: z.enum(TABLE_STYLES).default('projection'),
  /** Rows one query may bring into Node; a scan past it is retried in smaller time ranges. */
  maxEvents: z.number().int().positive().max(10_000_000).default(50_000),
  /** Queries running at once from this process (Athena allows about 20 per account by default). */
  maxConcurrentQueries: z.number().int().positive().max(100).default(5),
  /** Gigabytes Athena may scan per UTC day before queries are refused (absent: no budget). */
  dailyBudgetGb: z.number().positive().optional(),
  /** `s3://bucket/AWSLogs/[o-orgid/]`: where the trail delivers (for `cartographer athena ddl`). */
  logsLocation: z
    .string()
    .regex(
      /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/([^'\\]*\/)?$/,
      'is not an s3://bucket/prefix/ URI (trailing slash)',
    )
    .optional(),
  /** First day of logs for partition projection, `yyyy/MM/dd` (for `cartographer athena ddl`). */
  firstDay: z
    .string()
    .regex(/^\d{4}\/\d{2}\/\d{2}$/, 'is not yyyy/MM/dd')
    .default('2024/01/01'),
  timeoutSeconds: z.number().positive().max(3600).default(300),
  pricePerTbUsd: z.number().nonnegative().default(5),
  /** How far back a query without `--since` looks (Athena bills per byte scanned). */
  defaultLookbackDays: z.number().positive().max(3650).default(7),
});

/** The SQS queue of S3 notifications that near-real-time alerts read (`CARTOGRAPHER_ALERT_SOURCE=sqs`). */
export const SqsSettingsSchema = z.strictObject({
  queueUrl: z
    .url({ message: 'is not a URL (https://sqs.<region>.amazonaws.com/<account>/<queue>)' })
    .optional(),
  /** Region of the queue and the bucket; default: the one in the queue URL, else `awsRegion`. */
  region: RegionSchema.optional(),
  batchSize: z.number().int().min(1).max(10, 'must be at most 10 (SQS limit)').default(10),
  concurrency: z.number().int().min(1).max(32).default(4),
  /** The queue's RedrivePolicy maxReceiveCount (deploy/sqs-alerts.yaml uses the same default). */
  maxReceives: z.number().int().min(1).max(1000).default(5),
  visibilitySeconds: z.number().int().min(1).max(43_200).default(60),
  waitSeconds: z.number().int().min(0).max(20, 'must be at most 20 (SQS long-poll limit)').default(20),
});

export const ConfigSchema = z.looseObject({
  source: z.enum(SOURCE_NAMES).default('local'),
  localPaths: z.array(z.string().min(1)).default([]),
  /** Folders of custom detection rules (own format or Sigma) added to the bundled ones. */
  rulesDirs: z.array(z.string().min(1)).default([]),
  /** Home region: STS, and Athena unless `athena.region` says otherwise. */
  awsRegion: RegionSchema.default('us-east-1'),
  /** Regions to query; absent means the default-enabled commercial regions (adapters/aws/regions.ts). */
  regions: z.array(RegionSchema).min(1, 'needs at least one region').optional(),
  accounts: z.array(AccountSchema).default([]),
  roleSessionName: z
    .string()
    .regex(/^[\w+=,.@-]{2,64}$/, 'is not a valid role session name')
    .default('cartographer'),
  lookup: LookupSettingsSchema.default(LookupSettingsSchema.parse({})),
  athena: AthenaSettingsSchema.default(AthenaSettingsSchema.parse({})),
  sqs: SqsSettingsSchema.default(SqsSettingsSchema.parse({})),
});

export type CartographerConfig = z.infer<typeof ConfigSchema> & {
  /** Regions to query (configured, or the default list). */
  regions: string[];
  /** True when regions were configured explicitly (Athena then also filters on them). */
  regionsConfigured: boolean;
};

type Parse = 'string' | 'list' | 'paths' | 'number' | 'accounts';

/** Every environment variable this module reads, where it goes, and what it means (the README table is this list). */
export const ENV_SETTINGS: readonly { env: string; path: string; parse: Parse; description: string }[] = [
  {
    env: 'CARTOGRAPHER_SOURCE',
    path: 'source',
    parse: 'string',
    description: 'local | lookup | athena (default local)',
  },
  {
    env: 'CARTOGRAPHER_LOCAL_PATH',
    path: 'localPaths',
    parse: 'paths',
    description: 'files or directories for the local source, separated by commas or the path delimiter',
  },
  {
    env: 'CARTOGRAPHER_RULES_DIRS',
    path: 'rulesDirs',
    parse: 'paths',
    description: 'folders of custom detection rules (own format or Sigma), added to the bundled ones',
  },
  { env: 'AWS_REGION', path: 'awsRegion', parse: 'string', description: 'home region for STS and Athena' },
  {
    env: 'CARTOGRAPHER_REGIONS',
    path: 'regions',
    parse: 'list',
    description: 'regions to query, comma-separated',
  },
  {
    env: 'CARTOGRAPHER_ACCOUNTS',
    path: 'accounts',
    parse: 'accounts',
    description: 'member accounts: account IDs and/or role ARNs, comma-separated',
  },
  {
    env: 'CARTOGRAPHER_ASSUME_ROLE_NAME',
    path: 'assumeRoleName',
    parse: 'string',
    description: 'role name to assume in each account listed by ID',
  },
  {
    env: 'CARTOGRAPHER_EXTERNAL_ID',
    path: 'externalId',
    parse: 'string',
    description: 'external ID for AssumeRole',
  },
  {
    env: 'CARTOGRAPHER_ROLE_SESSION_NAME',
    path: 'roleSessionName',
    parse: 'string',
    description: 'default cartographer',
  },
  {
    env: 'CARTOGRAPHER_LOOKUP_MAX_EVENTS',
    path: 'lookup.maxEvents',
    parse: 'number',
    description: 'default 10000',
  },
  {
    env: 'CARTOGRAPHER_LOOKUP_RATE',
    path: 'lookup.requestsPerSecond',
    parse: 'number',
    description: 'default 2',
  },
  {
    env: 'CARTOGRAPHER_LOOKUP_TIMEOUT',
    path: 'lookup.timeoutSeconds',
    parse: 'number',
    description: 'default 300',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_REGION',
    path: 'athena.region',
    parse: 'string',
    description: 'default AWS_REGION',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_CATALOG',
    path: 'athena.catalog',
    parse: 'string',
    description: 'default AwsDataCatalog',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_DATABASE',
    path: 'athena.database',
    parse: 'string',
    description: 'required for athena',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_TABLE',
    path: 'athena.table',
    parse: 'string',
    description: 'default cloudtrail_logs',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_WORKGROUP',
    path: 'athena.workgroup',
    parse: 'string',
    description: 'default primary',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_OUTPUT',
    path: 'athena.outputLocation',
    parse: 'string',
    description: 's3:// results',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_TABLE_STYLE',
    path: 'athena.tableStyle',
    parse: 'string',
    description: 'projection | partitioned | none (default projection)',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_MAX_EVENTS',
    path: 'athena.maxEvents',
    parse: 'number',
    description: 'default 50000',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_CONCURRENCY',
    path: 'athena.maxConcurrentQueries',
    parse: 'number',
    description: 'default 5',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_DAILY_BUDGET_GB',
    path: 'athena.dailyBudgetGb',
    parse: 'number',
    description: 'GB scanned per UTC day before queries are refused (default none)',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_LOGS',
    path: 'athena.logsLocation',
    parse: 'string',
    description: 's3://bucket/AWSLogs/[o-orgid/] the trail delivers to (athena ddl)',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_FIRST_DAY',
    path: 'athena.firstDay',
    parse: 'string',
    description: 'first day of logs, yyyy/MM/dd (athena ddl; default 2024/01/01)',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_TIMEOUT',
    path: 'athena.timeoutSeconds',
    parse: 'number',
    description: 'default 300',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_PRICE_PER_TB',
    path: 'athena.pricePerTbUsd',
    parse: 'number',
    description: 'default 5',
  },
  {
    env: 'CARTOGRAPHER_ATHENA_LOOKBACK_DAYS',
    path: 'athena.defaultLookbackDays',
    parse: 'number',
    description: 'default 7',
  },
  {
    env: 'CARTOGRAPHER_SQS_QUEUE_URL',
    path: 'sqs.queueUrl',
    parse: 'string',
    description: 'queue of S3 notifications (alert source sqs)',
  },
  {
    env: 'CARTOGRAPHER_SQS_REGION',
    path: 'sqs.region',
    parse: 'string',
    description: 'default: from the queue URL',
  },
  {
    env: 'CARTOGRAPHER_SQS_BATCH_SIZE',
    path: 'sqs.batchSize',
    parse: 'number',
    description: 'messages per receive, 1-10 (default 10)',
  },
  {
    env: 'CARTOGRAPHER_SQS_CONCURRENCY',
    path: 'sqs.concurrency',
    parse: 'number',
    description: 'messages processed at once per replica (default 4)',
  },
  {
    env: 'CARTOGRAPHER_SQS_MAX_RECEIVES',
    path: 'sqs.maxReceives',
    parse: 'number',
    description: "the queue's redrive maxReceiveCount (default 5)",
  },
  {
    env: 'CARTOGRAPHER_SQS_VISIBILITY_SECONDS',
    path: 'sqs.visibilitySeconds',
    parse: 'number',
    description: 'visibility timeout, renewed while processing (default 60)',
  },
  {
    env: 'CARTOGRAPHER_SQS_WAIT_SECONDS',
    path: 'sqs.waitSeconds',
    parse: 'number',
    description: 'long-poll wait, 0-20 (default 20)',
  },
];

/**
 * Loads and validates the configuration. `file` defaults to `env.CARTOGRAPHER_CONFIG`; without either, the
 * environment alone is used. Throws ConfigError naming the setting at fault.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, file?: string): CartographerConfig {
  const configFile = file ?? nonEmpty(env.CARTOGRAPHER_CONFIG);
  const raw: Record<string, unknown> = configFile ? readConfigFile(configFile) : {};
  /** Settings that came from the environment, for error messages: dotted path → variable name. */
  const origin = new Map<string, string>();

  const region = nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  for (const setting of ENV_SETTINGS) {
    const text = setting.env === 'AWS_REGION' ? region : nonEmpty(env[setting.env]);
    if (text === undefined) continue;
    setPath(raw, setting.path, parseEnvValue(text, setting.parse));
    origin.set(
      setting.path,
      setting.env === 'AWS_REGION' && !env.AWS_REGION ? 'AWS_DEFAULT_REGION' : setting.env,
    );
  }
  applyRoleTemplate(raw, origin);

  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.map(String);
      const setting = settingFor(path, origin, configFile);
      const value = valueAt(raw, path);
      const shown = value === undefined || typeof value === 'object' ? '' : ` (${JSON.stringify(value)})`;
      return { setting, text: `${setting}${shown}: ${issue.message}` };
    });
    throw new ConfigError(
      problems.length === 1
        ? `Invalid setting ${problems[0]!.text}`
        : `Invalid settings:\n  ${problems.map((p) => p.text).join('\n  ')}`,
      problems[0]!.setting,
    );
  }
  const config: CartographerConfig = {
    ...parsed.data,
    regions: parsed.data.regions ?? [...DEFAULT_REGIONS],
    regionsConfigured: parsed.data.regions !== undefined,
  };
  if (config.source === 'athena') requireAthenaSettings(config);
  return config;
}

/** The Athena settings a query cannot run without; called when the athena source is chosen (env or --source). */
export function requireAthenaSettings(config: CartographerConfig): void {
  if (!config.athena.database) {
    throw new ConfigError(
      'CARTOGRAPHER_ATHENA_DATABASE is not set: the Athena source needs the Glue database of the CloudTrail table.',
      'CARTOGRAPHER_ATHENA_DATABASE',
    );
  }
}

/** The queue alerts read from; called when the sqs alert source is chosen (bot setting or `watch --source sqs`). */
export function requireSqsSettings(config: CartographerConfig): void {
  if (!config.sqs.queueUrl) {
    throw new ConfigError(
      'CARTOGRAPHER_SQS_QUEUE_URL is not set: the sqs source needs the URL of the queue the CloudTrail bucket notifies.',
      'CARTOGRAPHER_SQS_QUEUE_URL',
    );
  }
}

/** The lookup source queries each account with its own role; only the account we run in may go without one. */
export function requireLookupSettings(config: CartographerConfig): void {
  const roleless = config.accounts.filter((a) => !a.roleArn);
  if (roleless.length > 1) {
    throw new ConfigError(
      `CARTOGRAPHER_ACCOUNTS: accounts ${roleless.map((a) => a.id).join(', ')} have no role to assume; ` +
        'set CARTOGRAPHER_ASSUME_ROLE_NAME or list role ARNs (only the account Cartographer runs in may go without).',
      'CARTOGRAPHER_ACCOUNTS',
    );
  }
}

/** Reads a JSON or YAML config file (YAML is a superset of JSON) into a plain object. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `CARTOGRAPHER_CONFIG: cannot read ${file} (${code === 'ENOENT' ? 'no such file' : code})`,
      'CARTOGRAPHER_CONFIG',
    );
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(
      `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: not valid YAML/JSON: ${e.message.split('\n')[0]}`,
      'CARTOGRAPHER_CONFIG',
    );
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${file}: the configuration must be a mapping of settings`, 'CARTOGRAPHER_CONFIG');
  }
  return value as Record<string, unknown>;
}

function parseEnvValue(text: string, parse: Parse): unknown {
  switch (parse) {
    case 'string':
      return text.trim();
    case 'number': {
      const n = Number(text.trim());
      // Left as text when not a number, so validation names the variable ("expected number").
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'list':
      return splitList(text, /,/);
    case 'paths':
      return splitList(text, new RegExp(`[,${delimiter === ';' ? ';' : ':'}]`));
    case 'accounts':
      return splitList(text, /,/).map((entry) => {
        const arn = ROLE_ARN.exec(entry);
        return arn ? { id: arn[2], roleArn: entry } : { id: entry };
      });
  }
}

/** Accounts listed by ID get `arn:<partition>:iam::<id>:role/<CARTOGRAPHER_ASSUME_ROLE_NAME>`. */
function applyRoleTemplate(raw: Record<string, unknown>, origin: Map<string, string>): void {
  const roleName = raw.assumeRoleName;
  const externalId = raw.externalId;
  delete raw.assumeRoleName;
  delete raw.externalId;
  if (!Array.isArray(raw.accounts)) return;
  if (roleName !== undefined && !/^[\w+=,.@/-]{1,512}$/.test(String(roleName))) {
    throw new ConfigError(
      `Invalid setting ${origin.get('assumeRoleName') ?? 'assumeRoleName'} (${JSON.stringify(roleName)}): is not an IAM role name`,
      origin.get('assumeRoleName') ?? 'assumeRoleName',
    );
  }
  const region = typeof raw.awsRegion === 'string' ? raw.awsRegion : 'us-east-1';
  raw.accounts = raw.accounts.map((a) => {
    if (!a || typeof a !== 'object') return a;
    const account = { ...(a as Record<string, unknown>) };
    if (!account.roleArn && roleName && typeof account.id === 'string') {
      account.roleArn = `arn:${partitionOf(region)}:iam::${account.id}:role/${String(roleName).replace(/^\/+/, '')}`;
    }
    if (account.externalId === undefined && externalId !== undefined && account.roleArn)
      account.externalId = externalId;
    return account;
  });
}

function settingFor(path: string[], fromEnv: Map<string, string>, file: string | undefined): string {
  for (let n = path.length; n > 0; n--) {
    const env = fromEnv.get(path.slice(0, n).join('.'));
    if (env) return env;
  }
  const dotted = path.join('.');
  if (file) return `${file}: ${dotted || '(top level)'}`;
  return ENV_SETTINGS.find((s) => s.path === dotted)?.env ?? (dotted || '(configuration)');
}

function valueAt(obj: unknown, path: string[]): unknown {
  let v: unknown = obj;
  for (const p of path) {
    if (!v || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

function splitList(text: string, separator: RegExp): string[] {
  return text
    .split(separator)
    .map((s) => s.trim())
    .filter(Boolean);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v;
}
