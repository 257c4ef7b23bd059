import type { CloudTrailRecord } from '../record.ts';
import type { SourceQuery } from '../source.ts';

/**
 * The SourceQuery filters for sources that cannot push them down (local files): who, which key,
 * which IP, which events, when, where. Every condition given must hold.
 */
export function compileQuery(query: SourceQuery): ((r: CloudTrailRecord) => boolean) | undefined {
  const tests: ((r: CloudTrailRecord) => boolean)[] = [];
  if (query.accessKeyId) {
    const key = query.accessKeyId;
    tests.push((r) => r.userIdentity?.accessKeyId === key);
  }
  if (query.user) {
    const user = query.user;
    tests.push((r) => matchesUser(r, user));
  }
  if (query.sourceIp) {
    const ip = query.sourceIp;
    tests.push((r) => r.sourceIPAddress === ip);
  }
  if (query.eventNames && query.eventNames.length > 0) {
    const names = new Set(query.eventNames);
    tests.push((r) => names.has(r.eventName));
  }
  if (query.readOnly !== undefined) {
    const ro = query.readOnly;
    tests.push((r) => r.readOnly === ro);
  }
  if (query.since) {
    const since = query.since.getTime();
    tests.push((r) => Date.parse(r.eventTime) >= since);
  }
  if (query.until) {
    const until = query.until.getTime();
    tests.push((r) => Date.parse(r.eventTime) <= until);
  }
  if (query.regions && query.regions.length > 0) {
    const regions = new Set(query.regions);
    tests.push((r) => r.awsRegion !== undefined && regions.has(r.awsRegion));
  }
  if (query.accounts && query.accounts.length > 0) {
    const accounts = new Set(query.accounts);
    tests.push(
      (r) =>
        (r.recipientAccountId !== undefined && accounts.has(r.recipientAccountId)) ||
        (r.userIdentity?.accountId !== undefined && accounts.has(r.userIdentity.accountId)),
    );
  }
  if (tests.length === 0) return undefined;
  return (r) => tests.every((t) => t(r));
}

/** A user name or ARN: the IAM user, the assumed role (by role name or ARN) or the role session ARN. */
function matchesUser(r: CloudTrailRecord, user: string): boolean {
  const u = r.userIdentity;
  if (!u) return false;
  const issuer = u.sessionContext?.sessionIssuer;
  return (
    u.userName === user ||
    u.arn === user ||
    issuer?.userName === user ||
    issuer?.arn === user ||
    (u.arn !== undefined && !user.startsWith('arn:') && u.arn.endsWith(`/${user}`))
  );
}
