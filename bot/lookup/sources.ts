/**
 * Where lookups read CloudTrail: local files (the embedded default) or the AWS sources, which are
 * loaded on first use so a bot that only reads local files needs no AWS configuration.
 */

import type { RecordSource, SourceName } from '../../engine/source.ts';
import { createLocalSource } from '../../engine/sources/local-source.ts';
import type { SourceProvider } from './analyzer.ts';

export function defaultSourceProvider(localPaths: string[]): SourceProvider {
  const cache = new Map<SourceName, Promise<RecordSource>>();
  return (name) => {
    let source = cache.get(name);
    if (!source) {
      source = name === 'local' ? Promise.resolve(createLocalSource(localPaths)) : loadAwsSource(name);
      // A failed load (bad config) is not cached: fixing the environment and retrying must work.
      source.catch(() => cache.delete(name));
      cache.set(name, source);
    }
    return source;
  };
}

async function loadAwsSource(name: SourceName): Promise<RecordSource> {
  const configModule = '../../config/config.ts';
  const factoryModule = '../../config/source-factory.ts';
  const { loadConfig } = (await import(configModule)) as { loadConfig: (env?: NodeJS.ProcessEnv) => unknown };
  const { createSource } = (await import(factoryModule)) as {
    createSource: (n: SourceName, c: unknown) => Promise<RecordSource>;
  };
  return createSource(name, loadConfig(process.env));
}
