/**
 * Names and summaries go to Slack. Whatever a rule's template asks for, credential material
 * (session tokens, secret keys, passwords, secret values, private keys) is never printed: the one
 * redactor (engine/redact.ts) decides.
 */
import { isSecretName, REDACTED, redact, redactText } from '../redact.ts';

export { REDACTED };

/** True for a key whose value must not be shown (`sessionToken`, `secretAccessKey`, `SecretString` …). */
export function isSensitiveKey(key: string): boolean {
  return isSecretName(key);
}

/** The value as display text, with sensitive keys of objects replaced. */
export function displayValue(path: string, v: unknown): string {
  const last =
    path
      .split(/[.[\]]+/)
      .filter(Boolean)
      .pop() ?? '';
  if (isSensitiveKey(last)) return REDACTED;
  if (typeof v === 'string') return redactText(v);
  return JSON.stringify(redact(v)) ?? '';
}
