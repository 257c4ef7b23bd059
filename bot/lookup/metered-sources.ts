/**
 * Source reads as metrics: every RecordSource the bot reads (lookups and scheduled scans) counts the records it
 * yields (cartographer_events_scanned_total), the bytes Athena reports (cartographer_athena_bytes_scanned_total)
 * and how long the read took (cartographer_scan_duration_seconds, job=read:<source>).
 */
import { metrics } from '../../adapters/observability/metrics.ts';
import type { ReadOptions, RecordSource, SourceItem, SourceQuery } from '../../engine/source.ts';
import type { SourceProvider } from './analyzer.ts';

export function meteredSources(provider: SourceProvider): SourceProvider {
  const wrapped = new WeakMap<RecordSource, RecordSource>();
  return async (name) => {
    const source = await provider(name);
    let metered = wrapped.get(source);
    if (!metered) {
      metered = { name: source.name, read: (query, options) => meteredRead(source, query, options) };
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
