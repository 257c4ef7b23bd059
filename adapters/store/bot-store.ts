/**
 * What the Slack bot keeps between restarts: the analyses behind posted messages, the opaque
 * references that button values point at, and the record of "Mark benign" decisions.
 * A small asynchronous interface, so SQLite (embedded) or a shared database server can back it without
 * touching bot/.
 */
import type { SourceName } from '../../engine/source.ts';

/** A serialisable description of the lookup that produced an analysis (to explain or re-run it). */
export interface StoredQuery {
  kind: 'session' | 'user' | 'ip';
  value: string;
  source: SourceName;
  since?: string;
  /** Channel the analysis was posted in: its buttons only work there. */
  channel?: string;
}

/** One analysed session as posted to Slack: the summary plus the exact records behind it. */
export interface StoredSession {
  /** Opaque id of this cached analysis (one per posted session). */
  id: string;
  query: StoredQuery;
  /** JSON-serialisable session report (SessionSummary shape) without events. */
  summary: unknown;
  /** The raw CloudTrail records of the session, by event id, in session order. */
  records: { id: string; record: unknown }[];
  createdAt: string;
}

/** What a button value resolves to. */
export interface ButtonRef {
  id: string;
  action: string;
  sessionId: string;
  /** Event ids the button is about (empty = the whole session). */
  eventIds: string[];
  /** Optional extras (finding id, rule id, label). */
  extra?: Record<string, unknown>;
  createdAt: string;
}

export interface BenignMark {
  ruleId?: string;
  findingId?: string;
  sessionId: string;
  principal?: string;
  ip?: string;
  reason: string;
  by: string;
  at: string;
}

export interface BotStore {
  saveSession(session: StoredSession): Promise<void>;
  getSession(id: string): Promise<StoredSession | undefined>;
  saveRef(ref: ButtonRef): Promise<void>;
  getRef(id: string): Promise<ButtonRef | undefined>;
  recordBenign(mark: BenignMark): Promise<void>;
  listBenign(): Promise<BenignMark[]>;
  /**
   * Atomically records `key` as seen until `expiresAt`: true for the first caller (do the work), false
   * while an unexpired claim exists (a Slack retry, a replayed request, a double click). Shared by every
   * bot replica that uses the same store, so a retry reaching another replica is still answered once.
   */
  claimOnce(key: string, expiresAt: Date): Promise<boolean>;
  /** Drops analyses (and their refs) older than the given date; returns how many sessions went. */
  prune(olderThan: Date): Promise<number>;
  close(): Promise<void>;
}
