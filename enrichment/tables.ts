/**
 * Loads and validates the enrichment tables in rules/enrichment/ (once, at start-up).
 * A malformed table fails loudly with the file name and the zod path of the bad entry.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type AttackTable, readAttackTable } from '../engine/attack.ts';
import { CartographerError } from '../engine/errors.ts';
import { checkYamlData, formatProblem, snapshotSchema } from '../engine/rule-yaml.ts';
import { readUserAgentTable, type UserAgentClassifier } from '../engine/user-agent.ts';

export const DEFAULT_ENRICHMENT_RULES_DIR = fileURLToPath(new URL('../rules/enrichment/', import.meta.url));

const stringList = z.array(z.string());

export const IamActionRulesSchema = z.object({
  noActionEventTypes: stringList.default([]),
  noAction: z.record(z.string(), stringList).default({}),
  events: z.record(z.string(), z.record(z.string(), stringList)).default({}),
  versionSuffixes: z.array(z.object({ eventSource: z.string(), pattern: z.string() })).default([]),
  httpVerbServices: z
    .record(z.string(), z.object({ prefix: z.string(), verbsByNamePrefix: z.record(z.string(), z.string()) }))
    .default({}),
  sourcePrefixes: z.record(z.string(), z.string()).default({}),
  notInfrastructureServices: stringList.default([]),
});

export const ErrorCodeRulesSchema = z.object({
  kinds: z.array(
    z.object({
      kind: z.enum(['denied', 'throttled', 'not-found', 'invalid', 'other']),
      exact: stringList.default([]),
      prefix: stringList.default([]),
      suffix: stringList.default([]),
    }),
  ),
});

export const NetworkRulesSchema = z.object({
  awsInternalValues: stringList,
  privateRanges: stringList,
  servicePrincipalPattern: z.string(),
});

const TECHNIQUE_ID = /^T\d{4}(?:\.\d{3})?$/;
export const MitreMappingsSchema = z.object({
  sources: z.record(z.string(), z.string()),
  mappings: z.record(
    z.string(),
    z.array(
      z.object({
        id: z.string().regex(TECHNIQUE_ID),
        tactics: stringList,
        sources: stringList,
        sourceTactics: stringList.optional(),
      }),
    ),
  ),
});
export const RiskActionsSchema = z.object({
  sources: z.record(z.string(), z.string()),
  privilegeEscalation: z.record(z.string(), stringList),
  credentialsExposure: stringList,
  dataExfiltration: stringList,
});

// Validated once at build time for the bundled tables (engine/rule-yaml.ts snapshot).
snapshotSchema('enrichment/iam-actions', IamActionRulesSchema);
snapshotSchema('enrichment/error-codes', ErrorCodeRulesSchema);
snapshotSchema('enrichment/network', NetworkRulesSchema);

export interface EnrichmentTables {
  iamActions: z.infer<typeof IamActionRulesSchema>;
  /** The user-agent classifier (rules/user-agents.yaml, beside this folder). */
  userAgents: UserAgentClassifier;
  errorCodes: z.infer<typeof ErrorCodeRulesSchema>;
  network: z.infer<typeof NetworkRulesSchema>;
  mitre: z.infer<typeof MitreMappingsSchema>;
  /** The ATT&CK table (rules/attack.yaml, beside this folder): technique names. */
  attack: AttackTable;
  risk: z.infer<typeof RiskActionsSchema>;
}

export class EnrichmentTableError extends CartographerError {
  readonly code = 'rules';
  override readonly name = 'EnrichmentTableError';
}

async function load<T>(dir: string, file: string, schema: z.ZodType<T>): Promise<T> {
  const path = join(dir, file);
  let result: z.ZodSafeParseResult<T>;
  try {
    const text = await readFile(path, 'utf8');
    result = file.endsWith('.json') ? schema.safeParse(JSON.parse(text)) : checkYamlData(text, schema);
  } catch (err) {
    throw new EnrichmentTableError(`${path}: cannot read (${(err as Error).message})`);
  }
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new EnrichmentTableError(`${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return result.data;
}

async function loadUserAgents(file: string): Promise<UserAgentClassifier> {
  const { classifier, problems } = await readUserAgentTable(file);
  if (problems.length > 0) throw new EnrichmentTableError(problems.map(formatProblem).join('\n'));
  return classifier;
}

async function loadAttack(file: string): Promise<AttackTable> {
  const { table, problems } = await readAttackTable(file);
  if (problems.length > 0) throw new EnrichmentTableError(problems.map(formatProblem).join('\n'));
  return table;
}

export async function loadEnrichmentTables(dir = DEFAULT_ENRICHMENT_RULES_DIR): Promise<EnrichmentTables> {
  const [iamActions, userAgents, errorCodes, network, mitre, attack, risk] = await Promise.all([
    load(dir, 'iam-actions.yaml', IamActionRulesSchema),
    loadUserAgents(join(dir, '..', 'user-agents.yaml')),
    load(dir, 'error-codes.yaml', ErrorCodeRulesSchema),
    load(dir, 'network.yaml', NetworkRulesSchema),
    load(dir, 'mitre-mappings.json', MitreMappingsSchema),
    loadAttack(join(dir, '..', 'attack.yaml')),
    load(dir, 'risk-actions.json', RiskActionsSchema),
  ]);
  return { iamActions, userAgents, errorCodes, network, mitre, attack, risk };
}
