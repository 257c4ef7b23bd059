/** Runs generated behaviour cases (test/support/panther-behaviour.ts) each on its own through the pipeline. */
import type { CartographerDetector } from '../../engine/detections/index.ts';
import type { Enricher } from '../../engine/stages.ts';
import { type BehaviourSpec, type Expect, expand, loadBehaviours } from './panther-behaviour.ts';
import { evaluateCase } from './panther-cases.ts';

export interface BehaviourRow {
  spec: BehaviourSpec;
  total: number;
  /** Our rules raising a finding on at least half of the variants of one of its firing branches. */
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
    // Per branch (fires#N): how many of its variants each of our rules answered.
    const branches = new Map<string, { variants: number; by: Map<string, number> }>();
    for (const c of expand(spec)) {
      const r = await evaluateCase(c, detector, enricher);
      row.total++;
      const ok = c.want === 'alarm' ? r.alarmed : c.want === 'flag' ? r.flagged : !r.alarmed;
      if (c.want !== 'quiet') {
        const key = c.variant.split(' ')[0]!;
        const b = branches.get(key) ?? { variants: 0, by: new Map<string, number>() };
        branches.set(key, b);
        b.variants++;
        for (const id of new Set(r.findings.map((f) => f.replace(/:[a-z]+$/, ''))))
          b.by.set(id, (b.by.get(id) ?? 0) + 1);
      }
      if (!ok)
        row.failures.push({
          variant: c.variant,
          want: c.want,
          got: r.findings.join(' ') || 'nothing',
          log: c.log,
        });
    }
    // The rules that answer the behaviour: in some branch, on at least half of its variants.
    const ours = new Set<string>();
    for (const b of branches.values()) for (const [id, n] of b.by) if (n * 2 >= b.variants) ours.add(id);
    row.ours = [...ours].sort();
    rows.push(row);
  }
  return rows;
}
