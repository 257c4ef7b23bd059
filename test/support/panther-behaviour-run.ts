/** Runs generated behaviour cases (test/support/panther-behaviour.ts) each on its own through the pipeline. */
import type { CartographerDetector } from '../../engine/detections/index.ts';
import type { Enricher } from '../../engine/stages.ts';
import { type BehaviourSpec, type Expect, expand, loadBehaviours } from './panther-behaviour.ts';
import { evaluateCase } from './panther-cases.ts';

export interface BehaviourRow {
  spec: BehaviourSpec;
  total: number;
  /** Our rules raising a finding on the firing variants. */
  ours: string[];
  failures: { variant: string; want: Expect; got: string; log: Record<string, unknown> }[];
}

export async function runBehaviours(
  detector: CartographerDetector,
  enricher: () => Promise<Enricher>,
  only: string[] = [],
): Promise<BehaviourRow[]> {
  const rows: BehaviourRow[] = [];
  for (const spec of loadBehaviours()) {
    if (only.length && !only.includes(spec.panther)) continue;
    const row: BehaviourRow = { spec, total: 0, ours: [], failures: [] };
    const ours = new Set<string>();
    for (const c of expand(spec)) {
      const r = await evaluateCase(c, detector, enricher);
      row.total++;
      const ok = c.want === 'alarm' ? r.alarmed : c.want === 'flag' ? r.flagged : !r.alarmed;
      if (c.want !== 'quiet') for (const f of r.findings) ours.add(f.replace(/:[a-z]+$/, ''));
      if (!ok)
        row.failures.push({
          variant: c.variant,
          want: c.want,
          got: r.findings.join(' ') || 'nothing',
          log: c.log,
        });
    }
    row.ours = [...ours].sort();
    rows.push(row);
  }
  return rows;
}
