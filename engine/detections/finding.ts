/** Building a Finding from a rule and its evidence: stable id, analyst-facing explanation, no secrets. */
import { createHash } from 'node:crypto';
import { asText, eventFieldGetter } from '../field-path.ts';
import type { EngineEvent, Finding, Severity } from '../model.ts';
import { isSecretName, REDACTED, redact as redactAll, redactText } from '../redact.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { principalOf } from './compiled-rule.ts';

/** Findings keep at most this many event ids; the count in the explanation stays exact. */
export const MAX_EVIDENCE_IDS = 100;

/** Stable across restarts and re-runs: the scheduler dedupes on it. */
export function findingId(ruleId: string, sessionKey: string, firstEventId: string): string {
  return createHash('sha256')
    .update(`${ruleId}\u0000${sessionKey}\u0000${firstEventId}`)
    .digest('hex')
    .slice(0, 20);
}

/** Values shown to analysts (and Slack) never carry secret keys, session tokens or passwords (engine/redact.ts). */
export function redact(path: string, value: unknown): string {
  if (isSecretName(path.split('.').pop() ?? '')) return REDACTED;
  const text =
    value === null || typeof value !== 'object'
      ? redactText(asText(value))
      : JSON.stringify(redactAll(value));
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/**
 * The call did not happen: it carries an errorCode or errorMessage, or (sign-in service events: ConsoleLogin,
 * PasswordUpdated, SwitchRole …) its outcome is recorded as `responseElements.<eventName>: "Failure"`.
 */
export function failedCall(record: EngineEvent['record']): boolean {
  if (record.errorCode !== undefined && record.errorCode !== '') return true;
  if (typeof record.errorMessage === 'string' && record.errorMessage !== '') return true;
  const outcome = record.responseElements?.[record.eventName];
  return outcome === 'Failure';
}

function failureText(record: EngineEvent['record']): string {
  if (record.errorCode) return record.errorCode;
  return typeof record.errorMessage === 'string' && record.errorMessage
    ? record.errorMessage
    : `${record.eventName}: Failure`;
}

export function buildFinding(
  rule: CompiledRule,
  sessionKey: string,
  evidence: readonly EngineEvent[],
  lead?: string,
): Finding {
  const first = evidence[0]!;
  const failed = evidence.every((e) => failedCall(e.record));
  const severity: Severity = failed ? rule.severityOnError : rule.severity;
  const principal = principalOf(first);
  return {
    id: findingId(rule.id, sessionKey, first.id),
    ruleId: rule.id,
    title: rule.title,
    severity,
    techniques: rule.techniques,
    tactics: rule.tactics,
    sessionKey,
    ...(principal ? { principal } : {}),
    time: Number.isFinite(first.time) ? new Date(first.time).toISOString() : String(first.record.eventTime),
    eventIds: evidence.slice(0, MAX_EVIDENCE_IDS).map((e) => e.id),
    explanation: explain(rule, evidence, failed, lead),
  };
}

function explain(
  rule: CompiledRule,
  evidence: readonly EngineEvent[],
  failed: boolean,
  lead?: string,
): string {
  const first = evidence[0]!;
  const r = first.record;
  const names = [...new Set(evidence.map((e) => e.record.eventName))];
  const parts: string[] = [];
  parts.push(
    lead ??
      `${evidence.length === 1 ? '1 event' : `${evidence.length} events`}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` (+${names.length - 5} more)` : ''}`,
  );
  const who = principalOf(first);
  if (who) parts.push(`by ${who}`);
  if (r.sourceIPAddress) parts.push(`from ${r.sourceIPAddress}`);
  let text = `${parts.join(' ')}.`;
  if (failed) text += ` Every attempt failed (${failureText(r)}), so this was tried, not done.`;
  const shown: string[] = [];
  for (const path of rule.show) {
    const values = eventFieldGetter(path)(first);
    if (values.length === 0) continue;
    shown.push(
      `${path}=${values
        .slice(0, 3)
        .map((v) => redact(path, v))
        .join(',')}${values.length > 3 ? ',…' : ''}`,
    );
  }
  if (shown.length) text += ` ${shown.join('; ')}.`;
  const why = firstSentence(rule.description);
  if (why) text += ` ${why}`;
  if (rule.source === 'sigma' && rule.author) text += ` (Sigma rule by ${rule.author}, ${rule.license})`;
  return text;
}

function firstSentence(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  const m = flat.match(/^.*?[.!?](\s|$)/);
  return (m ? m[0] : flat).trim();
}
