/**
 * Where lookups read CloudTrail: local files (the embedded default) or the AWS sources, built by
 * config/source-factory.ts from the environment on first use, so a bot that only reads local files
 * needs no AWS configuration and never loads the AWS SDK.
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
  const [{ loadConfig }, { createSource }] = await Promise.all([
    import('../../config/config.ts'),
    import('../../config/source-factory.ts'),
  ]);
  return createSource(name, loadConfig(process.env));
}
