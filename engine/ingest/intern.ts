/**
 * One string object per distinct value of the fields that repeat across records (event source and name,
 * region, user agent, address, the caller's type, ARN and account …).
 *
 * JSON.parse makes a fresh string for every value, so 200,000 records carry 200,000 copies of
 * `"iam.amazonaws.com"`: each is hashed again at its first Map lookup downstream (rule index, IAM access
 * levels, signal tables, session keys), compared character by character with the key it finds, and kept
 * alive with its record while the session is open (copied by young-generation collections, then promoted).
 * Replacing a record's value by the first string seen with the same text changes nothing a program can
 * observe (strings are compared by value) and makes those lookups a pointer comparison.
 *
 * Bounded, so hostile input with ever-new values cannot grow it: at most 2 × MAX_ENTRIES strings of at
 * most MAX_LENGTH characters, and 2 × MAX_CHARS characters in all; longer values are left as they are.
 */
const MAX_ENTRIES = 32_768;
const MAX_CHARS = 2 * 2 ** 20;
const MAX_LENGTH = 512;

/**
 * Two generations: new strings go into `young`; when it is full it becomes `old` (the previous old one is
 * dropped) and a string found only in `old` moves back to `young`. Values still in use (an open session's
 * caller, a busy user agent) stay; those of sessions long gone are dropped. At most 2 × MAX_ENTRIES strings.
 */
let young = new Map<string, string>();
let old = new Map<string, string>();
let youngChars = 0;

export function intern(s: string): string {
  const known = young.get(s);
  if (known !== undefined) return known;
  if (s.length > MAX_LENGTH) return s;
  const kept = old.get(s) ?? s;
  if (young.size >= MAX_ENTRIES || youngChars + s.length > MAX_CHARS) {
    old = young;
    young = new Map();
    youngChars = 0;
  }
  young.set(kept, kept);
  youngChars += kept.length;
  return kept;
}

/** How many strings the table holds and their characters (for tests of the bounds). */
export function internTableSize(): { entries: number; chars: number } {
  let chars = 0;
  for (const s of old.keys()) chars += s.length;
  return { entries: young.size + old.size, chars: chars + youngChars };
}

type Obj = Record<string, unknown>;

/**
 * Interns, in place, the repeated string fields of a record that passed the shape check (so every field
 * named here is a string or absent, and userIdentity and its parts are plain objects or absent).
 */
export function internRecordStrings(r: Obj): void {
  r.eventSource = at(SOURCE, r.eventSource as string);
  r.eventName = at(NAME, r.eventName as string);
  if (r.eventVersion !== undefined) r.eventVersion = at(VERSION, r.eventVersion as string);
  if (r.eventType !== undefined) r.eventType = at(TYPE, r.eventType as string);
  if (r.eventCategory !== undefined) r.eventCategory = at(CATEGORY, r.eventCategory as string);
  if (r.awsRegion !== undefined) r.awsRegion = at(REGION, r.awsRegion as string);
  if (r.sourceIPAddress !== undefined) r.sourceIPAddress = at(ADDRESS, r.sourceIPAddress as string);
  if (r.userAgent !== undefined) r.userAgent = at(AGENT, r.userAgent as string);
  if (r.recipientAccountId !== undefined)
    r.recipientAccountId = at(RECIPIENT, r.recipientAccountId as string);
  if (r.errorCode !== undefined) r.errorCode = at(ERROR, r.errorCode as string);
  if (r.sessionCredentialFromConsole !== undefined)
    r.sessionCredentialFromConsole = at(CONSOLE, r.sessionCredentialFromConsole as string);
  const tls = r.tlsDetails;
  if (isPlainObject(tls)) internTls(tls);
  const u = r.userIdentity as Obj | undefined;
  if (u !== undefined) internIdentity(u);
}

/**
 * The last value interned for each field: consecutive records of a file mostly repeat their neighbour's
 * caller, agent and region, and comparing with one string is cheaper than hashing for the table.
 */
const last: string[] = new Array(32).fill('');
const SOURCE = 0;
const NAME = 1;
const VERSION = 2;
const TYPE = 3;
const CATEGORY = 4;
const REGION = 5;
const ADDRESS = 6;
const AGENT = 7;
const RECIPIENT = 8;
const ERROR = 9;
const CONSOLE = 10;
const ID_TYPE = 11;
const ID_PRINCIPAL = 12;
const ID_ARN = 13;
const ID_ACCOUNT = 14;
const ID_KEY = 15;
const ID_USER = 16;
const ID_INVOKED = 17;
const CREATED = 18;
const MFA = 19;
const ISSUER_TYPE = 20;
const ISSUER_PRINCIPAL = 21;
const ISSUER_ARN = 22;
const ISSUER_ACCOUNT = 23;
const ISSUER_USER = 24;
const TLS_VERSION = 25;
const TLS_CIPHER = 26;
const TLS_HOST = 27;

function at(field: number, s: string): string {
  const prev = last[field]!;
  if (s === prev) return prev;
  const v = intern(s);
  last[field] = v;
  return v;
}

/** userIdentity (shape-checked: its typed fields are strings or absent, sessionContext a plain object or absent). */
function internIdentity(u: Obj): void {
  if (u.type !== undefined) u.type = at(ID_TYPE, u.type as string);
  if (u.principalId !== undefined) u.principalId = at(ID_PRINCIPAL, u.principalId as string);
  if (u.arn !== undefined) u.arn = at(ID_ARN, u.arn as string);
  if (u.accountId !== undefined) u.accountId = at(ID_ACCOUNT, u.accountId as string);
  if (u.accessKeyId !== undefined) u.accessKeyId = at(ID_KEY, u.accessKeyId as string);
  if (u.userName !== undefined) u.userName = at(ID_USER, u.userName as string);
  if (u.invokedBy !== undefined) u.invokedBy = at(ID_INVOKED, u.invokedBy as string);
  const ctx = u.sessionContext as Obj | undefined;
  if (ctx === undefined) return;
  const attrs = ctx.attributes as Obj | undefined;
  if (attrs !== undefined) {
    if (attrs.creationDate !== undefined) attrs.creationDate = at(CREATED, attrs.creationDate as string);
    if (attrs.mfaAuthenticated !== undefined)
      attrs.mfaAuthenticated = at(MFA, attrs.mfaAuthenticated as string);
  }
  const issuer = ctx.sessionIssuer as Obj | undefined;
  if (issuer !== undefined) {
    if (issuer.type !== undefined) issuer.type = at(ISSUER_TYPE, issuer.type as string);
    if (issuer.principalId !== undefined)
      issuer.principalId = at(ISSUER_PRINCIPAL, issuer.principalId as string);
    if (issuer.arn !== undefined) issuer.arn = at(ISSUER_ARN, issuer.arn as string);
    if (issuer.accountId !== undefined) issuer.accountId = at(ISSUER_ACCOUNT, issuer.accountId as string);
    if (issuer.userName !== undefined) issuer.userName = at(ISSUER_USER, issuer.userName as string);
  }
}

/** tlsDetails is not typed by the record check: only its string fields are touched. */
function internTls(t: Obj): void {
  if (typeof t.tlsVersion === 'string') t.tlsVersion = at(TLS_VERSION, t.tlsVersion);
  if (typeof t.cipherSuite === 'string') t.cipherSuite = at(TLS_CIPHER, t.cipherSuite);
  if (typeof t.clientProvidedHostHeader === 'string')
    t.clientProvidedHostHeader = at(TLS_HOST, t.clientProvidedHostHeader);
}

function isPlainObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
