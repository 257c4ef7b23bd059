/**
 * One interface for every place CloudTrail comes from: local files (the embedded default),
 * the LookupEvents API and Athena. The engine and the bot only see this.
 */
import type { EventPushdown } from './detections/pushdown.ts';
import type { CloudTrailRecord, Origin } from './record.ts';

export type SourceName = 'local' | 'lookup' | 'athena';

/** Who / which key / which IP / when / which events. Every field is optional; sources push down what they can. */
export interface SourceQuery {
  accessKeyId?: string;
  /** User name or principal ARN. */
  user?: string;
  sourceIp?: string;
  eventNames?: string[];
  readOnly?: boolean;
  since?: Date;
  until?: Date;
  regions?: string[];
  accounts?: string[];
  /** Stop after this many records and report `truncated`. */
  maxEvents?: number;
}

export interface SourceProgress {
  /** One human line, e.g. "Looking up ASIA… in 17 regions: 350 events, 7 pages". */
  message: string;
  records: number;
  pages?: number;
  regionsDone?: number;
  regionsTotal?: number;
  bytesScanned?: number;
}

export type SourceItem =
  | { kind: 'record'; record: CloudTrailRecord; origin: Origin }
  /** `unreadable`: the input itself broke off (truncated gzip, I/O error), not just one record in it. */
  | { kind: 'rejected'; origin: Origin; reason: string; unreadable?: boolean }
  /** A whole input file was opened (counts towards `inputs.files`). */
  | { kind: 'file'; origin: Origin }
  /** A file left out on purpose (digest file, `.DS_Store` in a log tree): a note, not an error. */
  | { kind: 'skipped'; origin: Origin; reason: string }
  /** The source stopped early (event cap, time-out) and says why. */
  | { kind: 'truncated'; reason: string }
  /** Cost or volume facts worth showing (Athena bytes scanned, USD). */
  | { kind: 'stats'; bytesScanned?: number; costUsd?: number; queryId?: string };

export interface ReadOptions {
  signal?: AbortSignal;
  onProgress?: (p: SourceProgress) => void;
}

export interface RecordSource {
  readonly name: SourceName;
  read(query: SourceQuery, options?: ReadOptions): AsyncIterable<SourceItem>;
}

/**
 * What a session key and principal are made of (engine/sessions/session-key.ts), as a store that groups can return
 * it: the identity fields, the console flag, whether the call came from an AWS service address, and the time of a
 * successful console sign-in (which keys its own session). Nothing else about an event decides its session.
 */
export interface BucketIdentity {
  userIdentity?: {
    type?: string;
    principalId?: string;
    arn?: string;
    accountId?: string;
    userName?: string;
    invokedBy?: string;
    /** Absent when the sign-in time keys the session anyway (the store leaves rotating console keys out). */
    accessKeyId?: string;
    sessionContext?: {
      attributes?: { creationDate?: string; mfaAuthenticated?: string };
      sessionIssuer?: { arn?: string; userName?: string; accountId?: string };
    };
  };
  sessionCredentialFromConsole?: string;
  serviceSource: boolean;
  consoleLoginAt?: string;
}

/** Events of one identity in one time bucket (shorter than the idle gap), counted by the store. */
export interface IdentityBucket {
  identity: BucketIdentity;
  /** The store's handle for this identity, to fetch the session's events afterwards. */
  ref: unknown;
  /** Epoch ms of the first and last event. */
  first: number;
  last: number;
  events: number;
  errors: number;
}

/** The digest's day-level facts, grouped by the store (engine/digest/facts.ts turns them into fact sets). */
export interface GroupedFacts {
  regions: string[];
  services: string[];
  /** One sample address per /24 (IPv4) or per value (anything else). */
  networkSamples: string[];
  userAgents: { userAgent: string; console: boolean }[];
}

/** What a grouped scan asks for (AggregatingSource). */
export interface GroupedScanRequest {
  since: Date;
  until: Date;
  accounts?: string[];
  regions?: string[];
  /** The events to return whole: the enabled rules' prefilter (engine/detections/pushdown.ts). */
  pushdown?: EventPushdown;
  /** Session buckets of this width (must be shorter than the idle gap); absent: none. */
  bucketMs?: number;
  /** The idle gap that splits sessions (default 30 min): buckets closer than it come back as one run. */
  idleGapMs?: number;
  facts?: boolean;
  /**
   * Whether the store may compute within-session threshold findings itself (GroupedScan.bursts; default yes): not
   * for parts of a range analysed together, whose sessions can span parts.
   */
  bursts?: boolean;
}

export interface GroupedScanStats {
  queries: number;
  bytesScanned: number;
  costUsd: number;
  /** Rows that travelled to Node (events, buckets, facts, counts). */
  rows: number;
  /** Of which whole events. */
  eventRows: number;
  /**
   * Rows by what they are: `events` (the prefilter's whole events), `counted` (groups of counted rule matches),
   * `buckets`, `facts`, `thresholds`, `sequences`, `joins`, `group events` (the second statement: events of
   * threshold and sequence groups that can fire), `sessions` (sessions fetched whole), `baseline`.
   */
  rowsByKind?: Record<string, number>;
}

/** Adds `add`'s row kinds to `into`'s. */
export function addRowKinds(into: GroupedScanStats, add: GroupedScanStats): void {
  if (!add.rowsByKind) return;
  into.rowsByKind ??= {};
  for (const [k, n] of Object.entries(add.rowsByKind)) into.rowsByKind[k] = (into.rowsByKind[k] ?? 0) + n;
}

export interface GroupedScan {
  buckets: IdentityBucket[];
  /** The prefiltered events (records, and rows that were no record as `rejected`). */
  items: SourceItem[];
  /** Rules the store counted (EventPushdown.countable) instead of returning their events, and their counts. */
  counted?: string[];
  hits?: RuleHits[];
  /** Threshold rules whose findings the store computed (`bursts`) instead of returning their events. */
  burstRules?: string[];
  bursts?: BurstHit[];
  facts?: GroupedFacts;
  stats: GroupedScanStats;
}

/** An event's place in the event order (engine/order.ts). */
export interface EvidenceKey {
  time: number;
  source: string;
  name: string;
  id: string;
}

/**
 * Events of one identity bucket that match the same counted rules (GroupedScan.counted), as counts: enough for those
 * rules' findings (detections/finding.ts EvidenceSummary) without the events.
 */
export interface RuleHits {
  rules: string[];
  identity: BucketIdentity;
  /** Each event name with its first event's key. */
  names: { name: string; key: EvidenceKey }[];
  count: number;
  /** How many did not fail. */
  succeeded: number;
  /** The first events' keys, in event order (at most MAX_EVIDENCE_IDS). */
  first: EvidenceKey[];
  /** The first event whole. */
  record: CloudTrailRecord;
}

/**
 * One threshold finding a store computed: the burst of the first window in which the rule's (distinct) count was
 * reached in one session and group (engine/detections/detector.ts; across sessions: cross-session.ts), as its finding
 * needs it (detections/finding.ts EvidenceSummary).
 */
export interface BurstHit {
  rule: string;
  /** The session the finding is of: its base key (sessionKeyOf) and the time of one of its events. */
  session: { key: string; time: number };
  /** Counted across sessions: the burst holds other sessions' events ('other'), some before the qualifying one. */
  across?: 'earlier' | 'other';
  /** Events in the burst. */
  count: number;
  /** How many of them did not fail. */
  succeeded: number;
  /** The (distinct) count in the window when the threshold was reached. */
  reached: number;
  /** The burst's first events' keys, in event order (at most MAX_EVIDENCE_IDS). */
  first: EvidenceKey[];
  /** The burst's first event whole. */
  record: CloudTrailRecord;
}

/**
 * A source that can group and filter before Cartographer reads (Athena): a scan returns session buckets, the
 * events the rules can fire on and the digest's facts, instead of every row. `scan` throws a SourceError of kind
 * `capped` or `timeout` when it cannot answer the whole range: the caller retries with smaller ranges and says so.
 */
export interface AggregatingSource extends RecordSource {
  scan(request: GroupedScanRequest, options?: ReadOptions): Promise<GroupedScan>;
  /** The whole events of sessions, given their buckets' `ref`s and time range (for summaries and raw events). */
  sessionEvents(
    sessions: { refs: unknown[]; first: number; last: number }[],
    scope: { accounts?: string[]; regions?: string[] },
    options?: ReadOptions,
  ): Promise<{ items: SourceItem[]; stats: GroupedScanStats }>;
  /** The digest's facts of earlier days and the quarter hours (UTC, `YYYY-MM-DDTHH:MM`) that had events. */
  baseline(
    request: { since: Date; until: Date; accounts?: string[]; regions?: string[] },
    options?: ReadOptions,
  ): Promise<{
    facts: GroupedFacts;
    identities: BucketIdentity[];
    quarters: string[];
    stats: GroupedScanStats;
  }>;
}

export function isAggregating(source: RecordSource): source is AggregatingSource {
  return typeof (source as Partial<AggregatingSource>).scan === 'function';
}
