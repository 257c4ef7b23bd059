/**
 * The enrichment stage: every event gets its IAM action(s), access level, risk categories, ATT&CK techniques,
 * user-agent family, source classification, error meaning, credential lineage and policy analysis.
 *
 * Tables are built once here; per-event work is Map lookups. The facts that depend only on
 * (eventSource, eventName, eventType) are computed once per pair and shared (frozen) between events.
 */
import type {
  AccessLevel,
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
import { createRiskClassifier } from './risk.ts';
import { createSourceClassifier } from './source-kind.ts';
import { loadEnrichmentTables } from './tables.ts';
import { createUserAgentClassifier } from './user-agent.ts';

export { summarizeEnrichment } from './summary.ts';

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
  const [tables, index] = await Promise.all([loadEnrichmentTables(options.rulesDir), loadIamActionIndex()]);
  const mapActions = createIamActionMapper(tables.iamActions, index);
  const risk = createRiskClassifier(tables.risk, index, tables.iamActions.notInfrastructureServices);
  const mitre = createMitreMapper(tables.mitre, tables.techniques);
  const userAgent = createUserAgentClassifier(tables.userAgents);
  const sourceOf = createSourceClassifier(tables.network);
  const errorKind = createErrorClassifier(tables.errorCodes);
  const lineage = new CredentialLineageTracker(sourceOf);
  const policyContext: PolicyContext = {
    privilegeEscalationActions: risk.privilegeEscalationActions,
    canonical: (a) => index.actions.get(a)?.action,
  };

  const actionCache = new Map<string, ActionFacts>();
  const actionFacts = (
    eventSource: string,
    eventName: string,
    eventType: string | undefined,
  ): ActionFacts => {
    const key = `${eventSource}\u0000${eventName}\u0000${eventType ?? ''}`;
    let facts = actionCache.get(key);
    if (!facts) {
      const iamActions = Object.freeze(mapActions(eventSource, eventName, eventType));
      const accessLevel = highestAccessLevel(
        iamActions.map((a) => index.actions.get(a.toLowerCase())?.accessLevel),
      );
      facts = Object.freeze({
        iamActions,
        ...(accessLevel ? { accessLevel } : {}),
        riskCategories: Object.freeze(risk.categories(iamActions)),
        mitre: mitre(eventSource, eventName),
      });
      if (actionCache.size >= ACTION_CACHE_LIMIT) actionCache.clear();
      actionCache.set(key, facts);
    }
    return facts;
  };

  return {
    info: {
      iamDataVersion: index.version,
      iamActions: String(index.actions.size),
      mitreSources: Object.entries(tables.mitre.sources)
        .map(([k, v]) => `${k}@${v.slice(0, 12)}`)
        .join(', '),
      riskSources: Object.entries(tables.risk.sources)
        .map(([k, v]) => `${k}@${v.slice(0, 12)}`)
        .join(', '),
    },
    observe(event) {
      lineage.observe(event);
    },
    enrich(event: EngineEvent) {
      const r = event.record;
      const facts = actionFacts(r.eventSource, r.eventName, r.eventType);
      const ua = userAgent(r.userAgent);
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
      const l = lineage.lineageFor(event);
      if (l) enrichment.lineage = l;
      if (r.requestParameters) {
        const policy = analyzePolicyEvent(r, policyContext);
        if (policy) enrichment.policy = policy;
      }
      event.enrichment = enrichment;
    },
  };
}
