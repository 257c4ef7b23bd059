import { type CloudTrailRecord, CloudTrailRecordSchema } from '../record.ts';
import { parseEventTime } from './event-time.ts';
import { identityTypeMissing, normaliseRecord } from './normalise-record.ts';

/**
 * Turns one parsed JSON value into a CloudTrail record, or says why it cannot be one.
 *
 * Validation is the hot path of ingestion, so the common case (a record as CloudTrail writes it) is a
 * hand-written structural check of exactly the fields the zod schema types, and the record is kept as the
 * same object. Anything else is normalised once (normalise-record.ts: exporters' spellings, nulls, types as
 * text, other time formats) and checked again; only a record that still has no usable eventTime or
 * eventName is refused, and zod runs only then, to word the reason.
 * Both must agree (test/engine/ingest/record-check.test.ts holds them to it on real records and variants).
 */
export type CheckResult = { ok: true; record: CloudTrailRecord } | { ok: false; reason: string };

export function checkRecord(input: unknown): CheckResult {
  if (!isPlainObject(input)) {
    return { ok: false, reason: `not a CloudTrail record: expected an object, got ${describe(input)}` };
  }
  if (fastShapeOk(input) && canonicalTimeShape(input.eventTime as string) && !identityTypeMissing(input)) {
    if (Number.isFinite(parseEventTime(input.eventTime as string))) {
      return { ok: true, record: input as CloudTrailRecord };
    }
  }
  const value = normaliseRecord(input);
  if (fastShapeOk(value) && Number.isFinite(parseEventTime(value.eventTime as string))) {
    return { ok: true, record: value as CloudTrailRecord };
  }
  return { ok: false, reason: explain(value) };
}

/** Why a normalised record is still not one (no time, no name, or not CloudTrail at all). */
function explain(value: Record<string, unknown>): string {
  if (!looksLikeCloudTrail(value)) {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 6).join(', ') + (keys.length > 6 ? ', …' : '');
    return `valid JSON but not CloudTrail: an object with ${keys.length === 0 ? 'no keys' : `keys ${shown}`}`;
  }
  if (value.eventTime === undefined && value.eventTimeText !== undefined) {
    return `eventTime is not a valid time: ${JSON.stringify(value.eventTimeText)}`;
  }
  const parsed = CloudTrailRecordSchema.safeParse(value);
  if (parsed.success) return `eventTime is not a valid time: ${JSON.stringify(value.eventTime)}`;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : 'record';
  const missing = issue?.code === 'invalid_type' && readPath(value, issue.path) === undefined;
  return missing ? `missing ${path}` : `${path}: ${issue?.message ?? 'invalid'}`;
}

/** Fields only a CloudTrail record (or a damaged one) has; an object with none of them is something else. */
const CLOUDTRAIL_MARKERS = [
  'eventTime',
  'eventTimeText',
  'eventName',
  'eventSource',
  'eventID',
  'userIdentity',
  'awsRegion',
  'eventVersion',
  'sourceIPAddress',
  'requestParameters',
  'recipientAccountId',
];
function looksLikeCloudTrail(v: Record<string, unknown>): boolean {
  for (const k of CLOUDTRAIL_MARKERS) if (v[k] !== undefined) return true;
  return false;
}

/**
 * `YYYY-MM-DDTHH:MM:SSZ` or with `.sss`: the spellings the engine keeps as they are. Anything else (space
 * instead of T, no zone, an offset, another precision) is rewritten by the normaliser first.
 */
function canonicalTimeShape(t: string): boolean {
  const n = t.length;
  return (
    (n === 20 || (n === 24 && t.charCodeAt(19) === 46)) &&
    t.charCodeAt(10) === 84 &&
    t.charCodeAt(n - 1) === 90
  );
}

/**
 * The fields the zod schema types, named one by one rather than looped over from a list: a named property
 * read is an inline-cached load, a read by a key from an array is a generic lookup, and this runs once per
 * record. Must stay in step with the schema (engine/record.ts) and with normalise-record.ts's field kinds.
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
