/**
 * SchedulerState on PostgreSQL (`pg`): the same tables and meaning as the SQLite state, shared by bot
 * replicas. Every write is one statement, so the ledger's "insert if absent" (beginAlert), the
 * compare-and-delete takeover (dropPendingAlert) and the lease are atomic across processes. Lease times
 * come from the database server's clock, one clock for every replica.
 */
import { emptyFacts, FACT_KINDS, type FactKind } from '../../engine/digest/facts.ts';
import type { PgHandle } from '../store/postgres.ts';
import { type AlertDbRow, toAlert } from './scheduler-rows.ts';
import type { DigestRecord, LedgerKeys, SchedulerState } from './scheduler-state.ts';

/** Epoch milliseconds on the database server's clock. */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

export function createPgSchedulerState(db: PgHandle): SchedulerState {
  const changed = changedIn(db);
  return {
    ...pgLedger(db),
    ...pgDigests(db),
    acquireLease: (name, holder, ttlMs) =>
      changed(
        `INSERT INTO sched_leases (name, holder, expires_at) VALUES ($1, $2, ${DB_NOW} + $3)
         ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE sched_leases.holder = EXCLUDED.holder OR sched_leases.expires_at <= ${DB_NOW}`,
        [name, holder, Math.round(ttlMs)],
      ),
    async releaseLease(name, holder) {
      await db.query('DELETE FROM sched_leases WHERE name = $1 AND holder = $2', [name, holder]);
    },
    async prune({ ledgerBefore, threadsBefore, snoozesBefore }) {
      await db.query("DELETE FROM sched_alerts WHERE created_at < $1 AND state != 'pending'", [ledgerBefore]);
      await db.query('DELETE FROM sched_threads WHERE last_at < $1', [threadsBefore]);
      await db.query('DELETE FROM sched_snoozes WHERE until_ms < $1', [snoozesBefore]);
    },
    async close() {
      await db.release();
    },
  };
}

/** The alert ledger, its threads and snoozes. */
function pgLedger(db: PgHandle): Pick<SchedulerState, LedgerKeys> {
  const one = oneIn(db);
  const changed = changedIn(db);
  return {
    async getWatermark(scope) {
      return (
        await one<{ until_ms: number }>('SELECT until_ms FROM sched_watermarks WHERE scope = $1', [scope])
      )?.until_ms;
    },
    async setWatermark(scope, ms) {
      await db.query(
        `INSERT INTO sched_watermarks (scope, until_ms, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (scope) DO UPDATE SET until_ms = EXCLUDED.until_ms, updated_at = EXCLUDED.updated_at`,
        [scope, ms, new Date().toISOString()],
      );
    },
    async getAlert(key) {
      const row = await one<AlertDbRow & Record<string, unknown>>(
        'SELECT * FROM sched_alerts WHERE key = $1',
        [key],
      );
      return row ? toAlert(row) : undefined;
    },
    beginAlert: (row) =>
      changed(
        `INSERT INTO sched_alerts (key, rule_id, principal, resource, severity, channel, thread_key, thread_ts, state, event_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (key) DO NOTHING`,
        [
          row.key,
          row.ruleId,
          row.principal,
          row.resource,
          row.severity,
          row.channel,
          row.threadKey,
          row.threadTs ?? null,
          row.state,
          row.eventAt,
          row.createdAt,
        ],
      ),
    async markAlertPosted(key, ts) {
      await db.query("UPDATE sched_alerts SET state = 'posted', ts = $1 WHERE key = $2", [ts, key]);
    },
    async dropAlert(key) {
      await db.query('DELETE FROM sched_alerts WHERE key = $1', [key]);
    },
    dropPendingAlert: (key, createdAt) =>
      changed("DELETE FROM sched_alerts WHERE key = $1 AND state = 'pending' AND created_at = $2", [
        key,
        createdAt,
      ]),
    async pendingAlerts() {
      const { rows } = await db.query<AlertDbRow>(
        "SELECT * FROM sched_alerts WHERE state = 'pending' ORDER BY created_at, key",
      );
      return rows.map(toAlert);
    },
    async getThread(threadKey) {
      const row = await one<{ channel: string; ts: string; last_at: number }>(
        'SELECT channel, ts, last_at FROM sched_threads WHERE thread_key = $1',
        [threadKey],
      );
      return row ? { channel: row.channel, ts: row.ts, lastAt: row.last_at } : undefined;
    },
    async touchThread(threadKey, t) {
      await db.query(
        `INSERT INTO sched_threads (thread_key, channel, ts, last_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (thread_key) DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts, last_at = EXCLUDED.last_at`,
        [threadKey, t.channel, t.ts, t.lastAt],
      );
    },
    async snooze(ruleId, principal, until, by) {
      await db.query(
        `INSERT INTO sched_snoozes (rule_id, principal, until_ms, by_user) VALUES ($1, $2, $3, $4)
         ON CONFLICT (rule_id, principal) DO UPDATE SET until_ms = EXCLUDED.until_ms, by_user = EXCLUDED.by_user`,
        [ruleId, principal, until, by],
      );
    },
    async snoozedUntil(ruleId, principal, now) {
      return (
        await one<{ until_ms: number }>(
          'SELECT until_ms FROM sched_snoozes WHERE rule_id = $1 AND principal = $2 AND until_ms > $3',
          [ruleId, principal, now],
        )
      )?.until_ms;
    },
  };
}

/** Digests posted once per day, and the baseline of facts "new" is measured against. */
function pgDigests(
  db: PgHandle,
): Pick<
  SchedulerState,
  'getDigest' | 'beginDigest' | 'markDigestPosted' | 'dropDigest' | 'addBaseline' | 'baseline'
> {
  const one = oneIn(db);
  return {
    async getDigest(date) {
      const r = await one<{
        date: string;
        channel: string;
        state: string;
        ts: string | null;
        created_at: number;
      }>('SELECT * FROM sched_digests WHERE date = $1', [date]);
      if (!r) return undefined;
      const rec: DigestRecord = {
        date: r.date,
        channel: r.channel,
        state: r.state as DigestRecord['state'],
        createdAt: r.created_at,
      };
      if (r.ts) rec.ts = r.ts;
      return rec;
    },
    async beginDigest(date, channel, at) {
      await db.query(
        `INSERT INTO sched_digests (date, channel, state, ts, created_at) VALUES ($1, $2, 'pending', NULL, $3)
         ON CONFLICT (date) DO UPDATE SET channel = EXCLUDED.channel, state = 'pending', ts = NULL, created_at = EXCLUDED.created_at`,
        [date, channel, at],
      );
    },
    async markDigestPosted(date, ts) {
      await db.query("UPDATE sched_digests SET state = 'posted', ts = $1 WHERE date = $2", [ts, date]);
    },
    async dropDigest(date) {
      await db.query('DELETE FROM sched_digests WHERE date = $1', [date]);
    },
    async addBaseline(day, facts) {
      const kinds: string[] = [];
      const values: string[] = [];
      for (const kind of FACT_KINDS)
        for (const v of facts[kind]) {
          kinds.push(kind);
          values.push(v);
        }
      if (values.length === 0) return;
      await db.query(
        `INSERT INTO sched_baseline (day, kind, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) AS t(k, v)
         ON CONFLICT DO NOTHING`,
        [day, kinds, values],
      );
    },
    async baseline(fromDay, beforeDay) {
      const facts = emptyFacts();
      const days = new Set<string>();
      const { rows } = await db.query<{ day: string; kind: string; value: string }>(
        'SELECT day, kind, value FROM sched_baseline WHERE day >= $1 AND day < $2',
        [fromDay, beforeDay],
      );
      for (const r of rows) {
        days.add(r.day);
        facts[r.kind as FactKind]?.add(r.value);
      }
      return { facts, days: days.size };
    },
  };
}

function oneIn(db: PgHandle) {
  return async <R extends Record<string, unknown>>(sql: string, params: unknown[]) =>
    (await db.query<R>(sql, params)).rows[0];
}

function changedIn(db: PgHandle) {
  return async (sql: string, params: unknown[]) => ((await db.query(sql, params)).rowCount ?? 0) > 0;
}
