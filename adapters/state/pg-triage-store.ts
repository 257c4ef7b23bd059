/**
 * TriageStore on PostgreSQL (`pg`): the same tables, row mapping (triage-rows.ts) and meaning as the SQLite
 * store, for bot replicas sharing one database. A case change is a version-checked
 * UPDATE and its history line in one transaction, so two replicas clicking at once cannot both win.
 */
import type { PgHandle } from '../store/postgres.ts';
import { POSTGRES } from '../store/sql-dialect.ts';
import { type CaseRow, fromLogRow, fromRow, type LogRow, toRow, triageSchema } from './triage-rows.ts';
import type { AlertCase, TriageStore } from './triage-store.ts';

export const TRIAGE_SCHEMA = triageSchema(POSTGRES);

const COLUMNS = [
  'key',
  'channel',
  'ts',
  'rule_id',
  'title',
  'severity',
  'principal',
  'event_at',
  'state',
  'assignee',
  'outcome',
  'acknowledged_by',
  'acknowledged_at',
  'last_action',
  'last_by',
  'last_at',
  'version',
] as const;

const LOG_INSERT =
  'INSERT INTO triage_case_log (key, version, action, by_user, at, state, assignee, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)';

function logParams(c: AlertCase): unknown[] {
  return [
    c.key,
    c.version,
    c.lastAction,
    c.lastBy ?? null,
    c.lastAt,
    c.state,
    c.assignee ?? null,
    c.outcome ?? null,
  ];
}

export function createPgTriageStore(db: PgHandle): TriageStore {
  const get = async (key: string) => {
    const { rows } = await db.query<CaseRow>('SELECT * FROM triage_cases WHERE key = $1', [key]);
    return rows[0] ? fromRow(rows[0]) : undefined;
  };
  return {
    openCase: (c) =>
      db.transaction(async (client) => {
        const full: AlertCase = { ...c, state: 'open', lastAction: 'opened', version: 1 };
        const row = toRow(full);
        const r = await client.query(
          `INSERT INTO triage_cases (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})
           ON CONFLICT (key) DO NOTHING`,
          COLUMNS.map((k) => row[k]),
        );
        if (r.rowCount !== 1) return false;
        await client.query(LOG_INSERT, logParams(full));
        return true;
      }),
    getCase: get,
    async changeCase(next, fromVersion) {
      const full: AlertCase = { ...next, version: fromVersion + 1 };
      const row = toRow(full);
      const changed = await db.transaction(async (client) => {
        const r = await client.query(
          `UPDATE triage_cases SET state = $1, assignee = $2, outcome = $3, acknowledged_by = $4, acknowledged_at = $5,
             last_action = $6, last_by = $7, last_at = $8, version = $9 WHERE key = $10 AND version = $11`,
          [
            row.state,
            row.assignee,
            row.outcome,
            row.acknowledged_by,
            row.acknowledged_at,
            row.last_action,
            row.last_by,
            row.last_at,
            row.version,
            row.key,
            fromVersion,
          ],
        );
        if (r.rowCount !== 1) return false;
        await client.query(LOG_INSERT, logParams(full));
        return true;
      });
      return changed ? get(next.key) : undefined;
    },
    async listCases(query) {
      const args: unknown[] = [query.states];
      const where = ['state = ANY($1::text[])'];
      if (query.assignee !== undefined) where.push(`assignee = $${args.push(query.assignee)}`);
      if (query.eventFrom !== undefined) where.push(`event_at >= $${args.push(query.eventFrom)}`);
      if (query.eventBefore !== undefined) where.push(`event_at < $${args.push(query.eventBefore)}`);
      const limit = `$${args.push(Math.max(0, query.limit))}`;
      const { rows } = await db.query<CaseRow>(
        `SELECT * FROM triage_cases WHERE ${where.join(' AND ')} ORDER BY event_at DESC, key LIMIT ${limit}`,
        args,
      );
      return rows.map(fromRow);
    },
    async caseHistory(key) {
      const { rows } = await db.query<LogRow>('SELECT * FROM triage_case_log WHERE key = $1 ORDER BY seq', [
        key,
      ]);
      return rows.map(fromLogRow);
    },
    async recordDigest(d) {
      await db.query(
        `INSERT INTO triage_digests (date, channel, ts, text, posted_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (date) DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts, text = EXCLUDED.text,
           posted_at = EXCLUDED.posted_at`,
        [d.date, d.channel, d.ts, d.text, d.postedAt],
      );
    },
    async latestDigest() {
      const { rows } = await db.query<{
        date: string;
        channel: string;
        ts: string;
        text: string;
        posted_at: number;
      }>('SELECT * FROM triage_digests ORDER BY posted_at DESC, date DESC LIMIT 1');
      const r = rows[0];
      return r
        ? { date: r.date, channel: r.channel, ts: r.ts, text: r.text, postedAt: r.posted_at }
        : undefined;
    },
    async close() {
      await db.release();
    },
  };
}
