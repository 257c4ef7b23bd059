/**
 * What the scheduled scans remember between runs and restarts: watermarks per scan scope, the
 * ledger of alerts (an outbox: a row is written `pending` before the Slack post and `posted` with
 * its ts after, so a crash in between is detected and reconciled at start-up instead of posting
 * twice), the alert threads repeats are replied into, snoozes, the digests posted and the digest
 * baseline (facts seen per day). A small asynchronous interface, so SQLite (embedded) or a shared database
 * server can back it.
 */
import type { FactSets } from '../../engine/digest/facts.ts';

export type AlertState = 'pending' | 'posted' | 'snoozed';

export interface AlertRow {
  /** Stable per (rule, first evidence event): the same finding seen by two scans has one key. */
  key: string;
  ruleId: string;
  principal: string;
  resource: string;
  severity: string;
  channel: string;
  /** Rule + principal + resource: repeats within the window go into this thread. */
  threadKey: string;
  /** Set for a repeat: the thread it is (being) posted into. */
  threadTs?: string;
  state: AlertState;
  ts?: string;
  /** Epoch ms of the finding's first evidence event (repeat windows are measured in event time). */
  eventAt: number;
  /** Epoch ms, wall clock, when the row was written (Slack ts are wall clock too). */
  createdAt: number;
}

export interface AlertThread {
  channel: string;
  ts: string;
  /** Epoch ms of the last alert posted into it. */
  lastAt: number;
}

export interface DigestRecord {
  date: string;
  channel: string;
  state: 'pending' | 'posted';
  ts?: string;
  createdAt: number;
}

/** The alert ledger's part of the state (watermarks, alerts, threads, snoozes), as each backend builds it. */
export type LedgerKeys =
  | 'getWatermark'
  | 'setWatermark'
  | 'getAlert'
  | 'beginAlert'
  | 'markAlertPosted'
  | 'dropAlert'
  | 'dropPendingAlert'
  | 'pendingAlerts'
  | 'getThread'
  | 'touchThread'
  | 'snooze'
  | 'snoozedUntil';

export interface SchedulerState {
  getWatermark(scope: string): Promise<number | undefined>;
  setWatermark(scope: string, ms: number): Promise<void>;

  getAlert(key: string): Promise<AlertRow | undefined>;
  /** Writes the row as `pending` (or `snoozed`); false when the key is already in the ledger. */
  beginAlert(row: Omit<AlertRow, 'ts'>): Promise<boolean>;
  markAlertPosted(key: string, ts: string): Promise<void>;
  dropAlert(key: string): Promise<void>;
  /**
   * Drops the row only while it is still the `pending` row written at `createdAt` (compare-and-delete):
   * how one replica takes over an alert another replica left pending when it died. False when the row
   * was settled, dropped or re-taken meanwhile (by someone else, who then owns it).
   */
  dropPendingAlert(key: string, createdAt: number): Promise<boolean>;
  pendingAlerts(): Promise<AlertRow[]>;

  getThread(threadKey: string): Promise<AlertThread | undefined>;
  touchThread(threadKey: string, thread: AlertThread): Promise<void>;

  snooze(ruleId: string, principal: string, until: number, by: string): Promise<void>;
  /** The end of an active snooze of this rule for this principal, if any. */
  snoozedUntil(ruleId: string, principal: string, now: number): Promise<number | undefined>;

  getDigest(date: string): Promise<DigestRecord | undefined>;
  beginDigest(date: string, channel: string, at: number): Promise<void>;
  markDigestPosted(date: string, ts: string): Promise<void>;
  dropDigest(date: string): Promise<void>;

  addBaseline(day: string, facts: FactSets): Promise<void>;
  /** Facts of the days in [fromDay, beforeDay), and how many days had any. */
  baseline(fromDay: string, beforeDay: string): Promise<{ facts: FactSets; days: number }>;

  /**
   * Takes or renews the named lease for `holder` for `ttlMs` (wall clock): true when `holder` holds it
   * now. A lease held by someone else is free again once it expired (its holder died or stopped renewing).
   */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  releaseLease(name: string, holder: string): Promise<void>;

  /**
   * Forgets what can no longer matter: settled ledger rows written before `ledgerBefore` (wall
   * clock; they must outlive every window that can re-read their event), threads whose last alert
   * is older than `threadsBefore` (event time) and snoozes that ended before `snoozesBefore`.
   */
  prune(cutoffs: { ledgerBefore: number; threadsBefore: number; snoozesBefore: number }): Promise<void>;
  close(): Promise<void>;
}
