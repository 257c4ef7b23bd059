/**
 * `cartographer rules coverage [--format json]`: the ATT&CK techniques and tactics the loaded rules cover, by
 * which rules (own, Sigma, CloudGrappler, custom), and the known techniques no rule covers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createDetector, DEFAULT_RULES_ROOT } from '../../adapters/rules/detection-rules.ts';
import { type Coverage, type KnownTechnique, ruleCoverage } from '../../engine/detections/coverage.ts';

/** The detections' technique table (with tactics) plus the enrichment's technique names. */
function knownTechniques(root: string): KnownTechnique[] {
  const table = parse(readFileSync(join(root, 'detections', 'attack-tactics.yaml'), 'utf8')) as {
    techniques: Record<string, { name: string; tactics: string[] }>;
  };
  const out = new Map<string, KnownTechnique>();
  for (const [id, t] of Object.entries(table.techniques))
    out.set(id, { id, name: t.name, tactics: t.tactics });
  const names = parse(readFileSync(join(root, 'enrichment', 'attack-techniques.yaml'), 'utf8')) as {
    techniques: Record<string, { name: string }>;
  };
  for (const [id, t] of Object.entries(names.techniques)) {
    if (out.has(id)) continue;
    const parent = out.get(id.split('.')[0]!);
    out.set(id, { id, name: t.name, tactics: parent?.tactics ?? [] });
  }
  return [...out.values()];
}

export async function computeCoverage(options: {
  rulesDir?: string;
  extraRuleDirs?: string[];
}): Promise<Coverage> {
  const root = options.rulesDir ?? DEFAULT_RULES_ROOT;
  const detector = await createDetector({ rulesDir: root, extraRuleDirs: options.extraRuleDirs ?? [] });
  return ruleCoverage(detector.rules, knownTechniques(root));
}

export function formatCoverage(c: Coverage): string {
  const covered = c.techniques.filter((t) => t.rules.length > 0).length;
  const p = c.byProvenance;
  const lines = [
    `ATT&CK coverage: ${covered} of ${c.techniques.length} known techniques have a rule; rules: own ${p.own}, sigma ${p.sigma}, cloudgrappler ${p.cloudgrappler}, custom ${p.custom}`,
    '',
    'tactic                  techniques covered  rules',
    ...c.tactics.map(
      (t) =>
        `${t.name.padEnd(24)}${`${t.covered}/${t.techniques}`.padStart(18)}  ${String(t.rules).padStart(5)}`,
    ),
    '',
    'technique   rules  own/sigma/cloudgrappler/custom  name',
  ];
  for (const t of c.techniques.filter((x) => x.rules.length > 0)) {
    const n = (prov: string) => t.rules.filter((r) => r.provenance === prov).length;
    const split = `${n('own')}/${n('sigma')}/${n('cloudgrappler')}/${n('custom')}`;
    lines.push(`${t.id.padEnd(11)} ${String(t.rules.length).padStart(5)}  ${split.padEnd(30)} ${t.name}`);
  }
  lines.push('', `no rule (${c.uncovered.length}):`);
  for (const t of c.uncovered)
    lines.push(`  ${t.id.padEnd(11)} ${t.name}${t.tactics.length ? ` [${t.tactics.join(', ')}]` : ''}`);
  lines.push('', `${c.unmapped.length} rules name no technique (indicators and context rules)`);
  return `${lines.join('\n')}\n`;
}
