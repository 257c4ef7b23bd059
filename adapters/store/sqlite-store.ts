/**
 * BotStore on an embedded SQLite file (better-sqlite3). WAL mode so a reader never blocks the
 * writer; synchronous calls are fine here because every statement touches one row by primary key.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { BotStore } from './bot-store.ts';
import { SQLITE } from './sql-dialect.ts';
import { botStoreSchema, type RefRow, rowToBenign, rowToRef } from './store-rows.ts';

export function openSqliteStore(file: string): BotStore {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(botStoreSchema(SQLITE));

  const insertSession = db.prepare(
    'INSERT OR REPLACE INTO sessions (id, query, summary, records, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const selectSession = db.prepare('SELECT * FROM sessions WHERE id = ?');
  const insertRef = db.prepare(
    'INSERT OR REPLACE INTO refs (id, action, session_id, event_ids, extra, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const selectRef = db.prepare('SELECT * FROM refs WHERE id = ?');
  const insertBenign = db.prepare(
    'INSERT INTO benign_marks (rule_id, finding_id, session_id, principal, ip, reason, by_user, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectBenign = db.prepare('SELECT * FROM benign_marks ORDER BY seq');
  const deleteOldRefs = db.prepare(
    'DELETE FROM refs WHERE session_id IN (SELECT id FROM sessions WHERE created_at < ?)',
  );
  const deleteOldSessions = db.prepare('DELETE FROM sessions WHERE created_at < ?');
  // Insert, or take over a claim that has expired; one statement, so two connections cannot both win.
  const claim = db.prepare(
    'INSERT INTO claims (key, expires_at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at WHERE claims.expires_at <= ?',
  );
  const deleteExpiredClaims = db.prepare('DELETE FROM claims WHERE expires_at <= ?');

  return {
    async saveSession(s) {
      insertSession.run(
        s.id,
        JSON.stringify(s.query),
        JSON.stringify(s.summary),
        JSON.stringify(s.records),
        s.createdAt,
      );
    },
    async getSession(id) {
      const row = selectSession.get(id) as
        | { id: string; query: string; summary: string; records: string; created_at: string }
        | undefined;
      if (!row) return undefined;
      return {
        id: row.id,
        query: JSON.parse(row.query),
        summary: JSON.parse(row.summary),
        records: JSON.parse(row.records),
        createdAt: row.created_at,
      };
    },
    async saveRef(r) {
      insertRef.run(
        r.id,
        r.action,
        r.sessionId,
        JSON.stringify(r.eventIds),
        r.extra ? JSON.stringify(r.extra) : null,
        r.createdAt,
      );
    },
    async getRef(id) {
      return rowToRef(selectRef.get(id) as RefRow | undefined);
    },
    async recordBenign(m) {
      insertBenign.run(
        m.ruleId ?? null,
        m.findingId ?? null,
        m.sessionId,
        m.principal ?? null,
        m.ip ?? null,
        m.reason,
        m.by,
        m.at,
      );
    },
    async listBenign() {
      const rows = selectBenign.all() as Record<string, string | null>[];
      return rows.map(rowToBenign);
    },
    async claimOnce(key, expiresAt) {
      return claim.run(key, expiresAt.getTime(), Date.now()).changes === 1;
    },
    async prune(olderThan) {
      const cutoff = olderThan.toISOString();
      const tx = db.transaction(() => {
        deleteExpiredClaims.run(Date.now());
        deleteOldRefs.run(cutoff);
        return deleteOldSessions.run(cutoff).changes;
      });
      return tx();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
