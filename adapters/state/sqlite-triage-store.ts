/** TriageStore on SQLite (better-sqlite3, WAL): a case row, its history lines, digest headlines. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE } from '../store/sql-dialect.ts';
import { type CaseRow, fromLogRow, fromRow, type LogRow, toRow, triageSchema } from './triage-rows.ts';
import type { AlertCase, TriageStore } from './triage-store.ts';

export function openTriageStore(file: string): TriageStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(triageSchema(SQLITE));

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
      return (q.history.all(key) as LogRow[]).map(fromLogRow);
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
