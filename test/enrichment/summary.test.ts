import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { EngineEvent, EventEnrichment, MitreTechnique, RiskCategory } from '../../engine/model.ts';
import { summarizeEnrichment } from '../../enrichment/index.ts';

const t1: MitreTechnique = {
  id: 'T1098',
  name: 'Account Manipulation',
  tactics: ['Persistence', 'Privilege Escalation'],
  sources: ['b', 'a'],
};
const t0: MitreTechnique = {
  id: 'T1078',
  name: 'Valid Accounts',
  tactics: ['Defense Evasion'],
  sources: ['a'],
};
const mitre = Object.freeze([
  t1,
  t0,
  { ...t1, tactics: ['Persistence'], sources: ['c'] },
]) as MitreTechnique[];
const risks = Object.freeze(['data-exfiltration', 'privilege-escalation']) as RiskCategory[];

const event = (enrichment: Partial<EventEnrichment> | undefined): EngineEvent =>
  ({ enrichment }) as unknown as EngineEvent;
/** The same facts in fresh (unshared, unfrozen) arrays: the summary must not depend on sharing. */
const copied = (e: EngineEvent): EngineEvent =>
  e.enrichment
    ? event({
        ...e.enrichment,
        riskCategories: [...e.enrichment.riskCategories],
        mitre: e.enrichment.mitre.map((t) => ({ ...t })),
      })
    : e;

describe('summarizeEnrichment', () => {
  it('gives the same summary for events sharing frozen facts as for the same facts unshared', () => {
    const shared = { accessLevel: 'Write', riskCategories: risks, mitre } as Partial<EventEnrichment>;
    const cases: EngineEvent[][] = [
      [event(shared)],
      [event(shared), event(undefined), event(shared), event(shared)],
      [event({ ...shared, accessLevel: undefined })],
      [event(shared), event({ ...shared, accessLevel: 'Read' })],
      [event(shared), event({ ...shared, mitre: Object.freeze([]) as unknown as MitreTechnique[] })],
      [event(undefined)],
      [],
    ];
    for (const events of cases) {
      const summary = summarizeEnrichment(events);
      expect(summary).toEqual(summarizeEnrichment(events.map(copied)));
      expect(JSON.stringify(summary)).toBe(JSON.stringify(summarizeEnrichment(events.map(copied))));
    }
    expect(summarizeEnrichment([event(shared), event(shared)])).toEqual({
      accessLevels: { Write: 2 },
      riskCategories: ['privilege-escalation', 'data-exfiltration'],
      mitre: [
        { id: 'T1078', name: 'Valid Accounts', tactics: ['Defense Evasion'], sources: ['a'] },
        {
          id: 'T1098',
          name: 'Account Manipulation',
          tactics: ['Persistence', 'Privilege Escalation'],
          sources: ['a', 'b', 'c'],
        },
      ],
    });
  });

  it('merges any mix of shared facts as it merges the same facts unshared (remembered combinations)', () => {
    // A few frozen fact sets as the enricher shares them; technique ids overlap between them (with another name
    // and other tactics), so the first appearance decides the name and the order the lists are merged in.
    const frozen = (ts: MitreTechnique[]) =>
      Object.freeze(ts.map((t) => Object.freeze(t))) as MitreTechnique[];
    const facts: Partial<EventEnrichment>[] = [
      { accessLevel: 'Write', riskCategories: risks, mitre },
      {
        accessLevel: 'Read',
        riskCategories: Object.freeze([]) as unknown as RiskCategory[],
        mitre: frozen([t0]),
      },
      {
        accessLevel: 'List',
        riskCategories: Object.freeze(['resource-exposure']) as RiskCategory[],
        mitre: frozen([{ ...t0, name: 'Other name', tactics: ['Persistence'], sources: ['z'] }, t1]),
      },
      {
        riskCategories: Object.freeze([]) as unknown as RiskCategory[],
        mitre: Object.freeze([]) as unknown as MitreTechnique[],
      },
      { accessLevel: 'Write', riskCategories: ['credentials-exposure'], mitre: [t1] }, // not frozen
    ];
    const pick = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: facts.length - 1 }));
    fc.assert(
      fc.property(fc.array(pick, { maxLength: 12 }), (picks) => {
        const events = picks.map((i) => event(i === undefined ? undefined : facts[i]));
        const expected = JSON.stringify(summarizeEnrichment(events.map(copied)));
        expect(JSON.stringify(summarizeEnrichment(events))).toBe(expected);
        expect(JSON.stringify(summarizeEnrichment(events))).toBe(expected); // remembered the second time
      }),
      { numRuns: 300 },
    );
  });
});
