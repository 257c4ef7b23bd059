/**
 * Enrichment of a group of events (a signal or a session): how many events per access level, the union of
 * risk categories, and the ATT&CK techniques with their tactics and sources merged. Pure; order-independent.
 */
import type { EngineEvent, MitreTechnique, RiskCategory, Signal } from '../engine/model.ts';

export interface EnrichmentSummary {
  accessLevels: Record<string, number>;
  riskCategories: RiskCategory[];
  mitre: MitreTechnique[];
}

const RISK_ORDER: RiskCategory[] = [
  'privilege-escalation',
  'credentials-exposure',
  'data-exfiltration',
  'resource-exposure',
  'infrastructure-modification',
];

export function summarizeEnrichment(events: readonly EngineEvent[]): EnrichmentSummary {
  return uniformSummary(events) ?? mergedSummary(events);
}

function mergedSummary(events: readonly EngineEvent[]): EnrichmentSummary {
  const accessLevels: Record<string, number> = {};
  const risks = new Set<RiskCategory>();
  const techniques = new Map<string, { name: string; tactics: Set<string>; sources: Set<string> }>();
  for (const event of events) {
    const e = event.enrichment;
    if (!e) continue;
    if (e.accessLevel) accessLevels[e.accessLevel] = (accessLevels[e.accessLevel] ?? 0) + 1;
    for (const r of e.riskCategories) risks.add(r);
    for (const t of e.mitre) {
      let merged = techniques.get(t.id);
      if (!merged) {
        merged = { name: t.name, tactics: new Set(), sources: new Set() };
        techniques.set(t.id, merged);
      }
      for (const tactic of t.tactics) merged.tactics.add(tactic);
      for (const s of t.sources) merged.sources.add(s);
    }
  }
  return {
    accessLevels,
    riskCategories: RISK_ORDER.filter((r) => risks.has(r)),
    mitre: [...techniques.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, t]) => ({
        id,
        name: t.name,
        tactics: [...t.tactics].sort(),
        sources: [...t.sources].sort(),
      })),
  };
}

/**
 * Events of one (source, name) share their frozen riskCategories and mitre arrays (enrichment/index.ts), and most
 * signals are a few events of one action: when every event shares them, the summary's lists are computed once
 * per array and shared (frozen), and only the access-level count is built. Undefined when the events differ.
 */
function uniformSummary(events: readonly EngineEvent[]): EnrichmentSummary | undefined {
  let first: EngineEvent['enrichment'];
  let count = 0;
  for (const event of events) {
    const e = event.enrichment;
    if (!e) continue;
    if (!first) first = e;
    else if (
      e.riskCategories !== first.riskCategories ||
      e.mitre !== first.mitre ||
      e.accessLevel !== first.accessLevel
    )
      return undefined;
    count++;
  }
  if (!first || !Object.isFrozen(first.riskCategories) || !Object.isFrozen(first.mitre)) return undefined;
  const accessLevels: Record<string, number> = {};
  if (first.accessLevel) accessLevels[first.accessLevel] = count;
  return { accessLevels, ...listsOf(first.riskCategories, first.mitre) };
}

type SummaryLists = Pick<EnrichmentSummary, 'riskCategories' | 'mitre'>;
const listsByMitre = new WeakMap<readonly MitreTechnique[], WeakMap<readonly RiskCategory[], SummaryLists>>();

function listsOf(risks: readonly RiskCategory[], mitre: readonly MitreTechnique[]): SummaryLists {
  let byRisk = listsByMitre.get(mitre);
  if (!byRisk) {
    byRisk = new WeakMap();
    listsByMitre.set(mitre, byRisk);
  }
  let lists = byRisk.get(risks);
  if (!lists) {
    const { riskCategories, mitre: merged } = mergedSummary([
      { enrichment: { riskCategories: risks, mitre } } as unknown as EngineEvent,
    ]);
    lists = Object.freeze({
      riskCategories: Object.freeze(riskCategories) as RiskCategory[],
      mitre: Object.freeze(
        merged.map((t) =>
          Object.freeze({ ...t, tactics: Object.freeze(t.tactics), sources: Object.freeze(t.sources) }),
        ),
      ) as MitreTechnique[],
    });
    byRisk.set(risks, lists);
  }
  return lists;
}

/**
 * Puts the enrichment summary of each signal's member events on `signal.details.enrichment`
 * (one pass over the session's events; for the pipeline after signal mapping).
 */
export function attachSignalEnrichment(signals: readonly Signal[], events: readonly EngineEvent[]): void {
  const byId = new Map<string, EngineEvent>();
  for (const e of events) byId.set(e.id, e);
  for (const signal of signals) {
    const members: EngineEvent[] = [];
    for (const id of signal.eventIds) {
      const e = byId.get(id);
      if (e) members.push(e);
    }
    signal.details.enrichment = summarizeEnrichment(members);
  }
}
