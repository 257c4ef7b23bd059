/**
 * Client-side checks for the parts of a SourceQuery an AWS API could not apply itself
 * (LookupEvents filters on one attribute only).
 */
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { SourceQuery } from '../../engine/source.ts';

export type QueryField =
  | 'accessKeyId'
  | 'user'
  | 'eventNames'
  | 'readOnly'
  | 'sourceIp'
  | 'time'
  | 'accounts';

/** Does the record satisfy every criterion of `query` except those in `applied` (already filtered server-side)? */
export function matchesQuery(
  record: CloudTrailRecord,
  query: SourceQuery,
  applied: ReadonlySet<QueryField>,
): boolean {
  const id = record.userIdentity;
  if (query.accessKeyId && !applied.has('accessKeyId') && id?.accessKeyId !== query.accessKeyId) return false;
  if (query.user && !applied.has('user') && !matchesUser(record, query.user)) return false;
  if (
    query.eventNames?.length &&
    !applied.has('eventNames') &&
    !query.eventNames.includes(record.eventName)
  ) {
    return false;
  }
  if (query.readOnly !== undefined && !applied.has('readOnly') && readOnlyOf(record) !== query.readOnly)
    return false;
  if (query.sourceIp && !applied.has('sourceIp') && record.sourceIPAddress !== query.sourceIp) return false;
  if (!applied.has('time') && (query.since || query.until)) {
    const t = Date.parse(record.eventTime);
    if (query.since && t < query.since.getTime()) return false;
    if (query.until && t > query.until.getTime()) return false;
  }
  if (query.accounts?.length && !applied.has('accounts')) {
    const account = record.recipientAccountId ?? id?.accountId;
    if (!account || !query.accounts.includes(account)) return false;
  }
  return true;
}

/** A user given as a name (IAM user, role session, role) or as an ARN (user, role, assumed-role session). */
export function matchesUser(record: CloudTrailRecord, user: string): boolean {
  const id = record.userIdentity;
  if (!id) return false;
  const issuer = id.sessionContext?.sessionIssuer;
  if (user.startsWith('arn:')) return id.arn === user || issuer?.arn === user;
  return id.userName === user || issuer?.userName === user || sessionNameOf(id.arn) === user;
}

/** `arn:aws:sts::1:assumed-role/Role/alice` → `alice` (the name CloudTrail's Username lookup matches for roles). */
export function sessionNameOf(arn: string | undefined): string | undefined {
  if (!arn) return undefined;
  const m = /^arn:[^:]+:sts::\d*:(?:assumed-role\/[^/]+|federated-user)\/(.+)$/.exec(arn);
  return m?.[1];
}

/** The name LookupEvents' `Username` attribute matches for a user given as an ARN, if it can be pushed down. */
export function lookupUsernameFor(user: string): string | undefined {
  if (!user.startsWith('arn:')) return user;
  const iamUser = /^arn:[^:]+:iam::\d*:user\/(?:.*\/)?([^/]+)$/.exec(user)?.[1];
  return iamUser ?? sessionNameOf(user);
}

function readOnlyOf(record: CloudTrailRecord): boolean | undefined {
  const v = record.readOnly as unknown;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}
