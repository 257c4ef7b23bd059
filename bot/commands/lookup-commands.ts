/** `session`, `user` and `ip`: three ways to ask for the same thing, a lookup of sessions. */
import { z } from 'zod';
import { UsageError } from '../../engine/errors.ts';
import type { SourceName } from '../../engine/source.ts';
import type { CommandSpec, LookupRequest } from '../types.ts';
import { SinceSchema, SourceSchema, splitOptions, validate } from './parse.ts';

const ACCESS_KEY = /^(AKIA|ASIA)[A-Z0-9]{12,124}$/;
const OPTIONS = ['since', 'source'] as const;

function lookupCommand(
  name: 'session' | 'user' | 'ip',
  usage: string,
  summary: string,
  valueSchema: z.ZodType<string>,
  missing: string,
): CommandSpec {
  const schema = z.object({
    value: valueSchema,
    since: SinceSchema,
    source: SourceSchema,
  });
  return {
    name,
    usage,
    summary,
    async handle(args, ctx) {
      const { positionals, options } = splitOptions(args, OPTIONS, usage);
      if (positionals.length === 0) throw new UsageError(missing, usage);
      if (positionals.length > 1) throw new UsageError(`unexpected '${positionals[1]}'`, usage);
      const parsed = validate(schema, { value: positionals[0], ...options }, usage);
      const request: LookupRequest = {
        kind: name,
        value: parsed.value,
        source: (parsed.source ?? ctx.services.config.defaultSource) as SourceName,
      };
      if (parsed.since) request.since = parsed.since;
      return ctx.services.lookup(request, { channel: ctx.channelId, user: ctx.userId, respond: ctx.respond });
    },
  };
}

export const sessionCommand = lookupCommand(
  'session',
  '/cartographer session <ASIA…|AKIA…|session key> [--since 24h] [--source local|lookup|athena]',
  'a session by access key or session key',
  z
    .string()
    .max(512, 'the session key is too long')
    .refine((v) => ACCESS_KEY.test(v) || (!/^(AKIA|ASIA)/.test(v) && /^[\w:/@.+=,#|-]+$/.test(v)), {
      message: 'that is neither an access key id (AKIA…/ASIA… in capitals and digits) nor a session key',
    }),
  'missing the access key id or session key',
);

export const userCommand = lookupCommand(
  'user',
  '/cartographer user <name|ARN> [--since 24h] [--source local|lookup|athena]',
  'the sessions of an IAM user or role (name or ARN)',
  z
    .string()
    .max(2048, 'the ARN is too long')
    .refine((v) => /^arn:aws[\w-]*:[a-z0-9-]+:[\w-]*:\d{0,12}:.+$/.test(v) || /^[\w+=,.@-]{1,128}$/.test(v), {
      message: 'that is neither an IAM user/role name nor an ARN (arn:aws:iam::123456789012:user/alice)',
    }),
  'missing the user name or ARN',
);

export const ipCommand = lookupCommand(
  'ip',
  '/cartographer ip <address> [--since 24h] [--source local|lookup|athena]',
  'the sessions seen from one IP address',
  z.union([z.ipv4(), z.ipv6()], { message: 'that is not an IPv4 or IPv6 address' }),
  'missing the IP address',
);
