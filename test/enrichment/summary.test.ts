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
});
