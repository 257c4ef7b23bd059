/**
 * The scheduler's tables both SchedulerState backends keep (SQLite and PostgreSQL: the same DDL, `BIGINT` has
 * integer affinity in SQLite) and the alert row read back into its type, in one place.
 */
import type { AlertRow, AlertState } from './scheduler-state.ts';

export const SCHEDULER_STATE_SCHEMA = `
CREATE TABLE IF NOT EXISTS sched_watermarks (
  scope TEXT PRIMARY KEY,
  until_ms BIGINT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sched_alerts (
  key TEXT PRIMARY KEY,
  rule_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  resource TEXT NOT NULL,
  severity TEXT NOT NULL,
  channel TEXT NOT NULL,
  thread_key TEXT NOT NULL,
  thread_ts TEXT,
  state TEXT NOT NULL,
  ts TEXT,
  event_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sched_alerts_state ON sched_alerts(state);
CREATE TABLE IF NOT EXISTS sched_threads (
  thread_key TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  ts TEXT NOT NULL,
  last_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sched_snoozes (
  rule_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  until_ms BIGINT NOT NULL,
  by_user TEXT NOT NULL,
  PRIMARY KEY (rule_id, principal)
);
CREATE TABLE IF NOT EXISTS sched_digests (
  date TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  state TEXT NOT NULL,
  ts TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sched_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sched_baseline (
  day TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (day, kind, value)
);
`;

export interface AlertDbRow {
  key: string;
  rule_id: string;
  principal: string;
  resource: string;
  severity: string;
  channel: string;
  thread_key: string;
  thread_ts: string | null;
  state: string;
  ts: string | null;
  event_at: number;
  created_at: number;
}

export function toAlert(r: AlertDbRow): AlertRow {
  return {
    key: r.key,
    ruleId: r.rule_id,
    principal: r.principal,
    resource: r.resource,
    severity: r.severity,
    channel: r.channel,
    threadKey: r.thread_key,
    ...(r.thread_ts ? { threadTs: r.thread_ts } : {}),
    state: r.state as AlertState,
    ...(r.ts ? { ts: r.ts } : {}),
    eventAt: r.event_at,
    createdAt: r.created_at,
  };
}
