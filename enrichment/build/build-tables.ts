/**
 * Regenerates the derived enrichment tables in rules/enrichment/ from the public data sets:
 *   mitre-mappings.json     (eventSource:eventName → ATT&CK techniques, each with its sources; every technique
 *                           must be in the ATT&CK table rules/attack.yaml, which names it and gives its tactics)
 *   risk-actions.json       ((service, action) → risk categories from Cloudsplaining and pathfinding.cloud)
 *
 * Usage: npm run build:tables [-- <path to shared/external>]   (default: ../shared/external next to the repo)
 * The output is committed, so the runtime never needs the source data sets.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseAttackTable } from '../../engine/attack.ts';
import { formatProblem } from '../../engine/rule-yaml.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const externalDir = resolve(process.argv[2] ?? join(repoRoot, '..', 'shared', 'external'));
const rulesDir = join(repoRoot, 'rules', 'enrichment');

const TECHNIQUE_ID = /^T\d{4}(?:\.\d{3})?$/;

const BuildConfigSchema = z.object({
  catalogToAttack: z.record(z.string(), z.string().regex(TECHNIQUE_ID)),
  stratusIgnoredMappings: z.array(z.object({ technique: z.string(), attackId: z.string() })),
  stratusIncidentalEvents: z.array(z.string()),
  stratusTechniqueIds: z.record(z.string(), z.string().regex(TECHNIQUE_ID)),
});

const config = BuildConfigSchema.parse(
  parseYaml(readFileSync(join(rulesDir, 'mitre-build-config.yaml'), 'utf8')),
);
const attackFile = join(repoRoot, 'rules', 'attack.yaml');
const attackParsed = parseAttackTable(attackFile, readFileSync(attackFile, 'utf8'));
if (attackParsed.problems.length > 0) throw new Error(attackParsed.problems.map(formatProblem).join('\n'));
const attack = attackParsed.table;
const tacticById = new Map(attack.tactics.map((t) => [t.id, t.name]));

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(join(externalDir, path), 'utf8'));
}
function sourceCommit(folder: string): string {
  const text = readFileSync(join(externalDir, folder, 'SOURCE.md'), 'utf8');
  return /Commit:\s*`?([0-9a-f]{7,40})/i.exec(text)?.[1] ?? 'unknown';
}

interface Mapping {
  id: string;
  tactics: Set<string>;
  sources: Set<string>;
  sourceTactics: Set<string>;
}
const mappings = new Map<string, Map<string, Mapping>>();
const techniqueNames = new Map<string, { name: string; source: string }>();

function addMapping(
  eventKey: string,
  id: string,
  tacticNames: string[],
  source: string,
  rawTactics: string[] = [],
) {
  let byId = mappings.get(eventKey);
  if (!byId) {
    byId = new Map();
    mappings.set(eventKey, byId);
  }
  let m = byId.get(id);
  if (!m) {
    m = { id, tactics: new Set(), sources: new Set(), sourceTactics: new Set() };
    byId.set(id, m);
  }
  for (const t of tacticNames) m.tactics.add(t);
  for (const t of rawTactics) m.sourceTactics.add(t);
  m.sources.add(source);
}
function nameTechnique(id: string, name: string, source: string) {
  if (!techniqueNames.has(id)) techniqueNames.set(id, { name, source });
}

// TrailDiscover: per event, tactics + techniques + sub-techniques, formatted "T1098.001 - Account Manipulation: …"
// with a few spelling variants ("T1078.004: …", "T1562.001 Impair Defenses - …").
const TD_TECHNIQUE = /^(T\d{4}(?:\.\d{3})?)\s*[-:]?\s*(.*)$/;
const TD_TACTIC = /^(TA\d{4})\b/;
const TrailDiscoverSchema = z.array(
  z.looseObject({
    eventName: z.string(),
    eventSource: z.string(),
    mitreAttackTactics: z.array(z.string()),
    mitreAttackTechniques: z.array(z.string()),
    mitreAttackSubTechniques: z.array(z.string()),
  }),
);
function subTechniqueName(full: string): string {
  // "Account Manipulation: Additional Cloud Credentials" → "Additional Cloud Credentials"
  const m = /^[^:]+?(?::|\s-\s)\s*(.+)$/.exec(full);
  return (m?.[1] ?? full).trim();
}
for (const e of TrailDiscoverSchema.parse(readJson('traildiscover/events.json'))) {
  const eventTactics = e.mitreAttackTactics
    .map((t) => tacticById.get(TD_TACTIC.exec(t)?.[1] ?? ''))
    .filter((t): t is string => !!t);
  const parsed = [...e.mitreAttackSubTechniques, ...e.mitreAttackTechniques]
    .map((t) => TD_TECHNIQUE.exec(t.trim()))
    .filter((m): m is RegExpExecArray => !!m);
  const ids = new Set(parsed.map((m) => m[1]!));
  for (const m of parsed) {
    const id = m[1]!;
    const name = id.includes('.') ? subTechniqueName(m[2]!) : m[2]!.trim();
    if (name) nameTechnique(id, name, 'traildiscover');
    // A technique listed next to one of its own sub-techniques adds nothing: keep the precise one.
    if (!id.includes('.') && [...ids].some((other) => other.startsWith(`${id}.`))) continue;
    addMapping(`${e.eventSource}:${e.eventName}`, id, eventTactics, 'traildiscover');
  }
}

// Stratus Red Team: technique → tactics, catalog technique ids, events seen in its detonation log.
const StratusSchema = z.object({
  techniques: z.array(
    z.looseObject({
      id: z.string(),
      mitreAttackTactics: z.array(z.string()),
      frameworkMappings: z.array(
        z.object({ techniques: z.array(z.object({ id: z.string(), name: z.string() })) }),
      ),
      cloudTrailEvents: z.array(z.string()),
    }),
  ),
});
const incidental = new Set(config.stratusIncidentalEvents);
for (const t of StratusSchema.parse(readJson('stratus-red-team/aws-technique-events.json')).techniques) {
  const tacticNames = t.mitreAttackTactics.map((x) => attack.tactic(x) ?? x);
  const ids: { id: string; source: string }[] = [];
  for (const fm of t.frameworkMappings) {
    for (const tech of fm.techniques) {
      if (config.stratusIgnoredMappings.some((i) => i.technique === t.id && i.attackId === tech.id)) continue;
      const id = config.catalogToAttack[tech.id] ?? tech.id;
      if (!TECHNIQUE_ID.test(id)) throw new Error(`stratus ${t.id}: unmapped catalog id ${tech.id}`);
      if (id === tech.id) nameTechnique(id, subTechniqueName(tech.name), 'stratus-red-team');
      ids.push({ id, source: 'stratus-red-team' });
    }
  }
  const own = config.stratusTechniqueIds[t.id];
  if (ids.length === 0 && own) ids.push({ id: own, source: 'cartographer' });
  for (const ev of t.cloudTrailEvents) {
    if (incidental.has(ev)) continue;
    for (const { id, source } of ids) addMapping(ev, id, tacticNames, source);
  }
}

// Sigma: each rule's eventSource/eventName selections → its attack.* tags.
const sigmaDir = join(externalDir, 'sigma-aws-cloudtrail-rules', 'rules');
const asStrings = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
let sigmaRulesUsed = 0;
for (const file of readdirSync(sigmaDir).filter((f) => f.endsWith('.yml'))) {
  const rule = parseYaml(readFileSync(join(sigmaDir, file), 'utf8')) as {
    id?: string;
    tags?: string[];
    detection?: Record<string, unknown>;
  };
  const tags = rule.tags ?? [];
  const rawTactics = tags.filter((t) => t.startsWith('attack.') && !/^attack\.[tsg]\d{4}/.test(t));
  const tacticNames = [...new Set(rawTactics.map((t) => attack.tactic(t)).filter((t) => !!t))] as string[];
  const ids = tags.filter((t) => /^attack\.t\d{4}(\.\d{3})?$/.test(t)).map((t) => t.slice(7).toUpperCase());
  if (ids.length === 0 || !rule.id) continue;
  // Selections are maps; only exact values count (a `|startswith` modifier is no event name).
  const sources = new Set<string>();
  const pairs: [string | undefined, string][] = [];
  for (const [key, block] of Object.entries(rule.detection ?? {})) {
    if (key === 'condition' || !block || typeof block !== 'object' || Array.isArray(block)) continue;
    const b = block as Record<string, unknown>;
    const blockSources = asStrings(b.eventSource);
    for (const s of blockSources) sources.add(s);
    for (const n of asStrings(b.eventName)) {
      if (blockSources.length === 0) pairs.push([undefined, n]);
      for (const s of blockSources) pairs.push([s, n]);
    }
  }
  let used = false;
  for (const [source, name] of pairs) {
    // Keyed on (eventSource, eventName): a name without a known source is ambiguous and skipped.
    const evSources = source ? [source] : sources.size === 1 ? [...sources] : [];
    for (const s of evSources) {
      for (const id of ids) addMapping(`${s}:${name}`, id, tacticNames, `sigma:${rule.id}`, rawTactics);
      used = true;
    }
  }
  if (used) sigmaRulesUsed++;
}

const allIds = new Set([...mappings.values()].flatMap((m) => [...m.keys()]));
const unknown = [...allIds].filter((id) => !attack.technique(id)).sort();
if (unknown.length > 0) {
  const lines = unknown.map((id) => `  ${id}: { name: ${techniqueNames.get(id)?.name ?? '?'} }`);
  throw new Error(
    `techniques missing from rules/attack.yaml (names as the sources give them):\n${lines.join('\n')}`,
  );
}
/** The source's tactics that the technique has; the technique's own tactics when none of them fit. */
function tacticsOf(m: Mapping): string[] {
  const own = attack.tacticsOf([m.id]);
  if (own.length === 0) return [...m.tactics].sort();
  const kept = [...m.tactics].filter((t) => own.includes(t));
  return (kept.length > 0 ? kept : own).sort();
}
const withoutTactics = [...allIds].filter((id) => attack.tacticsOf([id]).length === 0);
if (withoutTactics.length > 0)
  console.warn(`techniques without tactics in rules/attack.yaml: ${withoutTactics.join(', ')}`);

const sortedKeys = [...mappings.keys()].sort();
const mitreOut = {
  _comment: 'Generated by enrichment/build/build-tables.ts (npm run build:tables). Do not edit by hand.',
  sources: {
    traildiscover: sourceCommit('traildiscover'),
    'stratus-red-team': sourceCommit('stratus-red-team'),
    sigma: sourceCommit('sigma-aws-cloudtrail-rules'),
  },
  mappings: Object.fromEntries(
    sortedKeys.map((k) => [
      k,
      [...mappings.get(k)!.values()]
        .sort((a, b) => a.id.localeCompare(b.id))
        .map((m) => ({
          id: m.id,
          tactics: tacticsOf(m),
          sources: [...m.sources].sort(),
          ...(m.sourceTactics.size ? { sourceTactics: [...m.sourceTactics].sort() } : {}),
        })),
    ]),
  ),
};
writeFileSync(join(rulesDir, 'mitre-mappings.json'), `${JSON.stringify(mitreOut, null, 1)}\n`);

// Risk tables, keyed on lower-case `service:action` (IAM is case-insensitive).
const CloudsplainingSchema = z.looseObject({
  privilegeEscalationMethods: z.record(z.string(), z.array(z.string())),
  credentialsExposureActions: z.array(z.string()),
  dataExfiltrationActions: z.array(z.string()),
});
const cs = CloudsplainingSchema.parse(readJson('cloudsplaining/risk-categories.json'));
const PathsSchema = z.object({
  paths: z.array(z.looseObject({ id: z.string(), requiredActions: z.array(z.string()) })),
});
const paths = PathsSchema.parse(readJson('pathfinding.cloud/paths-index.json'));
// Upstream typo kept in the Cloudsplaining list: the GameLift prefix is `gamelift`.
const fixPrefix = (a: string) => a.toLowerCase().replace(/^gamelist:/, 'gamelift:');
const privesc = new Map<string, Set<string>>();
const addPrivesc = (action: string, source: string) => {
  const key = fixPrefix(action);
  if (!privesc.has(key)) privesc.set(key, new Set());
  privesc.get(key)!.add(source);
};
for (const [method, actions] of Object.entries(cs.privilegeEscalationMethods)) {
  for (const a of actions) addPrivesc(a, `cloudsplaining:${method}`);
}
for (const p of paths.paths) for (const a of p.requiredActions) addPrivesc(a, `pathfinding.cloud:${p.id}`);
const riskOut = {
  _comment: 'Generated by enrichment/build/build-tables.ts (npm run build:tables). Do not edit by hand.',
  sources: {
    cloudsplaining: sourceCommit('cloudsplaining'),
    'pathfinding.cloud': sourceCommit('pathfinding.cloud'),
  },
  privilegeEscalation: Object.fromEntries(
    [...privesc.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, [...v].sort()]),
  ),
  credentialsExposure: [...new Set(cs.credentialsExposureActions.map(fixPrefix))].sort(),
  dataExfiltration: [...new Set(cs.dataExfiltrationActions.map(fixPrefix))].sort(),
};
writeFileSync(join(rulesDir, 'risk-actions.json'), `${JSON.stringify(riskOut, null, 1)}\n`);

// The repository's formatter has the last word on layout, so a rebuild from unchanged data changes no byte.
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
execFileSync(process.execPath, [biome, 'format', '--write', rulesDir], { stdio: 'ignore' });

console.log(
  `mitre: ${sortedKeys.length} events, ${allIds.size} techniques (${sigmaRulesUsed} Sigma rules used); ` +
    `risk: ${privesc.size} privilege-escalation, ${riskOut.credentialsExposure.length} credentials, ` +
    `${riskOut.dataExfiltration.length} exfiltration actions`,
);

// event-sources.json reads the mappings just written, so it is regenerated after them, in the same run.
await import('./build-event-sources.ts');
