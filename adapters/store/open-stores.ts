/**
 * Opens the bot's three stores from one setting: an embedded SQLite file (the default, one process) or,
 * with a `postgres://` URL, a PostgreSQL database that several bot replicas share. The stores of a
 * process share one connection pool.
 */
import { hostname } from 'node:os';
import { createPgSchedulerState } from '../state/pg-scheduler-state.ts';
import { createPgTriageStore, TRIAGE_SCHEMA } from '../state/pg-triage-store.ts';
import { SCHEDULER_STATE_SCHEMA } from '../state/scheduler-rows.ts';
import type { SchedulerState } from '../state/scheduler-state.ts';
import { openSchedulerState } from '../state/sqlite-scheduler-state.ts';
import { openTriageStore } from '../state/sqlite-triage-store.ts';
import type { TriageStore } from '../state/triage-store.ts';
import type { BotStore } from './bot-store.ts';
import { BOT_STORE_SCHEMA, createPgStore } from './pg-store.ts';
import { openPostgres } from './postgres.ts';
import { sqliteWriteProbe } from './sqlite-probe.ts';
import { openSqliteStore } from './sqlite-store.ts';

export interface StoreSettings {
  /** SQLite file (used when no databaseUrl). */
  dbFile: string;
  /** `postgres://…`: a shared PostgreSQL database instead. */
  databaseUrl?: string;
}

export interface Stores {
  bot: BotStore;
  scheduler: SchedulerState;
  triage: TriageStore;
  /** True for a database several processes share (replicas must then coordinate through it). */
  shared: boolean;
  /** Resolves when the database is reachable and its schema exists (rejects with the reason). */
  ready: Promise<void>;
  /** Rejects unless the store can be written right now (the health check's probe: a real write). */
  probe(): Promise<void>;
}

/** One row per host in PostgreSQL: the health probe's write (a read-only server or role fails it). */
const HEALTH_PROBE_SCHEMA =
  'CREATE TABLE IF NOT EXISTS health_probe (host TEXT PRIMARY KEY, at TIMESTAMPTZ NOT NULL);';

export function openStores(settings: StoreSettings): Stores {
  if (settings.databaseUrl) {
    const schema = `${BOT_STORE_SCHEMA}\n${SCHEDULER_STATE_SCHEMA}\n${TRIAGE_SCHEMA}\n${HEALTH_PROBE_SCHEMA}`;
    const db = openPostgres(settings.databaseUrl, schema, 3);
    return {
      bot: createPgStore(db),
      scheduler: createPgSchedulerState(db),
      triage: createPgTriageStore(db),
      shared: true,
      ready: db.ready,
      async probe() {
        await db.query(
          'INSERT INTO health_probe (host, at) VALUES ($1, now()) ON CONFLICT (host) DO UPDATE SET at = EXCLUDED.at',
          [hostname()],
        );
      },
    };
  }
  return {
    bot: openSqliteStore(settings.dbFile),
    scheduler: openSchedulerState(settings.dbFile),
    triage: openTriageStore(settings.dbFile),
    shared: false,
    ready: Promise.resolve(),
    probe: async () => sqliteWriteProbe(settings.dbFile)(),
  };
}
