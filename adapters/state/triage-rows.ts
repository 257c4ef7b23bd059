/**
 * The triage tables both TriageStore backends keep (SQLite and PostgreSQL use the same columns and meaning), and
 * their rows read back into the store's types, in one place.
 */
import type { SqlDialect } from '../store/sql-dialect.ts';
import type { AlertCase, CaseAction, CaseChange, CaseOutcome, CaseState } from './triage-store.ts';

/** The DDL (idempotent) in `dialect`. */
export function triageSchema(dialect: SqlDialect): string {
  return `
CREATE TABLE IF NOT EXISTS triage_cases (
  key TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  ts TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  principal TEXT NOT NULL,
  event_at BIGINT NOT NULL,
  state TEXT NOT NULL,
  assignee TEXT,
  outcome TEXT,
  acknowledged_by TEXT,
  acknowledged_at BIGINT,
  last_action TEXT NOT NULL,
  last_by TEXT,
  last_at BIGINT NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS triage_cases_state ON triage_cases(state, event_at);
CREATE TABLE IF NOT EXISTS triage_case_log (
  seq ${dialect.serialKey},
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  action TEXT NOT NULL,
  by_user TEXT,
  at BIGINT NOT NULL,
  state TEXT NOT NULL,
  assignee TEXT,
  outcome TEXT
);
CREATE INDEX IF NOT EXISTS triage_case_log_key ON triage_case_log(key, seq);
CREATE TABLE IF NOT EXISTS triage_digests (
  date TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  ts TEXT NOT NULL,
  text TEXT NOT NULL,
  posted_at BIGINT NOT NULL
);
`;
}

export interface CaseRow {
  key: string;
  channel: string;
  ts: string;
  rule_id: string;
  title: string;
  severity: string;
  principal: string;
  event_at: number;
  state: string;
  assignee: string | null;
  outcome: string | null;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  last_action: string;
  last_by: string | null;
  last_at: number;
  version: number;
}

export interface LogRow {
  key: string;
  version: number;
  action: string;
  by_user: string | null;
  at: number;
  state: string;
  assignee: string | null;
  outcome: string | null;
}

export function fromLogRow(r: LogRow): CaseChange {
  const c: CaseChange = {
    key: r.key,
    version: r.version,
    action: r.action as CaseAction,
    at: r.at,
    state: r.state as CaseState,
  };
  if (r.by_user) c.by = r.by_user;
  if (r.assignee) c.assignee = r.assignee;
  if (r.outcome) c.outcome = r.outcome as CaseOutcome;
  return c;
}

export function toRow(c: AlertCase): CaseRow {
  return {
    key: c.key,
    channel: c.channel,
    ts: c.ts,
    rule_id: c.ruleId,
    title: c.title,
    severity: c.severity,
    principal: c.principal,
    event_at: c.eventAt,
    state: c.state,
    assignee: c.assignee ?? null,
    outcome: c.outcome ?? null,
    acknowledged_by: c.acknowledgedBy ?? null,
    acknowledged_at: c.acknowledgedAt ?? null,
    last_action: c.lastAction,
    last_by: c.lastBy ?? null,
    last_at: c.lastAt,
    version: c.version,
  };
}

export function fromRow(r: CaseRow): AlertCase {
  const c: AlertCase = {
    key: r.key,
    channel: r.channel,
    ts: r.ts,
    ruleId: r.rule_id,
    title: r.title,
    severity: r.severity,
    principal: r.principal,
    eventAt: r.event_at,
    state: r.state as CaseState,
    lastAction: r.last_action as CaseAction,
    lastAt: r.last_at,
    version: r.version,
  };
  if (r.assignee) c.assignee = r.assignee;
  if (r.outcome) c.outcome = r.outcome as CaseOutcome;
  if (r.acknowledged_by) c.acknowledgedBy = r.acknowledged_by;
  if (r.acknowledged_at !== null) c.acknowledgedAt = r.acknowledged_at;
  if (r.last_by) c.lastBy = r.last_by;
  return c;
}
