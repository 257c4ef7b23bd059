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

type SummaryLists = Pick<EnrichmentSummary, 'riskCategories' | 'mitre'>;

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

/** Any events (unfrozen facts too): every event's lists are merged afresh. */
function mergedSummary(events: readonly EngineEvent[]): EnrichmentSummary {
  const accessLevels: Record<string, number> = {};
  const risks: (readonly RiskCategory[])[] = [];
  const mitres: (readonly MitreTechnique[])[] = [];
  for (const event of events) {
    const e = event.enrichment;
    if (!e) continue;
    if (e.accessLevel) accessLevels[e.accessLevel] = (accessLevels[e.accessLevel] ?? 0) + 1;
    risks.push(e.riskCategories);
    mitres.push(e.mitre);
  }
  const { riskCategories, mitre } = mergeLists(risks, mitres);
  return { accessLevels, riskCategories, mitre };
}

interface MergedTechnique {
  name: string;
  tactics: Set<string>;
  sources: Set<string>;
}

/**
 * The union of risk lists (in RISK_ORDER) and of technique lists (by id; the name of an id's first appearance,
 * tactics and sources merged and sorted). The one home of the merge rules: both summaries end here.
 */
function mergeLists(
  riskLists: readonly (readonly RiskCategory[])[],
  mitreLists: readonly (readonly MitreTechnique[])[],
): SummaryLists {
  const risks = new Set<RiskCategory>();
  for (const list of riskLists) for (const r of list) risks.add(r);
  const techniques = new Map<string, MergedTechnique>();
  for (const list of mitreLists) {
    for (const t of list) {
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
 * Events of one (source, name) share their frozen riskCategories and mitre arrays, and equal lists are one array
 * (enrichment/index.ts), so a signal's events carry a few distinct arrays: the summary's lists depend only on
 * which arrays (the techniques' first appearance by the order the mitre arrays first appear), so they are merged
 * once per combination and shared (frozen); only the access-level count is built per signal. Undefined when an
 * array is not frozen (not the enricher's), when there are too many distinct ones, or when no event is enriched.
 */
function sharedSummary(events: readonly EngineEvent[]): EnrichmentSummary | undefined {
  const accessLevels: Record<string, number> = {};
  const risks: (readonly RiskCategory[])[] = [];
  const mitres: (readonly MitreTechnique[])[] = [];
  let lastRisk: readonly RiskCategory[] | undefined;
  let lastMitre: readonly MitreTechnique[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!.enrichment;
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
  const lists = combinedLists(risks, mitres);
  return { accessLevels, riskCategories: lists.riskCategories, mitre: lists.mitre };
}

/** Adds a frozen array to the distinct ones; false when it is not frozen or there are too many. */
function addShared<T>(list: T[], value: T): boolean {
  if (!Object.isFrozen(value) || list.length >= MAX_DISTINCT) return false;
  list.push(value);
  return true;
}

const MAX_DISTINCT = 32;

/**
 * The one cache of merged lists: a trie keyed by the arrays themselves (the mitre arrays in order of first
 * appearance, RISKS, then the risk arrays), so no key text is built per signal. Bounded: forgotten whole past
 * MAX_NODES.
 */
interface ListsNode {
  readonly next: Map<object, ListsNode>;
  lists: SummaryLists | undefined;
}

const MAX_NODES = 20_000;
/** The step between the mitre arrays and the risk arrays of a path. */
const RISKS = Object.freeze({});
let root: ListsNode = newNode();
let nodes = 0;

function newNode(): ListsNode {
  return { next: new Map(), lists: undefined };
}

function combinedLists(
  risks: readonly (readonly RiskCategory[])[],
  mitres: readonly (readonly MitreTechnique[])[],
): SummaryLists {
  if (nodes > MAX_NODES) {
    root = newNode();
    nodes = 0;
  }
  let node = root;
  for (let i = 0; i < mitres.length; i++) node = node.next.get(mitres[i]!) ?? childOf(node, mitres[i]!);
  node = node.next.get(RISKS) ?? childOf(node, RISKS);
  for (let i = 0; i < risks.length; i++) node = node.next.get(risks[i]!) ?? childOf(node, risks[i]!);
  return node.lists ?? listsAt(node, risks, mitres);
}

/** First sight of a path step (cold: kept out of combinedLists). */
function childOf(node: ListsNode, key: object): ListsNode {
  const child = newNode();
  node.next.set(key, child);
  nodes++;
  return child;
}

/** First sight of a combination: merged once, frozen, remembered. */
function listsAt(
  node: ListsNode,
  risks: readonly (readonly RiskCategory[])[],
  mitres: readonly (readonly MitreTechnique[])[],
): SummaryLists {
  const { riskCategories, mitre } = mergeLists(risks, mitres);
  const lists: SummaryLists = Object.freeze({
    riskCategories: Object.freeze(riskCategories) as RiskCategory[],
    mitre: Object.freeze(
      mitre.map((t) =>
        Object.freeze({
          id: t.id,
          name: t.name,
          tactics: Object.freeze(t.tactics) as string[],
          sources: Object.freeze(t.sources) as string[],
        }),
      ),
    ) as MitreTechnique[],
  });
  node.lists = lists;
  return lists;
}

/**
 * Puts the enrichment summary of each signal's member events on `signal.details.enrichment`
 * (one pass over the session's events; for the pipeline after signal mapping).
 */
export function attachSignalEnrichment(signals: readonly Signal[], events: readonly EngineEvent[]): void {
  const byId = new Map<string, EngineEvent>();
  for (let i = 0; i < events.length; i++) byId.set(events[i]!.id, events[i]!);
  for (let s = 0; s < signals.length; s++) {
    const signal = signals[s]!;
    const ids = signal.eventIds;
    const members: EngineEvent[] = [];
    for (let i = 0; i < ids.length; i++) {
      const e = byId.get(ids[i]!);
      if (e) members.push(e);
    }
    signal.details.enrichment = summarizeEnrichment(members);
  }
}
