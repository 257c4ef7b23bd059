/**
 * A grouped scan that never answers silently partial: a range the store cannot answer whole (capped rows, time-out)
 * is retried as two halves, down to a smallest part; what could not be scanned is listed with the reason, and the
 * share of the range covered is a number the caller shows ("incomplete: 62.5 % covered").
 */
import {
  type AggregatingSource,
  addRowKinds,
  type GroupedScan,
  type GroupedScanRequest,
  type ReadOptions,
} from './source.ts';

export interface ScanPart {
  since: number;
  until: number;
  scan: GroupedScan;
}

export interface FailedPart {
  since: number;
  until: number;
  reason: string;
}

export interface CoveredScan {
  parts: ScanPart[];
  failed: FailedPart[];
  /** Share of [since, until] covered by successful parts, 0–1. */
  coverage: number;
}

/** Errors a smaller range can avoid: the store's row cap and its time-out (SourceError kinds). */
export function isRangeTooLarge(err: unknown): boolean {
  const kind = (err as { kind?: unknown })?.kind;
  return kind === 'capped' || kind === 'timeout';
}

export async function scanCovering(
  source: AggregatingSource,
  request: GroupedScanRequest,
  options: ReadOptions & { minPartMs: number; stopAtFirstFailure?: boolean },
): Promise<CoveredScan> {
  const out: CoveredScan = { parts: [], failed: [], coverage: 0 };
  const total = Math.max(1, request.until.getTime() - request.since.getTime());
  let stopped = false;
  let split = false;
  const attempt = async (since: number, until: number): Promise<void> => {
    if (stopped) return;
    try {
      const part = { ...request, since: new Date(since), until: new Date(until) };
      const scan = await source.scan(split ? { ...part, bursts: false } : part, options);
      out.parts.push({ since, until, scan });
    } catch (err) {
      if (!isRangeTooLarge(err)) throw err;
      if (until - since <= options.minPartMs) {
        out.failed.push({ since, until, reason: (err as Error).message });
        if (options.stopAtFirstFailure) stopped = true;
        return;
      }
      const mid = since + Math.floor((until - since) / 2 / 1000) * 1000;
      // Parts are analysed together: sessions may span them, so none computes threshold findings on its own.
      split = true;
      await attempt(since, mid);
      await attempt(mid + 1000, until);
    }
  };
  await attempt(request.since.getTime(), request.until.getTime());
  const covered = out.parts.reduce((n, p) => n + (p.until - p.since), 0);
  out.coverage = Math.min(1, covered / total);
  return out;
}

/** Sum of the parts' statistics. */
export function scanStats(parts: readonly ScanPart[]): GroupedScan['stats'] {
  const s: GroupedScan['stats'] = { queries: 0, bytesScanned: 0, costUsd: 0, rows: 0, eventRows: 0 };
  for (const p of parts) {
    s.queries += p.scan.stats.queries;
    s.bytesScanned += p.scan.stats.bytesScanned;
    s.costUsd += p.scan.stats.costUsd;
    s.rows += p.scan.stats.rows;
    s.eventRows += p.scan.stats.eventRows;
    addRowKinds(s, p.scan.stats);
  }
  return s;
}
