/** The one wording of what an Athena answer cost: "Athena: 53.8 MB scanned, $0.0003 (3 queries)". */
import { formatBytes } from './athena-query.ts';

export function athenaCostText(stats: { bytesScanned?: number; costUsd?: number; queries?: number }): string {
  const queries =
    stats.queries === undefined ? '' : ` (${stats.queries} ${stats.queries === 1 ? 'query' : 'queries'})`;
  return `Athena: ${formatBytes(stats.bytesScanned ?? 0)} scanned, $${(stats.costUsd ?? 0).toFixed(4)}${queries}`;
}
