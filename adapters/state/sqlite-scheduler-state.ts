/** SchedulerState on SQLite (better-sqlite3, WAL): one row per fact, every write a single statement. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { emptyFacts, FACT_KINDS, type FactKind, type FactSets } from '../../engine/digest/facts.ts';
import { type AlertDbRow, SCHEDULER_STATE_SCHEMA, toAlert } from './scheduler-rows.ts';
import type { DigestRecord, LedgerKeys, SchedulerState } from './scheduler-state.ts';

export function openSchedulerState(file: string): SchedulerState {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  // The ledger is the exactly-once guarantee: a row must be on disk before the Slack post happens.
  db.pragma('synchronous = FULL');
  db.exec(SCHEDULER_STATE_SCHEMA);

  const q = prepare(db);
  return {
    ...ledgerMethods(q),
    ...digestMethods(db, q),
    async acquireLease(name, holder, ttlMs) {
      const now = Date.now();
      return q.lease.run(name, holder, now + ttlMs, now).changes === 1;
    },
    async releaseLease(name, holder) {
      q.releaseLease.run(name, holder);
    },
    async prune({ ledgerBefore, threadsBefore, snoozesBefore }) {
      q.pruneAlerts.run(ledgerBefore);
      q.pruneThreads.run(threadsBefore);
      q.pruneSnoozes.run(snoozesBefore);
    },
    async close() {
      db.close();
    },
  };
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    getWm: db.prepare('SELECT until_ms FROM sched_watermarks WHERE scope = ?'),
    setWm: db.prepare(
      'INSERT INTO sched_watermarks (scope, until_ms, updated_at) VALUES (?, ?, ?) ON CONFLICT(scope) DO UPDATE SET until_ms = excluded.until_ms, updated_at = excluded.updated_at',
    ),
    getAlert: db.prepare('SELECT * FROM sched_alerts WHERE key = ?'),
    insertAlert: db.prepare(
      'INSERT OR IGNORE INTO sched_alerts (key, rule_id, principal, resource, severity, channel, thread_key, thread_ts, state, event_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    postedAlert: db.prepare("UPDATE sched_alerts SET state = 'posted', ts = ? WHERE key = ?"),
    dropAlert: db.prepare('DELETE FROM sched_alerts WHERE key = ?'),
    dropPending: db.prepare(
      "DELETE FROM sched_alerts WHERE key = ? AND state = 'pending' AND created_at = ?",
    ),
    lease: db.prepare(
      'INSERT INTO sched_leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE sched_leases.holder = excluded.holder OR sched_leases.expires_at <= ?',
    ),
    releaseLease: db.prepare('DELETE FROM sched_leases WHERE name = ? AND holder = ?'),
    pending: db.prepare("SELECT * FROM sched_alerts WHERE state = 'pending' ORDER BY created_at, key"),
    getThread: db.prepare('SELECT channel, ts, last_at FROM sched_threads WHERE thread_key = ?'),
    setThread: db.prepare(
      'INSERT INTO sched_threads (thread_key, channel, ts, last_at) VALUES (?, ?, ?, ?) ON CONFLICT(thread_key) DO UPDATE SET channel = excluded.channel, ts = excluded.ts, last_at = excluded.last_at',
    ),
    snooze: db.prepare(
      'INSERT INTO sched_snoozes (rule_id, principal, until_ms, by_user) VALUES (?, ?, ?, ?) ON CONFLICT(rule_id, principal) DO UPDATE SET until_ms = excluded.until_ms, by_user = excluded.by_user',
    ),
    snoozed: db.prepare(
      'SELECT until_ms FROM sched_snoozes WHERE rule_id = ? AND principal = ? AND until_ms > ?',
    ),
    getDigest: db.prepare('SELECT * FROM sched_digests WHERE date = ?'),
    beginDigest: db.prepare(
      "INSERT OR REPLACE INTO sched_digests (date, channel, state, ts, created_at) VALUES (?, ?, 'pending', NULL, ?)",
    ),
    postedDigest: db.prepare("UPDATE sched_digests SET state = 'posted', ts = ? WHERE date = ?"),
    dropDigest: db.prepare('DELETE FROM sched_digests WHERE date = ?'),
    addFact: db.prepare('INSERT OR IGNORE INTO sched_baseline (day, kind, value) VALUES (?, ?, ?)'),
    baseline: db.prepare('SELECT day, kind, value FROM sched_baseline WHERE day >= ? AND day < ?'),
    pruneAlerts: db.prepare("DELETE FROM sched_alerts WHERE created_at < ? AND state != 'pending'"),
    pruneThreads: db.prepare('DELETE FROM sched_threads WHERE last_at < ?'),
    pruneSnoozes: db.prepare('DELETE FROM sched_snoozes WHERE until_ms < ?'),
  };
}

/** The alert ledger and its threads and snoozes. */
function ledgerMethods(q: Statements): Pick<SchedulerState, LedgerKeys> {
  return {
    async getWatermark(scope) {
      const row = q.getWm.get(scope) as { until_ms: number } | undefined;
      return row?.until_ms;
    },
    async setWatermark(scope, ms) {
      q.setWm.run(scope, ms, new Date().toISOString());
    },
    async getAlert(key) {
      const row = q.getAlert.get(key) as AlertDbRow | undefined;
      return row ? toAlert(row) : undefined;
    },
    async beginAlert(row) {
      const r = q.insertAlert.run(
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
      );
      return r.changes === 1;
    },
    async markAlertPosted(key, ts) {
      q.postedAlert.run(ts, key);
    },
    async dropAlert(key) {
      q.dropAlert.run(key);
    },
    async dropPendingAlert(key, createdAt) {
      return q.dropPending.run(key, createdAt).changes === 1;
    },
    async pendingAlerts() {
      return (q.pending.all() as AlertDbRow[]).map(toAlert);
    },
    async getThread(threadKey) {
      const row = q.getThread.get(threadKey) as { channel: string; ts: string; last_at: number } | undefined;
      return row ? { channel: row.channel, ts: row.ts, lastAt: row.last_at } : undefined;
    },
    async touchThread(threadKey, t) {
      q.setThread.run(threadKey, t.channel, t.ts, t.lastAt);
    },
    async snooze(ruleId, principal, until, by) {
      q.snooze.run(ruleId, principal, until, by);
    },
    async snoozedUntil(ruleId, principal, now) {
      const row = q.snoozed.get(ruleId, principal, now) as { until_ms: number } | undefined;
      return row?.until_ms;
    },
  };
}

/** Digests posted once per day, and the baseline of facts "new" is measured against. */
function digestMethods(
  db: Database.Database,
  q: Statements,
): Pick<
  SchedulerState,
  'getDigest' | 'beginDigest' | 'markDigestPosted' | 'dropDigest' | 'addBaseline' | 'baseline'
> {
  const addBaseline = db.transaction((day: string, facts: FactSets) => {
    for (const kind of FACT_KINDS) for (const v of facts[kind]) q.addFact.run(day, kind, v);
  });
  return {
    async getDigest(date) {
      const r = q.getDigest.get(date) as
        | { date: string; channel: string; state: string; ts: string | null; created_at: number }
        | undefined;
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
      q.beginDigest.run(date, channel, at);
    },
    async markDigestPosted(date, ts) {
      q.postedDigest.run(ts, date);
    },
    async dropDigest(date) {
      q.dropDigest.run(date);
    },
    async addBaseline(day, facts) {
      addBaseline(day, facts);
    },
    async baseline(fromDay, beforeDay) {
      const facts = emptyFacts();
      const days = new Set<string>();
      for (const r of q.baseline.all(fromDay, beforeDay) as { day: string; kind: string; value: string }[]) {
        days.add(r.day);
        facts[r.kind as FactKind]?.add(r.value);
      }
      return { facts, days: days.size };
    },
  };
}
