/**
 * Settings of the scheduled scans, from the environment, validated with zod. A bad value raises
 * SchedulerConfigError naming the variable and what is expected.
 */
import { z } from 'zod';
import { isValidTimeZone } from '../engine/digest/day.ts';
import { CartographerError } from '../engine/errors.ts';
import type { Severity } from '../engine/model.ts';

export class SchedulerConfigError extends CartographerError {
  readonly code = 'config';
  override name = 'SchedulerConfigError';
}

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v ? v : undefined));

const EnvSchema = z.object({
  CARTOGRAPHER_SCHEDULE: z
    .enum(['on', 'off'], { message: 'must be on or off' })
    .optional()
    .transform((v) => v ?? 'on'),
  CARTOGRAPHER_DIGEST_CHANNEL: optionalText,
  CARTOGRAPHER_DIGEST_TIME: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a local time HH:MM such as 08:00')
    .default('08:00'),
  CARTOGRAPHER_TIMEZONE: z
    .string()
    .default('UTC')
    .refine(isValidTimeZone, 'must be an IANA time zone such as Europe/Berlin or UTC'),
  CARTOGRAPHER_ALERT_CHANNEL: optionalText,
  CARTOGRAPHER_ALERT_SOURCE: z
    .enum(['scan', 'sqs'], { message: 'must be scan (scan CARTOGRAPHER_SOURCE every few minutes) or sqs' })
    .default('scan'),
  CARTOGRAPHER_ALERT_EVERY_MINUTES: z.coerce
    .number({ message: 'must be a whole number of minutes' })
    .int('must be a whole number of minutes')
    .min(1, 'must be at least 1')
    .max(1440, 'must be at most 1440 (one day)')
    .default(5),
  CARTOGRAPHER_ALERT_MIN_SEVERITY: z
    .enum(['info', 'low', 'medium', 'high', 'critical'], {
      message: 'must be one of info, low, medium, high, critical',
    })
    .default('high'),
  CARTOGRAPHER_ALERT_REPEAT_WINDOW_HOURS: z.coerce
    .number({ message: 'must be a number of hours' })
    .positive('must be more than 0')
    .max(24 * 30, 'must be at most 720 (30 days)')
    .default(24),
  CARTOGRAPHER_LATE_DELIVERY_MINUTES: z.coerce
    .number({ message: 'must be a number of minutes' })
    .min(0, 'must be 0 or more')
    .max(24 * 60, 'must be at most 1440')
    .default(15),
  CARTOGRAPHER_CATCHUP_MAX_HOURS: z.coerce
    .number({ message: 'must be a number of hours' })
    .positive('must be more than 0')
    .max(24 * 14, 'must be at most 336 (14 days)')
    .default(24),
  CARTOGRAPHER_BASELINE_DAYS: z.coerce
    .number({ message: 'must be a whole number of days' })
    .int('must be a whole number of days')
    .min(1, 'must be at least 1')
    .max(90, 'must be at most 90')
    .default(14),
  CARTOGRAPHER_SCAN_REGIONS: optionalText,
  CARTOGRAPHER_SCAN_ACCOUNTS: optionalText,
  // The AWS sources' own lists (config/config.ts) are the default scan scopes.
  CARTOGRAPHER_REGIONS: optionalText,
  CARTOGRAPHER_ACCOUNTS: optionalText,
});

export interface SchedulerConfig {
  enabled: boolean;
  digestChannel?: string;
  /** Local time of the daily digest. */
  digestHour: number;
  digestMinute: number;
  timeZone: string;
  alertChannel?: string;
  /** `scan`: the scheduled scan of the bot's source; `sqs`: the queue of S3 notifications (bot/queue/). */
  alertSource: 'scan' | 'sqs';
  alertEveryMinutes: number;
  alertMinSeverity: Severity;
  repeatWindowMs: number;
  latenessMs: number;
  catchupMaxMs: number;
  baselineDays: number;
  /** Scan scopes: one watermark per source × account × region ('*' = all in one read). */
  regions: string[];
  accounts: string[];
}

export function loadSchedulerConfig(env: NodeJS.ProcessEnv = process.env): SchedulerConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'scheduler setting');
    const value = typeof env[name] === 'string' ? ` (got '${String(env[name]).slice(0, 40)}')` : '';
    throw new SchedulerConfigError(`${name} ${issue?.message ?? 'is invalid'}${value}`);
  }
  const e = parsed.data;
  const [hour, minute] = e.CARTOGRAPHER_DIGEST_TIME.split(':').map(Number) as [number, number];
  const split = (v: string | undefined) =>
    (v ?? '')
      .split(/[,\s]+/)
      .map((x) => x.trim())
      .filter(Boolean);
  const config: SchedulerConfig = {
    enabled: e.CARTOGRAPHER_SCHEDULE === 'on',
    digestHour: hour,
    digestMinute: minute,
    timeZone: e.CARTOGRAPHER_TIMEZONE,
    alertSource: e.CARTOGRAPHER_ALERT_SOURCE,
    alertEveryMinutes: e.CARTOGRAPHER_ALERT_EVERY_MINUTES,
    alertMinSeverity: e.CARTOGRAPHER_ALERT_MIN_SEVERITY,
    repeatWindowMs: e.CARTOGRAPHER_ALERT_REPEAT_WINDOW_HOURS * 3_600_000,
    latenessMs: e.CARTOGRAPHER_LATE_DELIVERY_MINUTES * 60_000,
    catchupMaxMs: e.CARTOGRAPHER_CATCHUP_MAX_HOURS * 3_600_000,
    baselineDays: e.CARTOGRAPHER_BASELINE_DAYS,
    regions: split(e.CARTOGRAPHER_SCAN_REGIONS ?? e.CARTOGRAPHER_REGIONS),
    // Role ARNs name their account in the fifth field.
    accounts: split(e.CARTOGRAPHER_SCAN_ACCOUNTS ?? e.CARTOGRAPHER_ACCOUNTS).map((a) =>
      a.startsWith('arn:') ? (a.split(':')[4] ?? a) : a,
    ),
  };
  if (e.CARTOGRAPHER_DIGEST_CHANNEL) config.digestChannel = e.CARTOGRAPHER_DIGEST_CHANNEL;
  if (e.CARTOGRAPHER_ALERT_CHANNEL) config.alertChannel = e.CARTOGRAPHER_ALERT_CHANNEL;
  return config;
}

/** node-cron pattern of the daily digest (`m h * * *`, evaluated in `timeZone`). */
export function digestCron(config: Pick<SchedulerConfig, 'digestHour' | 'digestMinute'>): string {
  return `${config.digestMinute} ${config.digestHour} * * *`;
}

/** node-cron pattern of the alert scan: every N minutes (N dividing the hour) or at a fixed second offset. */
export function alertCron(minutes: number): string {
  if (minutes === 1) return '* * * * *';
  if (60 % minutes === 0) return `*/${minutes} * * * *`;
  if (minutes % 60 === 0 && 24 % (minutes / 60) === 0) return `0 */${minutes / 60} * * *`;
  // Not a divisor of the hour: the scan still runs every minute-tick but skips until N minutes passed.
  return '* * * * *';
}
