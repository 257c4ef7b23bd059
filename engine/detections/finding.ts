/** Building a Finding from a rule and its evidence: stable id, analyst-facing explanation, no secrets. */
import { createHash } from 'node:crypto';
import { asText, eventFieldGetter, type FieldGetter } from '../field-path.ts';
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

/**
 * What a finding says about its evidence, enough to build it without the events themselves: a store that counts a
 * rule's matching events (Athena) hands over this summary, the detector makes it from the events (`evidenceOf`).
 */
export interface EvidenceSummary {
  /** The first matching event (event order, engine/order.ts). */
  first: EngineEvent;
  /** How many events matched. */
  count: number;
  /** The first MAX_EVIDENCE_IDS event ids, in event order. */
  ids: readonly string[];
  /** Distinct event names, in the order of their first event. */
  names: readonly string[];
  /** Every matching event failed (failedCall). */
  allFailed: boolean;
}

export function evidenceOf(evidence: readonly EngineEvent[]): EvidenceSummary {
  // A burst can hold thousands of events: their names are collected without an array of them all.
  const names = new Set<string>();
  for (let i = 0; i < evidence.length; i++) names.add(evidence[i]!.record.eventName);
  return {
    first: evidence[0]!,
    count: evidence.length,
    ids: evidence.slice(0, MAX_EVIDENCE_IDS).map((e) => e.id),
    names: [...names],
    allFailed: evidence.every((e) => failedCall(e.record)),
  };
}

/**
 * What a threshold finding leads with: the (distinct) count when the threshold was reached, or the burst's size, and
 * (counted across sessions) whether the burst holds other sessions' events, some before the one that reached it.
 * The detector (detector.ts) and a store that computed the burst (engine/grouped-findings.ts) say the same.
 */
export function thresholdLead(
  rule: CompiledRule,
  reached: number,
  burst: number,
  across?: 'earlier' | 'other',
): string {
  const t = rule.threshold!;
  const what = t.distinctField ? `${reached}+ distinct ${t.distinctField}` : `${burst} matching events`;
  const also = across ? `, counting ${across} sessions` : '';
  return `${what} within ${t.windowMs / 60_000} min (threshold ${t.count}${also})`;
}

export function buildFinding(
  rule: CompiledRule,
  sessionKey: string,
  evidence: readonly EngineEvent[],
  lead?: string,
): Finding {
  return findingFrom(rule, sessionKey, evidenceOf(evidence), lead);
}

/** The finding of a rule over evidence described by its summary (the same finding buildFinding makes). */
export function findingFrom(
  rule: CompiledRule,
  sessionKey: string,
  evidence: EvidenceSummary,
  lead?: string,
): Finding {
  const first = evidence.first;
  const failed = evidence.allFailed;
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
    eventIds: evidence.ids.slice(0, MAX_EVIDENCE_IDS),
    explanation: explain(rule, evidence, lead),
  };
}

function explain(rule: CompiledRule, evidence: EvidenceSummary, lead?: string): string {
  const first = evidence.first;
  const r = first.record;
  const names = evidence.names;
  const parts: string[] = [];
  parts.push(
    lead ??
      `${evidence.count === 1 ? '1 event' : `${evidence.count} events`}: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` (+${names.length - 5} more)` : ''}`,
  );
  const who = principalOf(first);
  if (who) parts.push(`by ${who}`);
  if (r.sourceIPAddress) parts.push(`from ${r.sourceIPAddress}`);
  let text = `${parts.join(' ')}.`;
  if (evidence.allFailed) text += ` Every attempt failed (${failureText(r)}), so this was tried, not done.`;
  const shown: string[] = [];
  const getters = shownGetters(rule);
  for (let i = 0; i < rule.show.length; i++) {
    const path = rule.show[i]!;
    const values = getters[i]!(first);
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

/** The getters of the paths a rule shows, looked up once per rule. */
const showGetters = new WeakMap<readonly string[], FieldGetter[]>();

function shownGetters(rule: CompiledRule): FieldGetter[] {
  let getters = showGetters.get(rule.show);
  if (!getters) {
    getters = rule.show.map((path) => eventFieldGetter(path));
    showGetters.set(rule.show, getters);
  }
  return getters;
}

/** A rule's description's first sentence, found once per description (every finding of a rule repeats it). */
const sentences = new Map<string, string>();

function firstSentence(s: string): string {
  let found = sentences.get(s);
  if (found === undefined) {
    found = findFirstSentence(s);
    if (sentences.size >= 10_000) sentences.clear();
    sentences.set(s, found);
  }
  return found;
}

function findFirstSentence(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  const m = flat.match(/^.*?[.!?](\s|$)/);
  return (m ? m[0] : flat).trim();
}
