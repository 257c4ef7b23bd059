import type { Principal } from '../model.ts';
import type { CloudTrailRecord, UserIdentity } from '../record.ts';

/**
 * Who acted with which credentials: the grouping key of a session (before idle-gap splitting).
 *
 * - No identity at all (Cartographer's minimized events): one input file is one session, `input:<file>`.
 * - AWS services (`AWSService`, or only `invokedBy`): one stream per service, `service:<host>`.
 * - Temporary credentials (`ASIA…`) with a session creation time: `<principal ARN>@<creationDate>`.
 *   The console hands one sign-in dozens of rotating ASIA keys (one per service call path), all carrying
 *   the sign-in's creationDate, so keying on the key alone would shatter one console visit into many
 *   "sessions". The same rule keeps an assumed-role session (one AssumeRole) together.
 * - A successful ConsoleLogin is keyed like the console session it creates (`<principal>@<eventTime>`,
 *   which equals that session's creationDate), so the sign-in opens its own session.
 * - Temporary credentials an IAM user's call handed to an AWS service (the service calls KMS & co. on the
 *   user's behalf: source is the service, no console flag, no MFA): one stream `<principal> via AWS services`.
 * - Long-term keys (`AKIA…`): one stream per key. Principals without a key: one stream per principal.
 */
export function sessionKeyOf(record: CloudTrailRecord, file: string): string {
  const u = record.userIdentity;
  if (!u || !hasIdentity(u)) return `input:${file}`;
  if (isServiceIdentity(u)) return `service:${u.invokedBy ?? u.principalId ?? 'unknown'}`;
  const who = principalRef(u);
  const key = u.accessKeyId || undefined;
  const created = u.sessionContext?.attributes?.creationDate;
  const temporary = key?.startsWith('ASIA') || created !== undefined;
  if (who && temporary && isOnBehalfCall(record, u)) return `${who} via AWS services`;
  const since = temporary && created ? canonicalTime(created) : undefined;
  if (who && since) return principalSince(who, since);
  if (who && isSuccessfulConsoleLogin(record))
    return `${who}@${canonicalTime(record.eventTime) ?? record.eventTime}`;
  if (key) return key;
  if (who) return who;
  return `unknown:${file}`;
}

/*
 * The identity tests below read every field they may need on every call, not only until the answer is known: in
 * code V8 has optimised, a read that no record had reached yet (a record without a type or an ARN, say) throws
 * the code away ("insufficient type feedback") and the hot callers (the sessionizer's and the session facts'
 * `add`) are compiled again, two or three times each over the 200k bench corpus.
 */
export function isServiceIdentity(u: UserIdentity): boolean {
  const { type, arn, accessKeyId, invokedBy } = u;
  // Compared only as a string: a record without a type reaching a comparison V8 specialised for strings ("not a
  // String") throws the code away too.
  if (typeof type === 'string' && type === 'AWSService') return true;
  return !type && !arn && !accessKeyId && invokedBy !== undefined;
}

/** The principal's ARN, or one built from what the record has (sign-in events often lack `arn`). */
export function principalRef(u: UserIdentity): string | undefined {
  const { arn, type, accountId, userName, principalId } = u;
  // Compared before the common return, so the comparisons have been run when V8 optimises the callers.
  const typed = typeof type === 'string';
  const iamUser = typed && type === 'IAMUser';
  const root = typed && type === 'Root';
  if (arn) return arn;
  if (iamUser && accountId && userName) return `arn:aws:iam::${accountId}:user/${userName}`;
  if (root && accountId) return `arn:aws:iam::${accountId}:root`;
  return principalId || userName || undefined;
}

export function principalOf(u: UserIdentity | undefined): Principal {
  if (!u) return {};
  if (isServiceIdentity(u))
    return { type: u.type ?? 'AWSService', userName: u.invokedBy, principalId: u.invokedBy };
  const issuer = u.sessionContext?.sessionIssuer;
  const p: Principal = {};
  if (u.type) p.type = u.type;
  const arn = principalRef(u);
  if (arn?.startsWith('arn:')) p.arn = arn;
  const userName = u.userName ?? issuer?.userName;
  if (userName) p.userName = userName;
  const account = u.accountId ?? issuer?.accountId;
  if (account) p.accountId = account;
  if (u.principalId) p.principalId = u.principalId;
  if (issuer?.arn && issuer.arn !== p.arn) p.issuerArn = issuer.arn;
  return p;
}

/**
 * `Object.keys(principalOf(u)).length` without building the object: sessions keep the most complete
 * principal seen and ask this for every event, but build one only when it beats the one they hold.
 */
export function principalScore(u: UserIdentity): number {
  if (isServiceIdentity(u)) return 3;
  const issuer = u.sessionContext?.sessionIssuer;
  const ref = principalRef(u);
  const arn = ref?.startsWith('arn:') ? ref : undefined;
  let n = 0;
  if (u.type) n++;
  if (arn) n++;
  if (u.userName ?? issuer?.userName) n++;
  if (u.accountId ?? issuer?.accountId) n++;
  if (u.principalId) n++;
  if (issuer?.arn && issuer.arn !== arn) n++;
  return n;
}

function hasIdentity(u: UserIdentity): boolean {
  const { type, arn, principalId, accessKeyId, userName, invokedBy } = u;
  return Boolean(type || arn || principalId || accessKeyId || userName || invokedBy);
}

function isOnBehalfCall(record: CloudTrailRecord, u: UserIdentity): boolean {
  return (
    u.type === 'IAMUser' &&
    record.sessionCredentialFromConsole !== 'true' &&
    u.sessionContext?.attributes?.mfaAuthenticated !== 'true' &&
    isServiceSource(record.sourceIPAddress)
  );
}

/** `AWS Internal` or a service host name (`kms.amazonaws.com`) in `sourceIPAddress`. */
export function isServiceSource(source: string | undefined): boolean {
  return source === 'AWS Internal' || source?.endsWith('.amazonaws.com') === true;
}

export function isSuccessfulConsoleLogin(record: CloudTrailRecord): boolean {
  return (
    record.eventName === 'ConsoleLogin' &&
    record.eventSource === 'signin.amazonaws.com' &&
    (record.responseElements as { ConsoleLogin?: unknown } | null | undefined)?.ConsoleLogin === 'Success'
  );
}

/** The last `<principal>@<time>` key built (records come grouped by session: most repeat the one before). */
let lastWho: string | undefined;
let lastSince: string | undefined;
let lastKey = '';

function principalSince(who: string, since: string): string {
  if (who !== lastWho || since !== lastSince) {
    lastWho = who;
    lastSince = since;
    lastKey = `${who}@${since}`;
  }
  return lastKey;
}

const canonical = new Map<string, string | undefined>();
let lastTime: string | undefined;
let lastCanonical: string | undefined;

/** `2023-07-10T12:27:45Z` whatever the input spelling, so creationDate and eventTime compare equal. */
function canonicalTime(t: string): string | undefined {
  if (t === lastTime) return lastCanonical;
  lastCanonical = canonicalLookup(t);
  lastTime = t;
  return lastCanonical;
}

function canonicalLookup(t: string): string | undefined {
  // Every event of a session repeats its creationDate: remember the last few thousand conversions.
  const known = canonical.get(t);
  if (known !== undefined || canonical.has(t)) return known;
  const ms = Date.parse(t);
  const out = Number.isFinite(ms)
    ? new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
    : undefined;
  if (canonical.size >= 4096) canonical.clear();
  canonical.set(t, out);
  return out;
}
