/**
 * Where lookups read CloudTrail: local files (the embedded default) or the AWS sources, built by
 * compose/sources.ts from the source settings on first use, so a bot that only reads local files
 * needs no AWS configuration and never loads the AWS SDK.
 */
import type { SourceProvider } from '../bot/lookup/analyzer.ts';
import type { CartographerConfig } from '../config/config.ts';
import type { RecordSource, SourceName } from '../engine/source.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';

export function createSourceProvider(
  localPaths: string[],
  settings: () => CartographerConfig,
): SourceProvider {
  const cache = new Map<SourceName, Promise<RecordSource>>();
  return (name) => {
    let source = cache.get(name);
    if (!source) {
      source =
        name === 'local' ? Promise.resolve(createLocalSource(localPaths)) : loadAwsSource(name, settings);
      // A failed load (bad config) is not cached: fixing the setting and retrying must work.
      source.catch(() => cache.delete(name));
      cache.set(name, source);
    }
    return source;
  };
}

async function loadAwsSource(name: SourceName, settings: () => CartographerConfig): Promise<RecordSource> {
  const { createSource } = await import('./sources.ts');
  return createSource(name, settings());
}
