/**
 * The one ATT&CK table (rules/attack.yaml): tactics with the spellings sources use for them (Sigma's
 * `attack.defense-evasion`, `attack.stealth`, Stratus' `Defense Evasion` …) and techniques with their names and
 * tactics. Detections take their tactics from it, Sigma tags are read through it, `rules coverage` lists it and
 * the enrichment names its techniques with it.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type RuleProblem, snapshotSchema, validate } from './rule-yaml.ts';

export const TECHNIQUE_ID = /^T\d{4}(\.\d{3})?$/;
const techniqueId = z.string().regex(TECHNIQUE_ID, 'an ATT&CK technique id looks like T1562 or T1562.008');

export const AttackFileSchema = z.strictObject({
  tactics: z.array(
    z.strictObject({
      id: z.string().regex(/^TA\d{4}$/, 'an ATT&CK tactic id looks like TA0005'),
      name: z.string().min(1),
      aliases: z.array(z.string().min(1)).default([]),
    }),
  ),
  techniques: z.record(
    techniqueId,
    z.strictObject({ name: z.string().min(1), tactics: z.array(z.string().min(1)).min(1).optional() }),
  ),
});
export type AttackFile = z.infer<typeof AttackFileSchema>;
snapshotSchema('attack', AttackFileSchema);

export interface AttackTechnique {
  id: string;
  /** ATT&CK's own name (a sub-technique's without its parent's: `SSH`). */
  name: string;
  /** `Remote Services: SSH` for a sub-technique whose parent is in the table; else the name. */
  fullName: string;
  /** Its own tactics, else its parent's; empty when neither is known. */
  tactics: string[];
}

export interface AttackTable {
  readonly tactics: readonly { id: string; name: string }[];
  readonly techniques: readonly AttackTechnique[];
  technique(id: string): AttackTechnique | undefined;
  /** The tactics of techniques (a sub-technique not in the table counts as its parent). */
  tacticsOf(techniques: readonly string[]): string[];
  /** A tactic by name, id or a source's spelling (`defense-evasion`, `stealth`, `attack.discovery`), any case. */
  tactic(spelling: string): string | undefined;
}

export function createAttackTable(file: AttackFile): AttackTable {
  const spellings = new Map<string, string>();
  for (const t of file.tactics) {
    for (const s of [t.name, t.id, ...t.aliases]) spellings.set(normalise(s), t.name);
  }
  const byId = new Map<string, AttackTechnique>();
  for (const [id, t] of Object.entries(file.techniques)) {
    const parent = id.includes('.') ? file.techniques[id.split('.')[0]!] : undefined;
    byId.set(id, {
      id,
      name: t.name,
      fullName: parent && !t.name.startsWith(parent.name) ? `${parent.name}: ${t.name}` : t.name,
      tactics: t.tactics ?? parent?.tactics ?? [],
    });
  }
  const techniques = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  return {
    tactics: file.tactics.map(({ id, name }) => ({ id, name })),
    techniques,
    technique: (id) => byId.get(id),
    tacticsOf(ids) {
      const out = new Set<string>();
      for (const id of ids) {
        for (const tactic of (byId.get(id) ?? byId.get(id.split('.')[0]!))?.tactics ?? []) out.add(tactic);
      }
      return [...out];
    },
    tactic: (spelling) => spellings.get(normalise(spelling)),
  };
}

/** `attack.Defense_Evasion` → `defense-evasion`. */
function normalise(spelling: string): string {
  return spelling
    .toLowerCase()
    .replace(/^attack\./, '')
    .replace(/[_\s]+/g, '-');
}

export const EMPTY_ATTACK_TABLE: AttackTable = createAttackTable({ tactics: [], techniques: {} });

/** Parses and checks the table's text; problems carry file:line, and every tactic a technique names must exist. */
export function parseAttackTable(
  file: string,
  text: string,
): { table: AttackTable; problems: RuleProblem[] } {
  const r = validate(file, text, AttackFileSchema);
  if (!r.ok) return { table: EMPTY_ATTACK_TABLE, problems: r.problems };
  const names = new Set(r.value.tactics.map((t) => t.name));
  const problems: RuleProblem[] = [];
  for (const [id, t] of Object.entries(r.value.techniques)) {
    for (const tactic of t.tactics ?? []) {
      if (!names.has(tactic))
        problems.push({
          file,
          line: r.lineOf(['techniques', id]),
          message: `${id}: unknown tactic '${tactic}'`,
        });
    }
  }
  return { table: createAttackTable(r.value), problems };
}

/** Where the bundled table is. */
export const DEFAULT_ATTACK_FILE = fileURLToPath(new URL('../rules/attack.yaml', import.meta.url));

/** Reads and checks a table file (a rule file like the others: read at load, never per event). */
export async function readAttackTable(
  file = DEFAULT_ATTACK_FILE,
): Promise<{ table: AttackTable; problems: RuleProblem[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return {
      table: EMPTY_ATTACK_TABLE,
      problems: [{ file, line: 0, message: `cannot read: ${(err as Error).message}` }],
    };
  }
  return parseAttackTable(file, text);
}
