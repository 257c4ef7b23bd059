/**
 * The one redactor: removes credentials from anything shown to analysts: what the bot posts to Slack or
 * uploads, signal summaries, finding explanations, AWS error messages, logs. One marker, `[REDACTED]`.
 *
 * CloudTrail records carry live secrets in a few places: `responseElements.credentials` of
 * AssumeRole / GetSessionToken / GetFederationToken (sessionToken, secretAccessKey), secrets in
 * Secrets Manager calls, passwords in IAM/RDS/Directory calls, `x-amz-security-token` headers in
 * data events. Keys are matched by name anywhere in the tree; strings are also scanned for the
 * shapes of STS tokens and secret keys so a secret hiding in an unexpected field is caught too.
 * Access key ids (AKIA…/ASIA…) are identifiers analysts search by and are kept.
 */

export const REDACTED = '[REDACTED]';

/** Field names (compared without case, `-` or `_`) whose values are always secret. */
const SECRET_KEYS = new Set(
  [
    'sessionToken',
    'secretAccessKey',
    'secretKey',
    'awsSecretAccessKey',
    'password',
    'newPassword',
    'oldPassword',
    'masterUserPassword',
    'passwordHash',
    'x-amz-security-token',
    'securityToken',
    'SecretString',
    'SecretBinary',
    'privateKey',
    'privateKeyMaterial',
    'keyMaterial',
    'clientSecret',
    'authorizationToken',
    'authToken',
    'accessToken',
    'refreshToken',
    'idToken',
    'samlAssertion',
    'SAMLResponse',
    'webIdentityToken',
    'token',
    'authorization',
    'sessionKey',
  ].map(normaliseKey),
);

/** Endings of names whose values are secrets (`dbPassword`, `clientSecret`, `sessionToken`, `x-api-key`). */
const SECRET_ENDINGS = /(password|passwd|secret|token|privatekey|secretkey|apikey|sessionkey)$/;
/** Names ending like a secret that are not one: paging and idempotency tokens. */
const NOT_SECRET = /(next|pagination|continuation|client|idempotency|starting)token$/;
/** A whole value shaped like a secret access key or an STS session token. */
const SECRET_VALUE = /^(?:[A-Za-z0-9/+=]{40}|FwoG[A-Za-z0-9/+=]{60,}|IQo[A-Za-z0-9/+=]{60,})$/;

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

/** Values matching these are secrets wherever they appear. */
const SECRET_PATTERNS: RegExp[] = [
  // STS session tokens: base64 blobs starting with the well-known prefixes (v1 `FwoGZXIvYXdz`, v2 `IQoJb3JpZ2lu`).
  /\b(?:FwoGZXIvYXdz|FQoGZXIvYXdz|IQoJb3JpZ2lu|IQoJ)[A-Za-z0-9+/=]{20,}/g,
  // `aws_secret_access_key = …`, `SecretAccessKey: …`, `X-Amz-Security-Token=…` in free text and query strings.
  /((?:aws_?)?secret_?access_?key|x-amz-security-token|(?:aws_?)?session_?token|password)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/gi,
];

/** Redacts one string (free text, a URL, a message); a string that is entirely a key or token goes whole. */
export function redactText(text: string): string {
  if (SECRET_VALUE.test(text)) return REDACTED;
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    // Without capture groups the callback's 2nd argument is the offset (a number): the whole match goes.
    out = out.replace(pattern, (_match, key: unknown, sep: unknown) =>
      typeof key === 'string' && typeof sep === 'string' ? `${key}${sep}${REDACTED}` : REDACTED,
    );
  }
  return out;
}

/** Returns a deep copy of `value` with secret fields and secret-looking strings replaced. */
export function redact<T>(value: T): T {
  return redactValue(value, 0) as T;
}

function redactValue(value: unknown, depth: number): unknown {
  if (depth > 64) return REDACTED; // pathological nesting: better to hide than to recurse forever
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretKey(k, v) ? REDACTED : redactValue(v, depth + 1);
    }
    return out;
  }
  return value;
}

function isSecretKey(key: string, value: unknown): boolean {
  if (value === null || value === undefined || value === '' || typeof value === 'boolean') return false;
  // A number under a secret name (a PIN, an OTP) is a secret too; so is an object or list under one.
  return isSecretName(key);
}

/** Whether values under this field name are secrets, wherever it appears (compared without case, `-`, `_`). */
export function isSecretName(key: string): boolean {
  const k = normaliseKey(key);
  if (SECRET_KEYS.has(k)) return true;
  return SECRET_ENDINGS.test(k) && !NOT_SECRET.test(k);
}
