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
  return sharedSummary(events) ?? mergedSummary(events);
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
 * Events of one (source, name) share their frozen riskCategories and mitre arrays (enrichment/index.ts), so a
 * signal's events carry a few distinct arrays: the summary's lists depend only on which arrays (the techniques'
 * first appearance by the order the mitre arrays first appear), so they are merged once per combination and
 * shared (frozen); only the access-level count is built per signal. Undefined when an array is not frozen (not
 * the enricher's), when there are too many distinct ones, or when no event is enriched.
 */
function sharedSummary(events: readonly EngineEvent[]): EnrichmentSummary | undefined {
  const accessLevels: Record<string, number> = {};
  const risks: (readonly RiskCategory[])[] = [];
  const mitres: (readonly MitreTechnique[])[] = [];
  let lastRisk: readonly RiskCategory[] | undefined;
  let lastMitre: readonly MitreTechnique[] | undefined;
  for (const event of events) {
    const e = event.enrichment;
    if (!e) continue;
    if (e.accessLevel) accessLevels[e.accessLevel] = (accessLevels[e.accessLevel] ?? 0) + 1;
    if (e.riskCategories !== lastRisk) {
      lastRisk = e.riskCategories;
      if (!risks.includes(lastRisk) && !addShared(risks, lastRisk)) return undefined;
    }
    if (e.mitre !== lastMitre) {
      lastMitre = e.mitre;
      if (!mitres.includes(lastMitre) && !addShared(mitres, lastMitre)) return undefined;
    }
  }
  if (mitres.length === 0) return undefined;
  return { accessLevels, ...combinedLists(risks, mitres) };
}

/** Adds a frozen array to the distinct ones; false when it is not frozen or there are too many. */
function addShared<T>(list: T[], value: T): boolean {
  if (!Object.isFrozen(value) || list.length >= MAX_DISTINCT) return false;
  list.push(value);
  return true;
}

const MAX_DISTINCT = 32;
const arrayIds = new WeakMap<object, number>();
let nextArrayId = 0;
const combined = new Map<string, SummaryLists>();
const MAX_COMBINED = 10_000;

function arrayId(a: object): number {
  let id = arrayIds.get(a);
  if (id === undefined) {
    id = nextArrayId++;
    arrayIds.set(a, id);
  }
  return id;
}

function combinedLists(
  risks: readonly (readonly RiskCategory[])[],
  mitres: readonly (readonly MitreTechnique[])[],
): SummaryLists {
  if (risks.length === 1 && mitres.length === 1) return listsOf(risks[0]!, mitres[0]!);
  let key = '';
  for (const m of mitres) key += `${arrayId(m)},`;
  key += '|';
  for (const r of risks) key += `${arrayId(r)},`;
  let lists = combined.get(key);
  if (!lists) {
    const parts = [
      ...mitres.map((mitre) => ({ enrichment: { riskCategories: [], mitre } })),
      ...risks.map((riskCategories) => ({ enrichment: { riskCategories, mitre: [] } })),
    ] as unknown as EngineEvent[];
    lists = frozenLists(mergedSummary(parts));
    if (combined.size >= MAX_COMBINED) combined.clear();
    combined.set(key, lists);
  }
  return lists;
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
    lists = frozenLists(
      mergedSummary([{ enrichment: { riskCategories: risks, mitre } } as unknown as EngineEvent]),
    );
    byRisk.set(risks, lists);
  }
  return lists;
}

function frozenLists({ riskCategories, mitre }: SummaryLists): SummaryLists {
  return Object.freeze({
    riskCategories: Object.freeze(riskCategories) as RiskCategory[],
    mitre: Object.freeze(
      mitre.map((t) =>
        Object.freeze({ ...t, tactics: Object.freeze(t.tactics), sources: Object.freeze(t.sources) }),
      ),
    ) as MitreTechnique[],
  });
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
