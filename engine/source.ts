/**
 * One interface for every place CloudTrail comes from: local files (the embedded default),
 * the LookupEvents API and Athena. The engine and the bot only see this.
 */
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
