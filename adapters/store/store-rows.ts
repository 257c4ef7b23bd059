/**
 * The tables both bot stores keep (SQLite and PostgreSQL use the same columns) and their rows read back into the
 * store's types, in one place.
 */
import type { BenignMark, ButtonRef } from './bot-store.ts';
import type { SqlDialect } from './sql-dialect.ts';

/** The bot store's DDL (idempotent) in `dialect`. */
export function botStoreSchema(dialect: SqlDialect): string {
  return `
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  query TEXT NOT NULL,
  summary TEXT NOT NULL,
  records TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS refs (
  id TEXT PRIMARY KEY,
  action TEXT NOT NULL,
  session_id TEXT NOT NULL,
  event_ids TEXT NOT NULL,
  extra TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS refs_session ON refs(session_id);
CREATE TABLE IF NOT EXISTS claims (
  key TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS benign_marks (
  seq ${dialect.serialKey},
  rule_id TEXT,
  finding_id TEXT,
  session_id TEXT NOT NULL,
  principal TEXT,
  ip TEXT,
  reason TEXT NOT NULL,
  by_user TEXT NOT NULL,
  at TEXT NOT NULL
);
`;
}

export interface RefRow {
  id: string;
  action: string;
  session_id: string;
  event_ids: string;
  extra: string | null;
  created_at: string;
}

export function rowToRef(row: RefRow | undefined): ButtonRef | undefined {
  if (!row) return undefined;
  const ref: ButtonRef = {
    id: row.id,
    action: row.action,
    sessionId: row.session_id,
    eventIds: JSON.parse(row.event_ids),
    createdAt: row.created_at,
  };
  if (row.extra) ref.extra = JSON.parse(row.extra);
  return ref;
}

export function rowToBenign(r: Record<string, string | null>): BenignMark {
  const mark: BenignMark = {
    sessionId: r.session_id as string,
    reason: r.reason as string,
    by: r.by_user as string,
    at: r.at as string,
  };
  if (r.rule_id) mark.ruleId = r.rule_id;
  if (r.finding_id) mark.findingId = r.finding_id;
  if (r.principal) mark.principal = r.principal;
  if (r.ip) mark.ip = r.ip;
  return mark;
}
