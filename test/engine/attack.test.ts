/** The one ATT&CK table (rules/attack.yaml, engine/attack.ts): what detections, Sigma tags, coverage and enrichment read. */
import { describe, expect, it } from 'vitest';
import { parseAttackTable, readAttackTable } from '../../engine/attack.ts';

describe('the ATT&CK table', () => {
  it('loads the bundled table without problems', async () => {
    const { table, problems } = await readAttackTable();
    expect(problems).toEqual([]);
    expect(table.tactics.map((t) => t.name)).toContain('Defense Evasion');
    expect(table.techniques.length).toBeGreaterThan(100);
  });

  it('gives a sub-technique its parent tactics and its full name under the parent', async () => {
    const { table } = await readAttackTable();
    const ssh = table.technique('T1021.004')!;
    expect(ssh.name).toBe('SSH');
    expect(ssh.fullName).toBe('Remote Services: SSH');
    expect(ssh.tactics).toEqual(['Lateral Movement']);
    // A sub-technique not in the table counts as its parent.
    expect(table.tacticsOf(['T1562.999'])).toEqual(['Defense Evasion']);
    expect(table.tacticsOf(['T1040', 'T1087.004']).sort()).toEqual(['Credential Access', 'Discovery']);
  });

  it('reads the spellings sources use for tactics (Sigma tags old and new, Stratus names)', async () => {
    const { table } = await readAttackTable();
    for (const s of [
      'attack.defense-evasion',
      'attack.defense_evasion',
      'attack.stealth',
      'attack.defense-impairment',
    ])
      expect(table.tactic(s), s).toBe('Defense Evasion');
    expect(table.tactic('Credential Access')).toBe('Credential Access');
    expect(table.tactic('attack.command-and-control')).toBe('Command and Control');
    expect(table.tactic('attack.t1078')).toBeUndefined();
  });

  it('settles the names the former copies disagreed on with attack.mitre.org', async () => {
    const { table } = await readAttackTable();
    // The enrichment copy had the pre-v12 name of T1530 and the wrong sub-technique name for T1578.005.
    expect(table.technique('T1530')?.name).toBe('Data from Cloud Storage');
    expect(table.technique('T1578.005')?.fullName).toBe(
      'Modify Cloud Compute Infrastructure: Modify Cloud Compute Configurations',
    );
  });

  it('reports an unknown tactic and a bad id at their lines', () => {
    const text = [
      'tactics:',
      '  - { id: TA0007, name: Discovery }',
      'techniques:',
      '  T1087: { name: Account Discovery, tactics: [Discovery] }',
      '  T1526: { name: Cloud Service Discovery, tactics: [Discvery] }',
      '  X1: { name: Nothing }',
    ].join('\n');
    const { problems } = parseAttackTable('attack.yaml', text);
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      expect.stringMatching(/^6: techniques\.X1: /),
    ]);
    const fixed = parseAttackTable('attack.yaml', text.replace('  X1: { name: Nothing }', ''));
    expect(fixed.problems).toEqual([
      { file: 'attack.yaml', line: 5, message: "T1526: unknown tactic 'Discvery'" },
    ]);
  });
});
