/** What producing a digest takes and gives (produce.ts for every source, grouped.ts for stores that group). */
import type { InputsSummary } from '../model.ts';
import type { GroupedScanStats, SourceItem, SourceQuery } from '../source.ts';
import type { Digest, DigestSessionInput } from './build.ts';
import type { FactSets } from './facts.ts';

export interface ProduceOptions {
  date?: string;
  defaultDate: string;
  timeZone: string;
  baselineDays: number;
  /** A stored baseline (the bot's), merged with the earlier days found in the source itself. */
  storedBaseline?: (fromDay: string, beforeDay: string) => Promise<{ facts: FactSets; days: number }>;
  keepRecords?: boolean;
  /** Base query (accounts, regions…); the day bounds are added here. */
  query?: SourceQuery;
  signal?: AbortSignal;
  /** How to read a query (default `source.read`); scans pass one that pulls only what detections need. */
  read?: (query: SourceQuery, signal?: AbortSignal) => AsyncIterable<SourceItem>;
}

export interface ProducedDigest {
  digest: Digest;
  notes: string[];
  /** The day's sessions by key (with records when `keepRecords`). */
  sessions: Map<string, DigestSessionInput>;
  inputs: InputsSummary;
  truncated?: string;
  /** Grouped sources (Athena): share of the day covered, 1 = all. */
  coverage?: number;
  /** Grouped sources: queries, rows pulled, bytes scanned and cost. */
  stats?: GroupedScanStats;
}
