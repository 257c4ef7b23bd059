/**
 * `cartographer rules coverage [--format json]`: the ATT&CK techniques and tactics the loaded rules cover, by
 * which rules (own, Sigma, CloudGrappler, custom), and the known techniques no rule covers.
 */
import { join } from 'node:path';
import { createDetector, DEFAULT_RULES_ROOT } from '../../adapters/rules/detection-rules.ts';
import { readAttackTable } from '../../engine/attack.ts';
import { type Coverage, type KnownTechnique, ruleCoverage } from '../../engine/detections/coverage.ts';
import { DetectionRulesError } from '../../engine/detections/index.ts';

/** Every technique of the ATT&CK table, sub-techniques under their parent's name (`Remote Services: SSH`). */
async function knownTechniques(root: string): Promise<KnownTechnique[]> {
  const file = join(root, 'attack.yaml');
  const { table, problems } = await readAttackTable(file);
  if (problems.length > 0) throw new DetectionRulesError(problems);
  return table.techniques.map((t) => ({ id: t.id, name: t.fullName, tactics: t.tactics }));
}

export async function computeCoverage(options: {
  rulesDir?: string;
  extraRuleDirs?: string[];
}): Promise<Coverage> {
  const root = options.rulesDir ?? DEFAULT_RULES_ROOT;
  const detector = await createDetector({ rulesDir: root, extraRuleDirs: options.extraRuleDirs ?? [] });
  return ruleCoverage(detector.rules, await knownTechniques(root));
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
