/** TriageStore on SQLite (better-sqlite3, WAL): a case row, its history lines, digest headlines. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  AlertCase,
  CaseAction,
  CaseChange,
  CaseOutcome,
  CaseState,
  TriageStore,
} from './triage-store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS triage_cases (
  key TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  ts TEXT NOT NULL,
  rule_id TEXT NOT NULL,
  title TEXT NOT NULL,
  severity TEXT NOT NULL,
  principal TEXT NOT NULL,
  event_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  assignee TEXT,
  outcome TEXT,
  acknowledged_by TEXT,
  acknowledged_at INTEGER,
  last_action TEXT NOT NULL,
  last_by TEXT,
  last_at INTEGER NOT NULL,
  version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS triage_cases_state ON triage_cases(state, event_at);
CREATE TABLE IF NOT EXISTS triage_case_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  action TEXT NOT NULL,
  by_user TEXT,
  at INTEGER NOT NULL,
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
  posted_at INTEGER NOT NULL
);
`;

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

interface LogRow {
  key: string;
  version: number;
  action: string;
  by_user: string | null;
  at: number;
  state: string;
  assignee: string | null;
  outcome: string | null;
}

export function openTriageStore(file: string): TriageStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);

  const q = {
    insert: db.prepare(
      `INSERT OR IGNORE INTO triage_cases (key, channel, ts, rule_id, title, severity, principal, event_at, state,
         assignee, outcome, acknowledged_by, acknowledged_at, last_action, last_by, last_at, version)
       VALUES (@key, @channel, @ts, @rule_id, @title, @severity, @principal, @event_at, @state, @assignee, @outcome,
         @acknowledged_by, @acknowledged_at, @last_action, @last_by, @last_at, @version)`,
    ),
    update: db.prepare(
      `UPDATE triage_cases SET state = @state, assignee = @assignee, outcome = @outcome,
         acknowledged_by = @acknowledged_by, acknowledged_at = @acknowledged_at, last_action = @last_action,
         last_by = @last_by, last_at = @last_at, version = @version
       WHERE key = @key AND version = @from_version`,
    ),
    log: db.prepare(
      'INSERT INTO triage_case_log (key, version, action, by_user, at, state, assignee, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    get: db.prepare('SELECT * FROM triage_cases WHERE key = ?'),
    history: db.prepare('SELECT * FROM triage_case_log WHERE key = ? ORDER BY seq'),
    saveDigest: db.prepare(
      'INSERT OR REPLACE INTO triage_digests (date, channel, ts, text, posted_at) VALUES (?, ?, ?, ?, ?)',
    ),
    latestDigest: db.prepare('SELECT * FROM triage_digests ORDER BY posted_at DESC, date DESC LIMIT 1'),
  };

  const logChange = (c: AlertCase) =>
    q.log.run(
      c.key,
      c.version,
      c.lastAction,
      c.lastBy ?? null,
      c.lastAt,
      c.state,
      c.assignee ?? null,
      c.outcome ?? null,
    );
  const open = db.transaction((c: AlertCase): boolean => {
    if (q.insert.run(toRow(c)).changes !== 1) return false;
    logChange(c);
    return true;
  });
  const change = db.transaction((next: AlertCase, fromVersion: number): boolean => {
    if (q.update.run({ ...toRow(next), from_version: fromVersion }).changes !== 1) return false;
    logChange(next);
    return true;
  });
  const get = (key: string) => {
    const row = q.get.get(key) as CaseRow | undefined;
    return row ? fromRow(row) : undefined;
  };

  return {
    async openCase(c) {
      return open({ ...c, state: 'open', lastAction: 'opened', version: 1 });
    },
    async getCase(key) {
      return get(key);
    },
    async changeCase(next, fromVersion) {
      return change({ ...next, version: fromVersion + 1 }, fromVersion) ? get(next.key) : undefined;
    },
    async listCases(query) {
      const where = [`state IN (${query.states.map(() => '?').join(', ') || "''"})`];
      const args: (string | number)[] = [...query.states];
      if (query.assignee !== undefined) {
        where.push('assignee = ?');
        args.push(query.assignee);
      }
      if (query.eventFrom !== undefined) {
        where.push('event_at >= ?');
        args.push(query.eventFrom);
      }
      if (query.eventBefore !== undefined) {
        where.push('event_at < ?');
        args.push(query.eventBefore);
      }
      const sql = `SELECT * FROM triage_cases WHERE ${where.join(' AND ')} ORDER BY event_at DESC, key LIMIT ?`;
      return (db.prepare(sql).all(...args, Math.max(0, query.limit)) as CaseRow[]).map(fromRow);
    },
    async caseHistory(key) {
      return (q.history.all(key) as LogRow[]).map((r) => {
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
      });
    },
    async recordDigest(d) {
      q.saveDigest.run(d.date, d.channel, d.ts, d.text, d.postedAt);
    },
    async latestDigest() {
      const r = q.latestDigest.get() as
        | { date: string; channel: string; ts: string; text: string; posted_at: number }
        | undefined;
      return r
        ? { date: r.date, channel: r.channel, ts: r.ts, text: r.text, postedAt: r.posted_at }
        : undefined;
    },
    async close() {
      if (db.open) db.close();
    },
  };
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
