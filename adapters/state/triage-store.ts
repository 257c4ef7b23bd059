/**
 * What the triage workflow remembers: one case per posted alert (its lifecycle: open → acknowledged →
 * resolved with an outcome, reopened; who holds it), the history of every change, and the latest
 * digest's headline for the App Home tab. Beside SchedulerState (whose ledger says what was posted);
 * asynchronous so SQLite (embedded) or a shared database server can back it. Every write is one
 * atomic statement or transaction.
 */

export const CASE_STATES = ['open', 'acknowledged', 'resolved'] as const;
export type CaseState = (typeof CASE_STATES)[number];

export const CASE_OUTCOMES = ['true-positive', 'benign', 'duplicate', 'follow-up'] as const;
export type CaseOutcome = (typeof CASE_OUTCOMES)[number];

export type CaseAction = 'opened' | 'acknowledged' | 'assigned' | 'resolved' | 'reopened';

export interface AlertCase {
  /** The alert's ledger key (SchedulerState). */
  key: string;
  /** Where the alert message is: the message updated in place. */
  channel: string;
  ts: string;
  ruleId: string;
  title: string;
  severity: string;
  principal: string;
  /** Epoch ms of the finding (the digest lists a day's open alerts by it). */
  eventAt: number;
  state: CaseState;
  /** Slack user id of who holds the alert. */
  assignee?: string;
  /** Set while resolved. */
  outcome?: CaseOutcome;
  acknowledgedBy?: string;
  acknowledgedAt?: number;
  /** The last change: what, by whom (Slack user id; absent for `opened`), when (epoch ms). */
  lastAction: CaseAction;
  lastBy?: string;
  lastAt: number;
  /** Increases with every change; a change names the version it was made from (no lost updates). */
  version: number;
}

/** One line of a case's history. */
export interface CaseChange {
  key: string;
  version: number;
  action: CaseAction;
  by?: string;
  at: number;
  state: CaseState;
  assignee?: string;
  outcome?: CaseOutcome;
}

export interface CaseQuery {
  states: CaseState[];
  /** Only cases held by this user. */
  assignee?: string;
  /** Only cases whose finding happened in [eventFrom, eventBefore). */
  eventFrom?: number;
  eventBefore?: number;
  /** Newest finding first, at most this many. */
  limit: number;
}

export interface DigestHeadline {
  date: string;
  channel: string;
  ts: string;
  /** The digest's one-line text. */
  text: string;
  /** Epoch ms, wall clock. */
  postedAt: number;
}

export interface TriageStore {
  /** Creates the case of a freshly posted alert (state `open`, version 1); false when it exists. */
  openCase(c: Omit<AlertCase, 'state' | 'lastAction' | 'version'>): Promise<boolean>;
  getCase(key: string): Promise<AlertCase | undefined>;
  /**
   * Writes `next` (version `fromVersion + 1`) and its history line in one transaction, only if the
   * stored case is still at `fromVersion`; returns the stored case, or undefined when someone
   * changed it first (or it does not exist).
   */
  changeCase(next: AlertCase, fromVersion: number): Promise<AlertCase | undefined>;
  listCases(query: CaseQuery): Promise<AlertCase[]>;
  /** Every change of a case, oldest first. */
  caseHistory(key: string): Promise<CaseChange[]>;

  recordDigest(headline: DigestHeadline): Promise<void>;
  /** The most recently posted digest. */
  latestDigest(): Promise<DigestHeadline | undefined>;
  close(): Promise<void>;
}
