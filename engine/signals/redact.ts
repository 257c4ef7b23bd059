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

/**
 * The display text of a value found at `path`, with sensitive keys of objects replaced; the path's last key is
 * looked at once (templates compile theirs once per rule).
 */
export function displayer(path: string): (v: unknown) => string {
  const last =
    path
      .split(/[.[\]]+/)
      .filter(Boolean)
      .pop() ?? '';
  if (isSensitiveKey(last)) return () => REDACTED;
  return (v) => (typeof v === 'string' ? redactText(v) : (JSON.stringify(redact(v)) ?? ''));
}
