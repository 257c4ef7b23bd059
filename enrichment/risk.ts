/**
 * Risk categories per IAM action, keyed on (service, action), following Cloudsplaining's definitions:
 * privilege escalation (Cloudsplaining methods + pathfinding.cloud paths), credentials exposure and data
 * exfiltration (Cloudsplaining lists), resource exposure (access level "Permissions management") and
 * infrastructure modification (any Write or Permissions-management action).
 */
import type { AccessLevel, RiskCategory } from '../engine/model.ts';
import type { IamActionIndex } from './access-level.ts';
import type { EnrichmentTables } from './tables.ts';

export interface RiskClassifier {
  categories(actions: readonly string[]): RiskCategory[];
  /** Lower-case actions that are a step of a known privilege-escalation method or path. */
  readonly privilegeEscalationActions: ReadonlySet<string>;
  /** Which methods/paths name this action (explanations). */
  privilegeEscalationSources(action: string): readonly string[];
}

// A read in a privilege-escalation method (e.g. ec2:DescribeInstances in "modify user data") is a step of the
// method, not an escalation by itself; only actions that change something are flagged.
const CHANGES: ReadonlySet<AccessLevel | undefined> = new Set(['Write', 'Permissions management', 'Tagging']);

// Tagging changes metadata, not infrastructure; Cloudsplaining counts it, an analyst would not.
const MODIFIES_INFRASTRUCTURE: ReadonlySet<AccessLevel | undefined> = new Set([
  'Write',
  'Permissions management',
]);

export function createRiskClassifier(
  table: EnrichmentTables['risk'],
  index: IamActionIndex,
  notInfrastructureServices: readonly string[] = [],
): RiskClassifier {
  const noInfrastructure = new Set(notInfrastructureServices);
  const privesc = new Map(Object.entries(table.privilegeEscalation));
  const credentials = new Set(table.credentialsExposure);
  const exfiltration = new Set(table.dataExfiltration.map((a) => a.toLowerCase()));
  const privescActions = new Set(
    [...privesc.keys()].filter((a) => {
      const level = index.actions.get(a)?.accessLevel;
      return level === undefined || CHANGES.has(level);
    }),
  );

  return {
    privilegeEscalationActions: privescActions,
    privilegeEscalationSources: (action) => privesc.get(action.toLowerCase()) ?? [],
    categories(actions) {
      const out = new Set<RiskCategory>();
      for (const action of actions) {
        const key = action.toLowerCase();
        const level = index.actions.get(key)?.accessLevel;
        if (privescActions.has(key)) out.add('privilege-escalation');
        if (credentials.has(key)) out.add('credentials-exposure');
        if (exfiltration.has(key)) out.add('data-exfiltration');
        if (level === 'Permissions management') out.add('resource-exposure');
        if (MODIFIES_INFRASTRUCTURE.has(level) && !noInfrastructure.has(key.slice(0, key.indexOf(':')))) {
          out.add('infrastructure-modification');
        }
      }
      return [...out];
    },
  };
}
