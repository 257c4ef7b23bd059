/**
 * Source reads as metrics: every RecordSource the bot reads (lookups and scheduled scans) counts the records it
 * yields (cartographer_events_scanned_total), the bytes Athena reports (cartographer_athena_bytes_scanned_total)
 * and how long the read took (cartographer_scan_duration_seconds, job=read:<source>). A source that groups in SQL
 * (Athena's scan, session events and baseline, engine/source.ts AggregatingSource) keeps those methods, and the bytes
 * and rows of each of their answers are counted the same way.
 */
import { metrics } from '../../adapters/observability/metrics.ts';
import {
  type AggregatingSource,
  type GroupedScanStats,
  isAggregating,
  type ReadOptions,
  type RecordSource,
  type SourceItem,
  type SourceQuery,
} from '../../engine/source.ts';
import type { SourceProvider } from './analyzer.ts';

export function meteredSources(provider: SourceProvider): SourceProvider {
  const wrapped = new WeakMap<RecordSource, RecordSource>();
  return async (name) => {
    const source = await provider(name);
    let metered = wrapped.get(source);
    if (!metered) {
      const read: RecordSource = {
        name: source.name,
        read: (query, options) => meteredRead(source, query, options),
      };
      metered = isAggregating(source) ? meteredAggregating(source, read) : read;
      wrapped.set(source, metered);
    }
    return metered;
  };
}

async function* meteredRead(
  source: RecordSource,
  query: SourceQuery,
  options: ReadOptions | undefined,
): AsyncGenerator<SourceItem> {
  const started = performance.now();
  let records = 0;
  let outcome = 'ok';
  try {
    for await (const item of source.read(query, options)) {
      if (item.kind === 'record') records++;
      else if (item.kind === 'stats' && item.bytesScanned) metrics.athenaBytesScanned.inc(item.bytesScanned);
      yield item;
    }
  } catch (err) {
    outcome = 'error';
    throw err;
  } finally {
    metrics.eventsScanned.inc({ source: source.name }, records);
    metrics.scanDuration.observe(
      { job: `read:${source.name}`, outcome },
      (performance.now() - started) / 1000,
    );
  }
}

function meteredAggregating(source: AggregatingSource, read: RecordSource): AggregatingSource {
  const count = async <T extends { stats: GroupedScanStats }>(
    job: string,
    answer: () => Promise<T>,
  ): Promise<T> => {
    const started = performance.now();
    let outcome = 'ok';
    try {
      const out = await answer();
      metrics.athenaBytesScanned.inc(out.stats.bytesScanned);
      metrics.eventsScanned.inc({ source: source.name }, out.stats.eventRows);
      return out;
    } catch (err) {
      outcome = 'error';
      throw err;
    } finally {
      metrics.scanDuration.observe(
        { job: `${job}:${source.name}`, outcome },
        (performance.now() - started) / 1000,
      );
    }
  };
  return {
    ...read,
    scan: (request, options) => count('scan', () => source.scan(request, options)),
    sessionEvents: (sessions, scope, options) =>
      count('session-events', () => source.sessionEvents(sessions, scope, options)),
    baseline: (request, options) => count('baseline', () => source.baseline(request, options)),
  };
}
