/**
 * Panther's CloudTrail rules as behaviours (rules/panther-behaviour/behaviours.yaml): every record their logic would
 * flag, varied over what the logic leaves open (caller type, region, user agent, address, a refused call, lower-cased
 * keys), must raise a finding (above info where Panther rates the behaviour medium or worse), and every near-miss the
 * logic calls benign must stay at most info. Generated records, not Panther's test events.
 */
import { describe, expect, it } from 'vitest';
import { createDetector } from '../../adapters/rules/detection-rules.ts';
import { createEnricherFactory } from '../../enrichment/index.ts';
import { expand, loadBehaviours } from '../support/panther-behaviour.ts';
import { runBehaviours } from '../support/panther-behaviour-run.ts';

describe("Panther's CloudTrail rule behaviours, generated", () => {
  it('describes every rule, each with generated variants or the reason none can be generated', () => {
    const specs = loadBehaviours();
    expect(new Set(specs.map((s) => s.panther)).size).toBe(specs.length);
    expect(specs.filter((s) => !s.retired).length).toBe(149);
    for (const s of specs) {
      const cases = expand(s);
      if (s.notGenerated) expect(cases, s.panther).toHaveLength(0);
      else
        expect(
          cases.some((c) => c.want !== 'quiet'),
          s.panther,
        ).toBe(true);
    }
  });

  it('flags every variant the logic flags and keeps the near-misses at most info', async () => {
    const detector = await createDetector();
    const makeEnricher = await createEnricherFactory();
    const rows = await runBehaviours(detector, async () => makeEnricher());
    const failures = rows.flatMap((r) =>
      r.failures.map((f) => `${r.spec.panther} | ${f.variant} | want ${f.want} | got ${f.got}`),
    );
    expect(rows.reduce((n, r) => n + r.total, 0)).toBeGreaterThan(4500);
    expect(failures).toEqual([]);
  }, 300_000);
});
