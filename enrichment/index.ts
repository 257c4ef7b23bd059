/**
 * The enrichment stage: every event gets its IAM action(s), access level, risk categories, ATT&CK techniques,
 * user-agent family, source classification, error meaning, credential lineage and policy analysis.
 *
 * Tables are built once here; per-event work is Map lookups. The facts that depend only on
 * (eventSource, eventName, eventType) are computed once per pair and shared (frozen) between events.
 */
import type {
  AccessLevel,
  CredentialLineage,
  EngineEvent,
  MitreTechnique,
  RiskCategory,
} from '../engine/model.ts';
import type { Enricher } from '../engine/stages.ts';
import { highestAccessLevel, loadIamActionIndex } from './access-level.ts';
import { createErrorClassifier } from './error-kind.ts';
import { createIamActionMapper } from './iam-action.ts';
import { CredentialLineageTracker } from './lineage.ts';
import { createMitreMapper } from './mitre.ts';
import { analyzePolicyEvent, type PolicyContext } from './policy.ts';
import { createFieldDescriber } from './pushdown.ts';
import { createRiskClassifier, type RiskClassifier } from './risk.ts';
import { createSourceClassifier } from './source-kind.ts';
import { attachSignalEnrichment } from './summary.ts';
import { loadEnrichmentTables } from './tables.ts';

export { attachSignalEnrichment, summarizeEnrichment } from './summary.ts';

export interface EnricherOptions {
  /** Directory with the enrichment tables (default: rules/enrichment). */
  rulesDir?: string;
}

/** Facts of one (source, name, type): one shape (accessLevel undefined when unknown), frozen, shared by events. */
interface ActionFacts {
  iamActions: readonly string[];
  accessLevel: AccessLevel | undefined;
  riskCategories: readonly RiskCategory[];
  mitre: readonly MitreTechnique[];
}

const ACTION_CACHE_LIMIT = 100_000;

/** source → name → facts, and how many facts it holds. */
interface FactsCache {
  readonly byPair: Map<string, Map<string, ActionFacts>>;
  size: number;
}

export async function createEnricher(options: EnricherOptions = {}): Promise<Enricher> {
  return (await createEnricherFactory(options))();
}

/**
 * Loads the tables once and returns a maker of fresh enrichers (own credential lineage, shared tables): for
 * running many independent analyses (rule tests, one case at a time) without reloading the tables each time.
 */
export async function createEnricherFactory(options: EnricherOptions = {}): Promise<() => Enricher> {
  const [tables, index] = await Promise.all([loadEnrichmentTables(options.rulesDir), loadIamActionIndex()]);
  return () => buildEnricher(tables, index);
}

type Tables = Awaited<ReturnType<typeof loadEnrichmentTables>>;
type IamIndex = Awaited<ReturnType<typeof loadIamActionIndex>>;

/** Which table and IAM data versions the enricher runs on (shown with summaries). */
function enricherInfo(tables: Tables, index: IamIndex): Record<string, string> {
  return {
    iamDataVersion: index.version,
    iamActions: String(index.actions.size),
    mitreSources: Object.entries(tables.mitre.sources)
      .map(([k, v]) => `${k}@${v.slice(0, 12)}`)
      .join(', '),
    riskSources: Object.entries(tables.risk.sources)
      .map(([k, v]) => `${k}@${v.slice(0, 12)}`)
      .join(', '),
  };
}

/** The facts of an event's (source, name, type), computed once per pair and shared (frozen) between events. */
function createActionFacts(
  tables: Tables,
  index: IamIndex,
  risk: RiskClassifier,
): (eventSource: string, eventName: string, eventType: string | undefined) => ActionFacts {
  const mapActions = createIamActionMapper(tables.iamActions, index);
  const mitre = createMitreMapper(tables.mitre, tables.attack);
  // source → name → facts; events of the same (source, name) share one frozen object. AWS service events
  // (no caller action) are cached apart. Nested maps avoid building a key string per event.
  const actionCache: FactsCache = { byPair: new Map(), size: 0 };
  const serviceEventCache: FactsCache = { byPair: new Map(), size: 0 };
  // Equal risk lists are one array, as equal technique lists are (mitre.ts): fewer distinct arrays per signal.
  const riskLists = new Map<string, readonly RiskCategory[]>();
  const computeFacts = (
    eventSource: string,
    eventName: string,
    eventType: string | undefined,
  ): ActionFacts => {
    const iamActions = Object.freeze(mapActions(eventSource, eventName, eventType));
    const accessLevel = highestAccessLevel(
      iamActions.map((a) => index.actions.get(a.toLowerCase())?.accessLevel),
    );
    const risks = risk.categories(iamActions);
    const riskKey = risks.join();
    let riskCategories = riskLists.get(riskKey);
    if (!riskCategories) {
      riskCategories = Object.freeze(risks);
      riskLists.set(riskKey, riskCategories);
    }
    return Object.freeze({ iamActions, accessLevel, riskCategories, mitre: mitre(eventSource, eventName) });
  };
  const actionFacts = (
    eventSource: string,
    eventName: string,
    eventType: string | undefined,
  ): ActionFacts => {
    // The cache is picked by value, not by a branch with calls of its own: every call here has type feedback from
    // the first events on, so the first AWS service event after optimisation costs no deoptimisation.
    const cache = eventType === 'AwsServiceEvent' ? serviceEventCache : actionCache;
    return (
      cache.byPair.get(eventSource)?.get(eventName) ??
      newActionFacts(cache, eventSource, eventName, eventType)
    );
  };
  /** First sight of a (source, name): computed and remembered (cold: kept out of actionFacts). */
  const newActionFacts = (
    cache: FactsCache,
    eventSource: string,
    eventName: string,
    eventType: string | undefined,
  ): ActionFacts => {
    let byName = cache.byPair.get(eventSource);
    if (!byName) {
      byName = new Map();
      cache.byPair.set(eventSource, byName);
    }
    const facts = computeFacts(eventSource, eventName, eventType);
    // Bounded against hostile input with endless distinct names; real CloudTrail has a few thousand pairs.
    if (cache.size < ACTION_CACHE_LIMIT) {
      byName.set(eventName, facts);
      cache.size++;
    }
    return facts;
  };
  return actionFacts;
}

function buildEnricher(tables: Tables, index: IamIndex): Enricher {
  const risk = createRiskClassifier(tables.risk, index, tables.iamActions.notInfrastructureServices);
  const userAgent = tables.userAgents;
  const sourceOf = createSourceClassifier(tables.network);
  const errorKind = createErrorClassifier(tables.errorCodes);
  const lineage = new CredentialLineageTracker(sourceOf);
  const policyContext: PolicyContext = {
    privilegeEscalationActions: risk.privilegeEscalationActions,
    canonical: (a) => index.actions.get(a)?.action,
  };

  const actionFacts = createActionFacts(tables, index, risk);

  return {
    info: enricherInfo(tables, index),
    observe(event) {
      lineage.observe(event);
    },
    describeField: createFieldDescriber(tables),
    annotateSignals(signals, events) {
      attachSignalEnrichment(signals, events);
    },
    enrich(event: EngineEvent) {
      enrichWith(event, lineage.lineageFor(event));
    },
    lineageFor(event: EngineEvent) {
      return lineage.lineageFor(event);
    },
    enrichWith,
  };

  /**
   * One object literal with every field, in the order the JSON output shows them: one hidden class for every
   * event's enrichment (absent facts are undefined slots, which JSON.stringify and every reader treat as absent),
   * so the code that builds and reads them stays monomorphic.
   */
  function enrichWith(event: EngineEvent, l: CredentialLineage | undefined): void {
    const r = event.record;
    const facts = actionFacts(r.eventSource, r.eventName, r.eventType);
    const ua = userAgent.classify(r.userAgent);
    const offensiveTool = ua.offensiveTool;
    event.enrichment = {
      // Shared frozen arrays: cheap, and nobody can change one event's facts through another's.
      iamActions: facts.iamActions as string[],
      riskCategories: facts.riskCategories as RiskCategory[],
      mitre: facts.mitre as MitreTechnique[],
      userAgentFamily:
        r.sessionCredentialFromConsole === 'true' && ua.family !== 'cloudshell' && !offensiveTool
          ? 'console'
          : ua.family,
      sourceKind: sourceOf(r.sourceIPAddress).kind,
      accessLevel: facts.accessLevel,
      offensiveTool,
      errorKind: errorKind(r),
      lineage: l,
      policy: r.requestParameters ? analyzePolicyEvent(r, policyContext) : undefined,
    };
  }
}
