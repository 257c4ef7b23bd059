/**
 * Builds the RecordSource a configuration asks for. The CLI (`--source`) and the bot call this; nothing else needs
 * to know which adapter sits behind `local`, `lookup` or `athena`. AWS adapters are imported only when chosen, so the
 * local default starts without loading the AWS SDK.
 */

import {
  type CartographerConfig,
  ConfigError,
  requireAthenaSettings,
  requireLookupSettings,
} from '../config/config.ts';
import type { RecordSource, SourceName } from '../engine/source.ts';

export async function createSource(name: SourceName, config: CartographerConfig): Promise<RecordSource> {
  switch (name) {
    case 'local': {
      if (config.localPaths.length === 0) {
        throw new ConfigError(
          'CARTOGRAPHER_LOCAL_PATH is not set: the local source needs files or directories of CloudTrail logs.',
          'CARTOGRAPHER_LOCAL_PATH',
        );
      }
      const { createLocalSource } = await import('../engine/sources/local-source.ts');
      return createLocalSource(config.localPaths);
    }
    case 'lookup': {
      requireLookupSettings(config);
      const { createLookupSource } = await import('../adapters/aws/lookup-source.ts');
      return createLookupSource({
        regions: config.regions,
        accounts: config.accounts,
        homeRegion: config.awsRegion,
        roleSessionName: config.roleSessionName,
        maxEvents: config.lookup.maxEvents,
        requestsPerSecond: config.lookup.requestsPerSecond,
        timeoutMs: config.lookup.timeoutSeconds * 1000,
      });
    }
    case 'athena': {
      requireAthenaSettings(config);
      const { createAthenaSource } = await import('../adapters/aws/athena-source.ts');
      const a = config.athena;
      return createAthenaSource({
        region: a.region ?? config.awsRegion,
        catalog: a.catalog,
        database: a.database!,
        table: a.table,
        tableStyle: a.tableStyle,
        workgroup: a.workgroup,
        outputLocation: a.outputLocation,
        // Partition filters only from explicit configuration: the default region list would hide opt-in regions.
        regions: config.regionsConfigured ? config.regions : undefined,
        accounts: config.accounts.length ? config.accounts.map((x) => x.id) : undefined,
        maxEvents: a.maxEvents,
        timeoutMs: a.timeoutSeconds * 1000,
        pricePerTbUsd: a.pricePerTbUsd,
        defaultLookbackDays: a.defaultLookbackDays,
        maxConcurrentQueries: a.maxConcurrentQueries,
        ...(a.dailyBudgetGb !== undefined ? { dailyByteBudget: a.dailyBudgetGb * 1e9 } : {}),
      });
    }
    default:
      throw new ConfigError(
        `CARTOGRAPHER_SOURCE: unknown source ${JSON.stringify(name)} (use local, lookup or athena)`,
        'CARTOGRAPHER_SOURCE',
      );
  }
}
