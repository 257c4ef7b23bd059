/**
 * The Slack bot's settings, from the environment, validated with zod. A wrong or missing value
 * raises BotConfigError naming the variable; secrets are never echoed back.
 */
import { delimiter } from 'node:path';
import { z } from 'zod';
import { CartographerError } from '../engine/errors.ts';
import type { SourceName } from '../engine/source.ts';

export class BotConfigError extends CartographerError {
  readonly code = 'config';
  override name = 'BotConfigError';
}

const list = z
  .string()
  .optional()
  .transform((s) =>
    (s ?? '')
      .split(/[,\s]+/)
      .map((x) => x.trim())
      .filter(Boolean),
  );

const EnvSchema = z.object({
  SLACK_BOT_TOKEN: z
    .string({ message: 'is required (the xoxb- bot token from OAuth & Permissions)' })
    .min(1, 'is required (the xoxb- bot token from OAuth & Permissions)'),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z
    .string()
    .regex(/^xapp-/, 'must be an app-level token starting with xapp-')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  SLACK_API_URL: z
    .url({ message: 'must be a URL such as https://slack.com/api/' })
    .optional()
    .or(z.literal('').transform(() => undefined)),
  PORT: z.coerce.number({ message: 'must be a port number (0-65535)' }).int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  CARTOGRAPHER_ALLOWED_CHANNELS: list,
  CARTOGRAPHER_ALLOWED_USERS: list,
  CARTOGRAPHER_ALLOWED_USERGROUP: z
    .string()
    .regex(/^S[A-Z0-9]+$/, 'must be a user group id such as S0123ABCD')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  CARTOGRAPHER_DB: z.string().min(1).default('.cartographer/bot.db'),
  CARTOGRAPHER_DATABASE_URL: z
    .string()
    .regex(
      /^postgres(ql)?:\/\/\S+$/,
      'must be a PostgreSQL URL such as postgres://user@host:5432/cartographer',
    )
    .optional()
    .or(z.literal('').transform(() => undefined)),
  CARTOGRAPHER_SOURCE: z.enum(['local', 'lookup', 'athena']).default('local'),
  CARTOGRAPHER_LOCAL_PATH: z.string().optional(),
  CARTOGRAPHER_ALLOWLIST: z.string().min(1).default('.cartographer/allowlist.yaml'),
  CARTOGRAPHER_LOOKUP_TIMEOUT_SECONDS: z.coerce
    .number({ message: 'must be a whole number from 5 to 3600' })
    .int()
    .min(5, 'must be at least 5')
    .max(3600, 'must be at most 3600')
    .default(300),
  CARTOGRAPHER_MAX_CONCURRENT_LOOKUPS: z.coerce
    .number({ message: 'must be a whole number from 1 to 32' })
    .int()
    .min(1, 'must be at least 1')
    .max(32, 'must be at most 32')
    .default(2),
  CARTOGRAPHER_RETENTION_DAYS: z.coerce
    .number({ message: 'must be a whole number from 1 to 3650' })
    .int()
    .min(1, 'must be at least 1')
    .max(3650, 'must be at most 3650')
    .default(30),
  CARTOGRAPHER_MAX_TIMELINE_REPLIES: z.coerce
    .number({ message: 'must be a whole number from 1 to 200' })
    .int()
    .min(1, 'must be at least 1')
    .max(200, 'must be at most 200')
    .default(10),
  CARTOGRAPHER_ACCOUNT_NAMES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const names: Record<string, string> = {};
      for (const entry of (v ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)) {
        const m = /^(\d{12})\s*=\s*(.{1,60})$/.exec(entry);
        if (!m) {
          ctx.addIssue({
            code: 'custom',
            message: `must be 123456789012=name pairs, comma-separated (got '${entry.slice(0, 40)}')`,
          });
          return z.NEVER;
        }
        names[m[1]!] = m[2]!.trim();
      }
      return names;
    }),
  CARTOGRAPHER_ORGANIZATIONS: z.enum(['on', 'off'], { message: 'must be on or off' }).default('off'),
  CARTOGRAPHER_ORGANIZATIONS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/, 'must be an AWS region name such as us-east-1')
    .default('us-east-1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface BotConfig {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  /** Web API base URL, ending in `/` (WebClient appends the method name). */
  slackApiUrl?: string;
  port: number;
  host: string;
  allowedChannels: string[];
  allowedUsers: string[];
  allowedUsergroup?: string;
  dbFile: string;
  /** A shared PostgreSQL database instead of the SQLite file (several replicas). */
  databaseUrl?: string;
  defaultSource: SourceName;
  localPaths: string[];
  allowlistFile: string;
  lookupTimeoutMs: number;
  maxTimelineReplies: number;
  /** Cached analyses (and the buttons pointing at them) older than this are dropped. */
  retentionDays: number;
  maxConcurrentLookups: number;
  logLevel: string;
  /** Account id → name shown next to account ids (CARTOGRAPHER_ACCOUNT_NAMES). */
  accountNames: Record<string, string>;
  /** Also name accounts from AWS Organizations (ListAccounts, cached), in this region's partition. */
  organizationsAccountNames: boolean;
  organizationsRegion: string;
  /** Socket Mode when an app-level token is set, HTTP otherwise. */
  socketMode: boolean;
}

export function loadBotConfig(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    throw new BotConfigError(`${name} ${issue?.message ?? 'is invalid'}`);
  }
  const e = parsed.data;
  if (!e.SLACK_APP_TOKEN && !e.SLACK_SIGNING_SECRET) {
    throw new BotConfigError(
      'SLACK_SIGNING_SECRET is required for the HTTP receiver (Basic Information → Signing Secret), or set SLACK_APP_TOKEN for Socket Mode',
    );
  }
  const config: BotConfig = {
    botToken: e.SLACK_BOT_TOKEN,
    port: e.PORT,
    host: e.HOST,
    allowedChannels: e.CARTOGRAPHER_ALLOWED_CHANNELS,
    allowedUsers: e.CARTOGRAPHER_ALLOWED_USERS,
    dbFile: e.CARTOGRAPHER_DB,
    defaultSource: e.CARTOGRAPHER_SOURCE,
    localPaths: splitPaths(e.CARTOGRAPHER_LOCAL_PATH) ?? ['demo/'],
    allowlistFile: e.CARTOGRAPHER_ALLOWLIST,
    lookupTimeoutMs: e.CARTOGRAPHER_LOOKUP_TIMEOUT_SECONDS * 1000,
    maxTimelineReplies: e.CARTOGRAPHER_MAX_TIMELINE_REPLIES,
    retentionDays: e.CARTOGRAPHER_RETENTION_DAYS,
    maxConcurrentLookups: e.CARTOGRAPHER_MAX_CONCURRENT_LOOKUPS,
    logLevel: e.LOG_LEVEL,
    accountNames: e.CARTOGRAPHER_ACCOUNT_NAMES,
    organizationsAccountNames: e.CARTOGRAPHER_ORGANIZATIONS === 'on',
    organizationsRegion: e.CARTOGRAPHER_ORGANIZATIONS_REGION,
    socketMode: Boolean(e.SLACK_APP_TOKEN),
  };
  if (e.SLACK_SIGNING_SECRET) config.signingSecret = e.SLACK_SIGNING_SECRET;
  if (e.SLACK_APP_TOKEN) config.appToken = e.SLACK_APP_TOKEN;
  if (e.SLACK_API_URL)
    config.slackApiUrl = e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`;
  if (e.CARTOGRAPHER_DATABASE_URL) config.databaseUrl = e.CARTOGRAPHER_DATABASE_URL;
  if (e.CARTOGRAPHER_ALLOWED_USERGROUP) config.allowedUsergroup = e.CARTOGRAPHER_ALLOWED_USERGROUP;
  return config;
}

/** Same convention as the CLI: comma- or path-delimiter-separated files and directories. */
function splitPaths(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const parts = value
    .split(new RegExp(`[,${delimiter === ';' ? ';' : ':'}]`))
    .map((p) => p.trim())
    .filter(Boolean);
  return parts.length ? parts : undefined;
}
