/**
 * Names and summaries go to Slack. Whatever a rule's template asks for, credential material
 * (session tokens, secret keys, passwords, secret values, private keys) is never printed.
 */

const SENSITIVE =
  /(secret(?!Id|Arn|Name)|password|passwd|token|privatekey|private_key|credential(?!s?Provider)|sessionkey)/i;

/** True for a key whose value must not be shown (`sessionToken`, `secretAccessKey`, `SecretString` …). */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE.test(key);
}

export const REDACTED = '[redacted]';

/** The value as display text, with sensitive keys of objects replaced. */
export function displayValue(path: string, v: unknown): string {
  const last =
    path
      .split(/[.[\]]+/)
      .filter(Boolean)
      .pop() ?? '';
  if (isSensitiveKey(last)) return REDACTED;
  if (typeof v === 'string') return v;
  return JSON.stringify(v, (k, x) => (k && isSensitiveKey(k) ? REDACTED : x)) ?? '';
}
