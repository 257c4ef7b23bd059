/**
 * BotStore on PostgreSQL (`pg`): the same tables and meaning as the SQLite store, for several bot
 * replicas sharing one database. JSON is kept as text, byte for byte what was saved.
 */
import type { BotStore, StoredSession } from './bot-store.ts';
import type { PgHandle } from './postgres.ts';
import { POSTGRES } from './sql-dialect.ts';
import { botStoreSchema, type RefRow, rowToBenign, rowToRef } from './store-rows.ts';

export const BOT_STORE_SCHEMA = botStoreSchema(POSTGRES);

interface SessionRow {
  id: string;
  query: string;
  summary: string;
  records: string;
  created_at: string;
}

export function createPgStore(db: PgHandle): BotStore {
  return {
    async saveSession(s) {
      await db.query(
        `INSERT INTO sessions (id, query, summary, records, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET query = EXCLUDED.query, summary = EXCLUDED.summary,
           records = EXCLUDED.records, created_at = EXCLUDED.created_at`,
        [s.id, JSON.stringify(s.query), JSON.stringify(s.summary), JSON.stringify(s.records), s.createdAt],
      );
    },
    async getSession(id) {
      const { rows } = await db.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id]);
      const row = rows[0];
      if (!row) return undefined;
      const session: StoredSession = {
        id: row.id,
        query: JSON.parse(row.query),
        summary: JSON.parse(row.summary),
        records: JSON.parse(row.records),
        createdAt: row.created_at,
      };
      return session;
    },
    async saveRef(r) {
      await db.query(
        `INSERT INTO refs (id, action, session_id, event_ids, extra, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET action = EXCLUDED.action, session_id = EXCLUDED.session_id,
           event_ids = EXCLUDED.event_ids, extra = EXCLUDED.extra, created_at = EXCLUDED.created_at`,
        [
          r.id,
          r.action,
          r.sessionId,
          JSON.stringify(r.eventIds),
          r.extra ? JSON.stringify(r.extra) : null,
          r.createdAt,
        ],
      );
    },
    async getRef(id) {
      const { rows } = await db.query<RefRow>('SELECT * FROM refs WHERE id = $1', [id]);
      return rowToRef(rows[0]);
    },
    async recordBenign(m) {
      await db.query(
        'INSERT INTO benign_marks (rule_id, finding_id, session_id, principal, ip, reason, by_user, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [
          m.ruleId ?? null,
          m.findingId ?? null,
          m.sessionId,
          m.principal ?? null,
          m.ip ?? null,
          m.reason,
          m.by,
          m.at,
        ],
      );
    },
    async listBenign() {
      const { rows } = await db.query<Record<string, string | null>>(
        'SELECT * FROM benign_marks ORDER BY seq',
      );
      return rows.map(rowToBenign);
    },
    async claimOnce(key, expiresAt) {
      // Insert, or take over an expired claim; one statement, so two replicas cannot both win.
      const r = await db.query(
        `INSERT INTO claims (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE claims.expires_at <= $3`,
        [key, expiresAt.getTime(), Date.now()],
      );
      return r.rowCount === 1;
    },
    async prune(olderThan) {
      const cutoff = olderThan.toISOString();
      return db.transaction(async (client) => {
        await client.query('DELETE FROM claims WHERE expires_at <= $1', [Date.now()]);
        await client.query(
          'DELETE FROM refs WHERE session_id IN (SELECT id FROM sessions WHERE created_at < $1)',
          [cutoff],
        );
        const r = await client.query('DELETE FROM sessions WHERE created_at < $1', [cutoff]);
        return r.rowCount ?? 0;
      });
    },
    async close() {
      await db.release();
    },
  };
}
