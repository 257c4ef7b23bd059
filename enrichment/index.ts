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
  EventEnrichment,
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
import { createRiskClassifier } from './risk.ts';
import { createSourceClassifier } from './source-kind.ts';
import { attachSignalEnrichment } from './summary.ts';
import { loadEnrichmentTables } from './tables.ts';

export { attachSignalEnrichment, summarizeEnrichment } from './summary.ts';

export interface EnricherOptions {
  /** Directory with the enrichment tables (default: rules/enrichment). */
  rulesDir?: string;
}

interface ActionFacts {
  iamActions: readonly string[];
  accessLevel?: AccessLevel;
  riskCategories: readonly RiskCategory[];
  mitre: readonly MitreTechnique[];
}

const ACTION_CACHE_LIMIT = 100_000;

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

/** Which table and IAM data versions the enricher runs on (shown with summaries). */
function enricherInfo(
  tables: Awaited<ReturnType<typeof loadEnrichmentTables>>,
  index: Awaited<ReturnType<typeof loadIamActionIndex>>,
): Record<string, string> {
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

function buildEnricher(
  tables: Awaited<ReturnType<typeof loadEnrichmentTables>>,
  index: Awaited<ReturnType<typeof loadIamActionIndex>>,
): Enricher {
  const mapActions = createIamActionMapper(tables.iamActions, index);
  const risk = createRiskClassifier(tables.risk, index, tables.iamActions.notInfrastructureServices);
  const mitre = createMitreMapper(tables.mitre, tables.attack);
  const userAgent = tables.userAgents;
  const sourceOf = createSourceClassifier(tables.network);
  const errorKind = createErrorClassifier(tables.errorCodes);
  const lineage = new CredentialLineageTracker(sourceOf);
  const policyContext: PolicyContext = {
    privilegeEscalationActions: risk.privilegeEscalationActions,
    canonical: (a) => index.actions.get(a)?.action,
  };

  // source → name → facts; events of the same (source, name) share one frozen object. AWS service events
  // (no caller action) are cached apart. Nested maps avoid building a key string per event.
  const actionCache = new Map<string, Map<string, ActionFacts>>();
  const serviceEventCache = new Map<string, ActionFacts>();
  let cached = 0;
  const computeFacts = (
    eventSource: string,
    eventName: string,
    eventType: string | undefined,
  ): ActionFacts => {
    const iamActions = Object.freeze(mapActions(eventSource, eventName, eventType));
    const accessLevel = highestAccessLevel(
      iamActions.map((a) => index.actions.get(a.toLowerCase())?.accessLevel),
    );
    return Object.freeze({
      iamActions,
      ...(accessLevel ? { accessLevel } : {}),
      riskCategories: Object.freeze(risk.categories(iamActions)),
      mitre: mitre(eventSource, eventName),
    });
  };
  const actionFacts = (
    eventSource: string,
    eventName: string,
    eventType: string | undefined,
  ): ActionFacts => {
    if (eventType === 'AwsServiceEvent') {
      const key = `${eventSource}:${eventName}`;
      let facts = serviceEventCache.get(key);
      if (!facts) {
        facts = computeFacts(eventSource, eventName, eventType);
        if (serviceEventCache.size < ACTION_CACHE_LIMIT) serviceEventCache.set(key, facts);
      }
      return facts;
    }
    let byName = actionCache.get(eventSource);
    if (!byName) {
      byName = new Map();
      actionCache.set(eventSource, byName);
    }
    let facts = byName.get(eventName);
    if (!facts) {
      facts = computeFacts(eventSource, eventName, eventType);
      // Bounded against hostile input with endless distinct names; real CloudTrail has a few thousand pairs.
      if (cached < ACTION_CACHE_LIMIT) {
        byName.set(eventName, facts);
        cached++;
      }
    }
    return facts;
  };

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

  function enrichWith(event: EngineEvent, l: CredentialLineage | undefined): void {
    const r = event.record;
    const facts = actionFacts(r.eventSource, r.eventName, r.eventType);
    const ua = userAgent.classify(r.userAgent);
    const enrichment: EventEnrichment = {
      // Shared frozen arrays: cheap, and nobody can change one event's facts through another's.
      iamActions: facts.iamActions as string[],
      riskCategories: facts.riskCategories as RiskCategory[],
      mitre: facts.mitre as MitreTechnique[],
      userAgentFamily:
        r.sessionCredentialFromConsole === 'true' && ua.family !== 'cloudshell' && !ua.offensiveTool
          ? 'console'
          : ua.family,
      sourceKind: sourceOf(r.sourceIPAddress).kind,
    };
    if (facts.accessLevel) enrichment.accessLevel = facts.accessLevel;
    if (ua.offensiveTool) enrichment.offensiveTool = ua.offensiveTool;
    const error = errorKind(r);
    if (error) enrichment.errorKind = error;
    if (l) enrichment.lineage = l;
    if (r.requestParameters) {
      const policy = analyzePolicyEvent(r, policyContext);
      if (policy) enrichment.policy = policy;
    }
    event.enrichment = enrichment;
  }
}
