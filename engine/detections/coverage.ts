/**
 * ATT&CK coverage of a rule set: which techniques and tactics have rules (by provenance), and which known
 * techniques have none. The universe is the technique table the rules are checked against plus any other
 * techniques the caller knows of (e.g. those CloudTrail events are mapped to by enrichment).
 */
import type { Severity } from '../model.ts';
import type { CompiledRule, Provenance } from './compiled-rule.ts';

export interface KnownTechnique {
  id: string;
  name: string;
  tactics: string[];
}

export interface TechniqueCoverage extends KnownTechnique {
  rules: { id: string; provenance: Provenance; severity: Severity; title: string }[];
}

export interface TacticCoverage {
  name: string;
  techniques: number;
  covered: number;
  rules: number;
}

export interface Coverage {
  techniques: TechniqueCoverage[];
  tactics: TacticCoverage[];
  /** Known techniques no rule names. */
  uncovered: KnownTechnique[];
  /** Rules that name no technique (indicator and context rules). */
  unmapped: string[];
  byProvenance: Record<Provenance, number>;
}

/** A rule naming a sub-technique (T1562.008) also covers its parent (T1562). */
function coveredIds(technique: string): string[] {
  const parent = technique.split('.')[0]!;
  return parent === technique ? [technique] : [technique, parent];
}

export function ruleCoverage(rules: readonly CompiledRule[], known: readonly KnownTechnique[]): Coverage {
  const table = new Map<string, TechniqueCoverage>();
  for (const t of known) table.set(t.id, { ...t, rules: [] });
  const unmapped: string[] = [];
  const byProvenance: Record<Provenance, number> = { own: 0, sigma: 0, cloudgrappler: 0, custom: 0 };
  for (const r of rules) {
    byProvenance[r.provenance]++;
    if (r.techniques.length === 0) unmapped.push(r.id);
    for (const t of new Set(r.techniques.flatMap(coveredIds))) {
      let entry = table.get(t);
      if (!entry) {
        entry = { id: t, name: t, tactics: r.tactics, rules: [] };
        table.set(t, entry);
      }
      entry.rules.push({ id: r.id, provenance: r.provenance, severity: r.severity, title: r.title });
    }
  }
  const techniques = [...table.values()].sort((a, b) => a.id.localeCompare(b.id));
  const tacticNames = [...new Set(techniques.flatMap((t) => t.tactics))].sort();
  const tactics = tacticNames.map((name) => {
    const of = techniques.filter((t) => t.tactics.includes(name));
    const ruleIds = new Set(of.flatMap((t) => t.rules.map((r) => r.id)));
    return {
      name,
      techniques: of.length,
      covered: of.filter((t) => t.rules.length > 0).length,
      rules: ruleIds.size,
    };
  });
  return {
    techniques,
    tactics,
    uncovered: techniques
      .filter((t) => t.rules.length === 0)
      .map(({ id, name, tactics }) => ({ id, name, tactics })),
    unmapped,
    byProvenance,
  };
}
