/**
 * AWS failures turned into messages an analyst can act on at 3 a.m.: what went wrong, where (source, account,
 * region), and the one thing to do about it (the missing IAM permission, the setting to fix, the region to enable).
 */

import { CartographerError } from '../../engine/errors.ts';
import { REDACTED, redactText } from '../../engine/redact.ts';
import { isOptInRegion } from './regions.ts';

export type SourceErrorKind =
  | 'credentials-missing'
  | 'credentials-expired'
  | 'credentials-invalid'
  | 'access-denied'
  | 'region-disabled'
  | 'table-not-found'
  | 'query-failed'
  | 'timeout'
  /** More rows than the configured cap: the caller retries with a smaller range. */
  | 'capped'
  /** The daily Athena byte budget is spent. */
  | 'budget'
  | 'invalid-request'
  | 'service-unavailable'
  | 'unknown';

export interface ErrorContext {
  source: 'lookup' | 'athena' | 'sts';
  /** The IAM action of the call that failed, e.g. `cloudtrail:LookupEvents`. */
  action: string;
  region?: string;
  account?: string;
  /** Extra context for hints, e.g. the Athena table or output location. */
  table?: string;
  outputLocation?: string;
}

export class SourceError extends CartographerError {
  readonly code = 'source';
  override readonly name = 'SourceError';
  /** What went wrong and where, one sentence (the message adds the hint on a second line). */
  readonly summary: string;
  constructor(
    summary: string,
    readonly kind: SourceErrorKind,
    /** What to do about it, one sentence. */
    readonly hint: string,
    readonly context: Partial<ErrorContext> = {},
    /** For access denied: the IAM permission that is missing. */
    readonly permission?: string,
    options?: { cause?: unknown },
  ) {
    // The hint is part of the message so that whoever prints only `message` still tells the analyst what to do.
    super(`${summary}\n  → ${hint}`, options);
    this.summary = summary;
  }
}

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

const EXPIRED = new Set(['ExpiredTokenException', 'ExpiredToken', 'RequestExpired', 'TokenRefreshRequired']);
const INVALID_TOKEN = new Set([
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'AuthFailure',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationTokenException',
]);
const DENIED = new Set(['AccessDeniedException', 'AccessDenied', 'UnauthorizedOperation', 'NotAuthorized']);
const THROTTLED = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'ProvisionedThroughputExceededException',
]);

export function isThrottling(err: unknown): boolean {
  const e = err as AwsLikeError;
  return THROTTLED.has(e?.name ?? '') || e?.$metadata?.httpStatusCode === 429;
}

/** Server-side or network trouble worth a few retries (throttling is handled separately, without a limit). */
export function isTransient(err: unknown): boolean {
  const e = err as AwsLikeError & { code?: string };
  if (e?.name === 'AbortError') return false;
  const status = e?.$metadata?.httpStatusCode ?? 0;
  if (status >= 500) return true;
  if (
    ['InternalFailure', 'InternalServerException', 'ServiceUnavailable', 'TimeoutError'].includes(
      e?.name ?? '',
    )
  ) {
    return true;
  }
  return ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(e?.code ?? '');
}

export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return (err as Error)?.name === 'AbortError' || (signal?.aborted ?? false);
}

/** Maps any error from the SDK (or our own code) to a SourceError. SourceErrors pass through unchanged. */
export function toSourceError(err: unknown, ctx: ErrorContext): SourceError {
  if (err instanceof SourceError) return err;
  const e = (err ?? {}) as AwsLikeError;
  const code = e.name ?? e.code ?? 'Error';
  const raw = redact(e.message ?? String(err));
  const where = describeWhere(ctx);

  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(raw)) {
    return new SourceError(
      `No AWS credentials found for ${where}.`,
      'credentials-missing',
      'Provide credentials through the standard AWS chain: AWS_PROFILE (then `aws sso login`), AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance/task role.',
      ctx,
      undefined,
      { cause: err },
    );
  }
  if (EXPIRED.has(code) || /security token included in the request is expired|token has expired/i.test(raw)) {
    return new SourceError(
      `The AWS credentials for ${where} have expired.`,
      'credentials-expired',
      'Refresh them (e.g. `aws sso login` or a new session token) and try again.',
      ctx,
      undefined,
      { cause: err },
    );
  }
  if (INVALID_TOKEN.has(code)) {
    if (ctx.region && isOptInRegion(ctx.region) && ctx.source === 'lookup') {
      return new SourceError(
        `Region ${ctx.region} is not enabled${ctx.account ? ` in account ${ctx.account}` : ''}.`,
        'region-disabled',
        `Enable it in the account settings, or leave it out of CARTOGRAPHER_REGIONS / --regions.`,
        ctx,
        undefined,
        { cause: err },
      );
    }
    return new SourceError(
      `AWS did not accept the credentials for ${where} (${code}).`,
      'credentials-invalid',
      'Check which credentials the AWS chain picks up (AWS_PROFILE, AWS_ACCESS_KEY_ID) and that the key is still active.',
      ctx,
      undefined,
      { cause: err },
    );
  }
  if (DENIED.has(code) || /not authorized to perform|access denied|permission denied/i.test(raw)) {
    const permission = missingPermission(raw, ctx);
    return new SourceError(
      permission === ctx.action
        ? `Access denied: not allowed to call ${where}.`
        : `Access denied for ${where}: missing permission ${permission}.`,
      'access-denied',
      `Grant ${permission} to the role Cartographer runs as (see the minimum IAM policy in the README).`,
      ctx,
      permission,
      { cause: err },
    );
  }
  if (code === 'EntityNotFoundException' || /TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|does not exist/i.test(raw)) {
    const table = ctx.table ? `Table ${ctx.table}` : 'The Athena table';
    return new SourceError(
      `${table} was not found (${firstLine(raw)}).`,
      'table-not-found',
      'Check CARTOGRAPHER_ATHENA_DATABASE and CARTOGRAPHER_ATHENA_TABLE, or create the table with the CREATE TABLE statement in the README.',
      ctx,
      undefined,
      { cause: err },
    );
  }
  if (isThrottling(err)) {
    return new SourceError(
      `AWS kept throttling ${where}.`,
      'service-unavailable',
      'Try again in a minute, or narrow the query (fewer regions, shorter time range).',
      ctx,
      undefined,
      { cause: err },
    );
  }
  if (isTransient(err)) {
    return new SourceError(
      `AWS did not answer for ${where} (${code}: ${firstLine(raw)}).`,
      'service-unavailable',
      'Check the network path to AWS (proxy, VPC endpoint, AWS_ENDPOINT_URL_* variables) and try again.',
      ctx,
      undefined,
      { cause: err },
    );
  }
  if (
    code === 'InvalidRequestException' ||
    code === 'ValidationException' ||
    code === 'InvalidParameterException'
  ) {
    return new SourceError(
      `AWS rejected the request for ${where}: ${firstLine(raw)}`,
      'invalid-request',
      hintForInvalidRequest(raw),
      ctx,
      undefined,
      { cause: err },
    );
  }
  return new SourceError(
    `${where} failed: ${code}: ${firstLine(raw)}`,
    'unknown',
    'See the message above; run again with the same query to check whether it persists.',
    ctx,
    undefined,
    { cause: err },
  );
}

/** An Athena query that ended FAILED, from its state-change reason. */
export function athenaQueryFailure(reason: string, ctx: ErrorContext, queryId: string): SourceError {
  const text = redact(reason || 'no reason given');
  if (/TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|EntityNotFound|does not exist/i.test(text)) {
    return toSourceError({ name: 'EntityNotFoundException', message: text }, ctx);
  }
  if (
    /Access denied when writing (output|to output)|Unable to verify\/create output bucket|output bucket/i.test(
      text,
    )
  ) {
    const where = ctx.outputLocation ?? 'the query output location';
    return new SourceError(
      `Athena could not write query results to ${where}.`,
      'access-denied',
      `Grant s3:PutObject, s3:GetObject and s3:GetBucketLocation on ${where}, or set CARTOGRAPHER_ATHENA_OUTPUT to a bucket you can write.`,
      ctx,
      's3:PutObject',
    );
  }
  if (/not authorized to perform|Permission denied on S3 path|Access Denied/i.test(text)) {
    const permission = /Permission denied on S3 path/i.test(text)
      ? 's3:GetObject'
      : missingPermission(text, ctx);
    return new SourceError(
      `Athena query ${queryId} was denied: ${firstLine(text)}`,
      'access-denied',
      `Grant ${permission}${permission.startsWith('s3:') ? ' (and s3:ListBucket) on the CloudTrail bucket' : ''} to the role Cartographer runs as.`,
      ctx,
      permission,
    );
  }
  return new SourceError(
    `Athena query ${queryId} failed: ${firstLine(text)}`,
    'query-failed',
    'Check the table definition against the README (column names and partitions); the query text is in the Athena console history.',
    ctx,
  );
}

function missingPermission(message: string, ctx: ErrorContext): string {
  return /perform:\s*([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1] ?? ctx.action;
}

function hintForInvalidRequest(message: string): string {
  if (/output location|OutputLocation/i.test(message)) {
    return 'Set CARTOGRAPHER_ATHENA_OUTPUT (an s3:// URI), or use a workgroup that enforces an output location.';
  }
  if (/workgroup/i.test(message))
    return 'Check CARTOGRAPHER_ATHENA_WORKGROUP: the workgroup must exist and be enabled.';
  return 'Check the query options and the Athena settings (database, table, workgroup).';
}

function describeWhere(ctx: ErrorContext): string {
  const parts = [ctx.action];
  if (ctx.account) parts.push(`account ${ctx.account}`);
  if (ctx.region) parts.push(ctx.region);
  return parts.join(' in ');
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.slice(0, 300);
}

/**
 * Long opaque tokens (session tokens, signatures) never go into messages meant for people or Slack: the
 * one redactor (engine/redact.ts), plus any 80+ character opaque run (a signature, a policy blob).
 */
export function redact(s: string): string {
  return redactText(s).replace(/[A-Za-z0-9/+=]{80,}/g, REDACTED);
}
