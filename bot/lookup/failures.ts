/**
 * Turns a failed lookup into a sentence an analyst can act on, by the error's code (engine/errors.ts). AWS
 * sources throw SourceError with a `hint` (adapters/aws/errors.ts); it is read by shape so the bot does not
 * depend on one source.
 */
import { errorCode } from '../../engine/errors.ts';
import type { LookupRequest } from '../types.ts';

export interface FailureText {
  what: string;
  hint: string;
}

export function describeFailure(err: unknown, req: LookupRequest): FailureText {
  const e = err as { message?: string; hint?: string };
  const code = errorCode(err);
  const message = (e?.message ?? String(err)).split('\n')[0]?.slice(0, 400) ?? 'unknown error';
  if (code === 'timeout') {
    return {
      what: `The lookup timed out: ${message}`,
      hint:
        req.source === 'lookup'
          ? 'LookupEvents allows 2 requests per second per region: narrow the range with --since 6h, or use --source athena for long ranges.'
          : 'Narrow the range with --since, or raise CARTOGRAPHER_LOOKUP_TIMEOUT_SECONDS.',
    };
  }
  if (typeof e?.hint === 'string' && e.hint) return { what: message, hint: e.hint };
  if (code === 'config') {
    return {
      what: `Configuration problem: ${message}`,
      hint: 'Fix the setting named above in the bot environment and restart it.',
    };
  }
  if (/ERR_MODULE_NOT_FOUND|Cannot find module/.test(message) && req.source !== 'local') {
    return {
      what: `The ${req.source} source is not available in this build`,
      hint: 'Use --source local, or deploy a build that includes the AWS sources.',
    };
  }
  if (/ENOENT|no such file/i.test(message)) {
    return {
      what: message,
      hint: 'Check CARTOGRAPHER_LOCAL_PATH: it must name CloudTrail files or directories the bot can read.',
    };
  }
  return {
    what: `The lookup failed: ${message}`,
    hint: 'Try again; if it keeps failing, the bot log has the details (search for the time of this message).',
  };
}
