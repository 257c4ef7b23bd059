/**
 * Every spelling of a CloudTrail record that real exporters write → the one shape the engine reads.
 *
 * Runs once per record at the edge (record-check.ts calls it only when the fast shape check fails, and the
 * Athena adapter can call it for its rows), so nothing after ingestion ever sees a variant:
 *   - lower-case keys as Athena writes them (`eventtime`, `useridentity.sessioncontext.sessionissuer.arn`);
 *   - `null` in any optional field (Athena, SIEM forwarders, Panther) → the field is absent, except
 *     `requestParameters` / `responseElements`, which CloudTrail itself writes as `null`;
 *   - booleans as strings (`"readOnly": "true"`) and strings as booleans (`sessionCredentialFromConsole: true`,
 *     `mfaAuthenticated: false`), numbers for string fields (`accountId: 123456789012`, `eventVersion: 1.08`);
 *   - JSON objects written as JSON text (`requestparameters`, `useridentity`, `resources`);
 *   - other times: `2023-07-10 11:45:00`, offsets, fractions, epoch numbers, `@timestamp`, Panther's
 *     `p_event_time` → `2023-07-10T11:45:00Z` (fractions kept as milliseconds).
 * A value that cannot be typed is kept as text under `<field>Text` instead of being lost. Never throws.
 * Records are built as new objects (never `delete`), so V8 keeps them in its fast object layout.
 */

import { inferEventSource } from './infer-event-source.ts';

/** CloudTrail's field names (top level and inside userIdentity, tlsDetails, addendum), by lower-case spelling. */
export const CLOUDTRAIL_FIELD_NAMES: ReadonlyMap<string, string> = new Map(
  [
    'eventVersion',
    'userIdentity',
    'eventTime',
    'eventSource',
    'eventName',
    'awsRegion',
    'sourceIPAddress',
    'userAgent',
    'errorCode',
    'errorMessage',
    'requestParameters',
    'responseElements',
    'additionalEventData',
    'requestID',
    'eventID',
    'readOnly',
    'resources',
    'eventType',
    'apiVersion',
    'managementEvent',
    'recipientAccountId',
    'serviceEventDetails',
    'sharedEventID',
    'vpcEndpointId',
    'vpcEndpointAccountId',
    'eventCategory',
    'addendum',
    'sessionCredentialFromConsole',
    'edgeDeviceDetails',
    'tlsDetails',
    'insightDetails',
    'type',
    'principalId',
    'arn',
    'accountId',
    'accessKeyId',
    'userName',
    'invokedBy',
    'identityProvider',
    'credentialId',
    'onBehalfOf',
    'userId',
    'identityStoreArn',
    'inScopeOf',
    'issuerType',
    'credentialsIssuedTo',
    'sessionContext',
    'attributes',
    'mfaAuthenticated',
    'creationDate',
    'sessionIssuer',
    'webIdFederationData',
    'federatedProvider',
    'sourceIdentity',
    'ec2RoleDelivery',
    'assumedRoot',
    'tlsVersion',
    'cipherSuite',
    'clientProvidedHostHeader',
    'reason',
    'updatedFields',
    'originalRequestID',
    'originalEventID',
  ].map((name) => [name.toLowerCase(), name]),
);

/** How each typed field is read; fields not listed are kept verbatim (only renamed, nulls dropped). */
type Kind = 'string' | 'boolean' | 'object' | 'time' | 'identity' | 'resources';
const TOP_LEVEL: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['eventTime', 'time'],
  ['eventVersion', 'string'],
  ['eventID', 'string'],
  ['eventSource', 'string'],
  ['eventName', 'string'],
  ['eventType', 'string'],
  ['eventCategory', 'string'],
  ['awsRegion', 'string'],
  ['sourceIPAddress', 'string'],
  ['userAgent', 'string'],
  ['errorCode', 'string'],
  ['errorMessage', 'string'],
  ['recipientAccountId', 'string'],
  ['sessionCredentialFromConsole', 'string'],
  ['vpcEndpointId', 'string'],
  ['requestParameters', 'object'],
  ['responseElements', 'object'],
  ['additionalEventData', 'object'],
  ['serviceEventDetails', 'object'],
  ['readOnly', 'boolean'],
  ['managementEvent', 'boolean'],
  ['userIdentity', 'identity'],
  ['resources', 'resources'],
]);
/** CloudTrail writes these two as `null` itself (a call without parameters or response). */
const NULL_KEPT = new Set(['requestParameters', 'responseElements']);
const IDENTITY_STRINGS = [
  'type',
  'principalId',
  'arn',
  'accountId',
  'accessKeyId',
  'userName',
  'invokedBy',
  'identityProvider',
];
const ISSUER_STRINGS = ['type', 'principalId', 'arn', 'accountId', 'userName'];
const NAME_KEYS = new Set(['eventName', 'eventSource', 'awsRegion', 'eventID']);
const ACCOUNT_ID_KEYS = new Set(['accountId', 'recipientAccountId', 'vpcEndpointAccountId']);

type Obj = Record<string, unknown>;

/** The canonical record for any variant (a new object; the input is not changed). */
export function normaliseRecord(input: Obj): Obj {
  const out: Obj = {};
  for (const rawKey in input) {
    const key = canonicalKey(rawKey);
    // A canonical spelling wins over a lower-case duplicate of the same field.
    if (key !== rawKey && input[key] !== undefined) continue;
    putTopLevel(out, key, input[rawKey]);
  }
  fillFallbacks(out, input);
  return out;
}

function putTopLevel(out: Obj, key: string, value: unknown): void {
  if (value === null) {
    if (NULL_KEPT.has(key)) out[key] = null;
    return;
  }
  if (value === undefined) return;
  switch (TOP_LEVEL.get(key)) {
    case 'time':
      putConverted(out, key, value, canonicalTime(value));
      return;
    case 'string':
      putConverted(out, key, value, toText(key, value));
      return;
    case 'boolean':
      putConverted(out, key, value, toBoolean(value));
      return;
    case 'object':
      putConverted(out, key, value, toObject(value));
      return;
    case 'identity':
      putConverted(out, key, value, toIdentity(value));
      return;
    case 'resources':
      putConverted(out, key, value, toResources(value));
      return;
    default:
      // CloudTrail's own structures (tlsDetails, addendum …) get its spelling; anything else stays verbatim.
      out[key] = CLOUDTRAIL_FIELD_NAMES.has(key.toLowerCase()) ? renamed(value) : value;
  }
}

/** The converted value, or (when it cannot be typed) the original as text beside it under `<key>Text`. */
function putConverted(out: Obj, key: string, original: unknown, converted: unknown): void {
  if (converted !== undefined) out[key] = converted;
  else if (original !== '') out[`${key}Text`] = typeof original === 'string' ? original : safeJson(original);
}

/**
 * `@timestamp` (OTRF, Elastic) and Panther's `p_event_time` stand in for a missing eventTime; a record with a
 * name but no source gets the one service that name belongs to, marked `eventSourceInferred: true`
 * (infer-event-source.ts), or `unknown` (only a record without a time or a name is refused); an identity without
 * a type gets the one its ARN spells (fillIdentityType).
 */
function fillFallbacks(out: Obj, input: Obj): void {
  if (out.eventTime === undefined) {
    const alt = input['@timestamp'] ?? input.p_event_time;
    const time = alt === undefined || alt === null ? undefined : canonicalTime(alt);
    if (time !== undefined) {
      out.eventTime = time;
      if (out.eventTimeText !== undefined) out.eventTimeText = undefined;
    }
  }
  fillIdentityType(out);
  if ((out.eventSource === undefined || out.eventSource === '') && typeof out.eventName === 'string') {
    const inferred = inferEventSource(out.eventName);
    out.eventSource = inferred ?? 'unknown';
    if (inferred !== undefined) out.eventSourceInferred = true;
  }
}

/**
 * The identity's kind read from what the record says of it, when `userIdentity.type` is missing (hand-written events,
 * SIEM exports that keep only some identity fields): the ARN's own form (`:root`, `:user/`, `:assumed-role/`,
 * `:federated-user/`). Marked `userIdentityTypeInferred: true`. (Real trails write identities without a type only
 * for some service calls, `{accountId, invokedBy}` with no ARN; those stay as written.)
 */
const ARN_KIND: [RegExp, string][] = [
  [/^arn:aws[a-z-]*:iam::[^:]*:root$/, 'Root'],
  [/^arn:aws[a-z-]*:iam::[^:]*:user\//, 'IAMUser'],
  [/^arn:aws[a-z-]*:sts::[^:]*:assumed-role\//, 'AssumedRole'],
  [/^arn:aws[a-z-]*:sts::[^:]*:federated-user\//, 'FederatedUser'],
];
export function identityTypeMissing(record: Obj): boolean {
  const u = record.userIdentity;
  return isObject(u) && (u.type === undefined || u.type === '') && typeof u.arn === 'string';
}
function fillIdentityType(out: Obj): void {
  const u = out.userIdentity;
  if (!isObject(u) || !identityTypeMissing(out)) return;
  const type = ARN_KIND.find(([re]) => re.test(u.arn as string))?.[1];
  if (type === undefined) return;
  out.userIdentity = { ...u, type };
  out.userIdentityTypeInferred = true;
}

/** CloudTrail's spelling of a lower-case field name; any other key unchanged. */
export function canonicalKey(key: string): string {
  const c = key.charCodeAt(0);
  if (!(c >= 97 && c <= 122)) return key;
  return CLOUDTRAIL_FIELD_NAMES.get(key) ?? key;
}

/** Renames lower-case field names inside CloudTrail's structures and drops their nulls. */
function renamed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renamed);
  return isObject(value) ? renamedObject(value) : value;
}
function renamedObject(value: Obj): Obj {
  const out: Obj = {};
  for (const k in value) {
    const v = value[k];
    if (v === null || v === undefined) continue;
    out[canonicalKey(k)] = renamed(v);
  }
  return out;
}

/** Text for a string field: numbers, booleans and (rarely) objects are written out. */
function toText(key: string, value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return String(value);
    if (ACCOUNT_ID_KEYS.has(key) && Number.isInteger(value) && value >= 0 && value < 1e12)
      return String(value).padStart(12, '0');
    if (key === 'eventVersion' && Math.round(value * 100) === value * 100) return value.toFixed(2);
    return String(value);
  }
  // A name, source or region is never an object; a free-text field holding one keeps its JSON text.
  return value === null || value === undefined || NAME_KEYS.has(key) ? undefined : safeJson(value);
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    return t === 'true' || t === '1' ? true : t === 'false' || t === '0' ? false : undefined;
  }
  if (value === 1 || value === 0) return value === 1;
  return undefined;
}

/** A JSON object, or the JSON text of one (`""` and `"null"` mean none). */
function toObject(value: unknown): Obj | null | undefined {
  const parsed = typeof value === 'string' ? parseJsonText(value) : value;
  return isObject(parsed) || parsed === null ? parsed : undefined;
}

function parseJsonText(text: string): unknown {
  const t = text.trim();
  if (t === '' || t === 'null') return null;
  const c = t.charCodeAt(0);
  if (c !== 123 && c !== 91) return undefined; // neither { nor [
  try {
    return JSON.parse(t);
  } catch {
    return undefined;
  }
}

function toIdentity(value: unknown): Obj | undefined {
  const v = typeof value === 'string' ? parseJsonText(value) : value;
  if (!isObject(v)) return undefined;
  const out = renamedObject(v);
  typeStrings(out, IDENTITY_STRINGS);
  const ctx = out.sessionContext;
  if (ctx === undefined) return out;
  if (!isObject(ctx)) return moveToText(out, 'sessionContext');
  typeStrings(ctx, ['sourceIdentity', 'ec2RoleDelivery']);
  const attrs = ctx.attributes;
  if (attrs !== undefined && !isObject(attrs)) out.sessionContext = moveToText(ctx, 'attributes');
  else if (attrs) typeStrings(attrs, ['mfaAuthenticated', 'creationDate']);
  const issuer = (out.sessionContext as Obj).sessionIssuer;
  if (issuer !== undefined && !isObject(issuer))
    out.sessionContext = moveToText(out.sessionContext as Obj, 'sessionIssuer');
  else if (issuer) typeStrings(issuer, ISSUER_STRINGS);
  return out;
}

/** Objects freshly built by renamedObject only: their typed string fields converted in place. */
function typeStrings(o: Obj, keys: readonly string[]): void {
  for (const k of keys) {
    const v = o[k];
    if (v !== undefined && typeof v !== 'string') o[k] = toText(k, v);
  }
}

/** A copy of `o` with the value at `key` kept as text under `<key>Text` (a copy, not a `delete`). */
function moveToText(o: Obj, key: string): Obj {
  const out: Obj = {};
  for (const k in o) {
    if (k === key) out[`${k}Text`] = typeof o[k] === 'string' ? o[k] : safeJson(o[k]);
    else out[k] = o[k];
  }
  return out;
}

function toResources(value: unknown): Obj[] | undefined {
  const v = typeof value === 'string' ? parseJsonText(value) : value;
  if (v === null) return [];
  const list = Array.isArray(v) ? v : isObject(v) ? [v] : undefined;
  if (!list) return undefined;
  const out: Obj[] = [];
  for (const item of list) {
    if (isObject(item)) out.push(resource(item));
    else if (typeof item === 'string' && item !== '') out.push({ ARN: item });
  }
  return out;
}

/** `resources[].ARN` is upper-case in CloudTrail; Athena writes `arn`, `accountid`. */
function resource(item: Obj): Obj {
  const out: Obj = {};
  for (const k in item) {
    const v = item[k];
    if (v === null || v === undefined) continue;
    const key = k === 'arn' ? 'ARN' : canonicalKey(k);
    out[key] = key === 'accountId' || key === 'ARN' || key === 'type' ? (toText(key, v) ?? v) : v;
  }
  return out;
}

const CANONICAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3})?Z$/;
const LOOSE_TIME =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$/i;
const HAS_ZONE = /(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$/i;

/**
 * `YYYY-MM-DDTHH:MM:SSZ` (with `.sss` when the time has milliseconds) for any spelling of a time; a time
 * without a zone is UTC (as every exporter of CloudTrail means it), never the machine's local time.
 */
export function canonicalTime(value: unknown): string | undefined {
  let ms = Number.NaN;
  if (typeof value === 'number') ms = value < 1e11 ? value * 1000 : value;
  else if (typeof value === 'string') {
    const t = value.trim();
    if (CANONICAL_TIME.test(t)) return Number.isFinite(Date.parse(t)) ? t : undefined;
    if (/^\d{9,13}(?:\.\d+)?$/.test(t)) {
      const n = Number(t);
      ms = n < 1e11 ? n * 1000 : n;
    } else ms = parseLooseTime(t);
  }
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return undefined;
  const iso = new Date(Math.round(ms)).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}

function parseLooseTime(t: string): number {
  const m = LOOSE_TIME.exec(t);
  if (!m) return t.length > 0 && t.length < 64 ? Date.parse(HAS_ZONE.test(t) ? t : `${t} UTC`) : Number.NaN;
  const zone = !m[4] || /^(z|utc|gmt)$/i.test(m[4]) ? 'Z' : m[4].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2');
  const time = m[2]!.length === 5 ? `${m[2]}:00` : m[2];
  const fraction = m[3] ? m[3].slice(0, 4).padEnd(4, '0') : '';
  return Date.parse(`${m[1]}T${time}${fraction}${zone}`);
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
