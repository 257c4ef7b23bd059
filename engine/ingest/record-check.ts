import { type CloudTrailRecord, CloudTrailRecordSchema } from '../record.ts';
import { parseEventTime } from './event-time.ts';

/**
 * Turns one parsed JSON value into a CloudTrail record, or says why it cannot be one.
 *
 * Validation is the hot path of ingestion, so the common case is a hand-written structural check of
 * exactly the fields the zod schema types; zod runs only when that check fails, to word the reason.
 * Both must agree (test/ingest-record-check.test.ts holds them to it on real records).
 */
export type CheckResult = { ok: true; record: CloudTrailRecord } | { ok: false; reason: string };

export function checkRecord(input: unknown): CheckResult {
  if (!isPlainObject(input)) {
    return { ok: false, reason: `not a CloudTrail record: expected an object, got ${describe(input)}` };
  }
  let value = input;
  // Records needing no normalisation (every CloudTrail one) pass the fast check as they are.
  let fastOk = fastShapeOk(value);
  if (!fastOk) {
    value = normalise(value);
    fastOk = fastShapeOk(value);
  }
  if (fastOk) {
    if (!Number.isFinite(parseEventTime(value.eventTime as string))) {
      return { ok: false, reason: `eventTime is not a valid time: ${JSON.stringify(value.eventTime)}` };
    }
    return { ok: true, record: value as CloudTrailRecord };
  }
  const parsed = CloudTrailRecordSchema.safeParse(value);
  if (parsed.success) {
    // The fast check is stricter than zod somewhere; trust zod (and keep the record verbatim).
    return { ok: true, record: value as CloudTrailRecord };
  }
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : 'record';
  const missing = issue?.code === 'invalid_type' && readPath(value, issue.path) === undefined;
  return { ok: false, reason: missing ? `missing ${path}` : `${path}: ${issue?.message ?? 'invalid'}` };
}

const OPTIONAL_STRINGS = new Set([
  'eventVersion',
  'eventID',
  'eventType',
  'eventCategory',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'recipientAccountId',
  'sessionCredentialFromConsole',
  'vpcEndpointId',
]);

/**
 * Other tools' spellings of the fields the engine needs: OTRF/Elastic exports use `@timestamp`, and
 * minimized or exported events write `"errorCode": null` where CloudTrail leaves the field out. A null
 * typed string means "absent", so it is left out rather than rejecting the record.
 *
 * The record is copied without those fields instead of `delete`-ing them: deleting a property puts the
 * object into V8's slow dictionary mode, and every later stage reads this record's fields many times.
 */
function normalise(r: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const k in r) {
    if (r[k] !== null || !OPTIONAL_STRINGS.has(k)) continue;
    out = {};
    for (const key in r) if (r[key] !== null || !OPTIONAL_STRINGS.has(key)) out[key] = r[key];
    break;
  }
  const record = out ?? r;
  if (record.eventTime === undefined && typeof record['@timestamp'] === 'string')
    record.eventTime = record['@timestamp'];
  return record;
}

/**
 * The fields the zod schema types, named one by one rather than looped over from a list: a named property
 * read is an inline-cached load, a read by a key from an array is a generic lookup, and this runs once per
 * record. The optional strings must stay in step with OPTIONAL_STRINGS (normalise) and the schema.
 */
function fastShapeOk(r: Record<string, unknown>): boolean {
  if (!nonEmptyString(r.eventTime) || !nonEmptyString(r.eventSource) || !nonEmptyString(r.eventName))
    return false;
  if (
    !optionalString(r.eventVersion) ||
    !optionalString(r.eventID) ||
    !optionalString(r.eventType) ||
    !optionalString(r.eventCategory) ||
    !optionalString(r.awsRegion) ||
    !optionalString(r.sourceIPAddress) ||
    !optionalString(r.userAgent) ||
    !optionalString(r.errorCode) ||
    !optionalString(r.errorMessage) ||
    !optionalString(r.recipientAccountId) ||
    !optionalString(r.sessionCredentialFromConsole) ||
    !optionalString(r.vpcEndpointId)
  )
    return false;
  if (!optionalObject(r.requestParameters) || !optionalObject(r.responseElements)) return false;
  if (!optionalObject(r.additionalEventData)) return false;
  if (r.readOnly !== undefined && typeof r.readOnly !== 'boolean') return false;
  if (r.managementEvent !== undefined && typeof r.managementEvent !== 'boolean') return false;
  if (r.resources !== undefined) {
    if (!Array.isArray(r.resources)) return false;
    for (const x of r.resources) if (!isPlainObject(x)) return false;
  }
  const u = r.userIdentity;
  if (u === undefined) return true;
  if (!isPlainObject(u)) return false;
  if (
    !optionalString(u.type) ||
    !optionalString(u.principalId) ||
    !optionalString(u.arn) ||
    !optionalString(u.accountId) ||
    !optionalString(u.accessKeyId) ||
    !optionalString(u.userName) ||
    !optionalString(u.invokedBy) ||
    !optionalString(u.identityProvider)
  )
    return false;
  const ctx = u.sessionContext;
  if (ctx === undefined) return true;
  if (!isPlainObject(ctx)) return false;
  if (!optionalString(ctx.sourceIdentity) || !optionalString(ctx.ec2RoleDelivery)) return false;
  const attrs = ctx.attributes;
  if (attrs !== undefined) {
    if (!isPlainObject(attrs)) return false;
    if (!optionalString(attrs.mfaAuthenticated) || !optionalString(attrs.creationDate)) return false;
  }
  const issuer = ctx.sessionIssuer;
  if (issuer !== undefined) {
    if (!isPlainObject(issuer)) return false;
    if (
      !optionalString(issuer.type) ||
      !optionalString(issuer.principalId) ||
      !optionalString(issuer.arn) ||
      !optionalString(issuer.accountId) ||
      !optionalString(issuer.userName)
    )
      return false;
  }
  return true;
}

function optionalObject(v: unknown): boolean {
  return v === undefined || v === null || isPlainObject(v);
}
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function nonEmptyString(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0;
}
function optionalString(v: unknown): boolean {
  return v === undefined || typeof v === 'string';
}
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? `a string` : typeof v;
}
function readPath(v: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = v;
  for (const p of path) {
    if (!isPlainObject(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}
