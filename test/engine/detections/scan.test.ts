/** `cartographer scan`: the documented JSON shape, the severity floor, text output and argument errors. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TEST_DIR } from '../../support/paths.ts';

const run = promisify(execFile);
const ROOT = join(TEST_DIR, '..');
const LOG = join(ROOT, 'test', 'fixtures', 'stratus-red-team', 'detonation-logs');
const scan = (...args: string[]) =>
  run('node', [join(ROOT, 'bin', 'cartographer.js'), 'scan', ...args], {
    cwd: ROOT,
    env: { ...process.env, CARTOGRAPHER_ALLOWLIST: '' },
  });

describe('cartographer scan', () => {
  it('prints findings as the documented JSON', async () => {
    const { stdout } = await scan(
      join(LOG, 'aws.defense-evasion.cloudtrail-stop.json'),
      join(LOG, 'aws.persistence.iam-backdoor-user.json'),
      '--format',
      'json',
    );
    const doc = JSON.parse(stdout) as { findings: Record<string, unknown>[] };
    expect(doc.findings.length).toBeGreaterThan(0);
    for (const f of doc.findings) {
      expect(Object.keys(f).sort()).toEqual(
        [
          'eventIds',
          'explanation',
          'id',
          'principal',
          'provenance',
          'ruleId',
          'sessionKey',
          'sessionRisk',
          'severity',
          'tactics',
          'techniques',
          'time',
          'title',
        ].sort(),
      );
      expect(['low', 'medium', 'high', 'critical']).toContain(f.severity);
      expect(['own', 'sigma', 'cloudgrappler']).toContain(f.provenance);
      expect(f.sessionRisk).toBeGreaterThan(0);
      for (const t of f.techniques as string[]) expect(t).toMatch(/^T\d{4}(\.\d{3})?$/);
    }
    const stop = doc.findings.find((f) => f.ruleId === 'cartographer.cloudtrail-stopped-or-deleted')!;
    expect(stop.tactics).toEqual(['Defense Evasion']);
    const log = JSON.parse(readFileSync(join(LOG, 'aws.defense-evasion.cloudtrail-stop.json'), 'utf8')) as {
      eventID: string;
    }[];
    expect(stop.eventIds).toEqual([log[0]!.eventID]);
    expect(doc.findings.some((f) => f.ruleId === 'cartographer.access-key-for-other-user')).toBe(true);
  });

  it('hides findings below --min-severity and keeps ids stable across runs', async () => {
    const file = join(LOG, 'aws.execution.ec2-launch-unusual-instances.json');
    const all = JSON.parse((await scan(file, '--format', 'json', '--min-severity', 'info')).stdout)
      .findings as { id: string; severity: string }[];
    const high = JSON.parse((await scan(file, '--format', 'json', '--min-severity', 'high')).stdout)
      .findings as { id: string; severity: string }[];
    expect(all.some((f) => f.severity === 'info' || f.severity === 'low')).toBe(true);
    expect(high.every((f) => f.severity === 'high' || f.severity === 'critical')).toBe(true);
    expect(high.length).toBeLessThan(all.length);
    const again = JSON.parse((await scan(file, '--format', 'json', '--min-severity', 'info')).stdout)
      .findings as { id: string }[];
    expect(again.map((f) => f.id)).toEqual(all.map((f) => f.id));
  });

  it('prints text with the riskiest session first', async () => {
    const { stdout } = await scan(join(LOG, 'aws.defense-evasion.cloudtrail-stop.json'));
    expect(stdout).toMatch(/^risk +\d+ /);
    expect(stdout).toContain('HIGH');
    expect(stdout).toContain('CloudTrail logging stopped or trail deleted [T1562.008 · Defense Evasion]');
    expect(stdout).toMatch(/\d+ findings? at low or above in 1 session/);
  });

  it('rejects bad arguments with exit code 2', async () => {
    await expect(scan(LOG, '--min-severity', 'severe')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--min-severity must be one of'),
    });
    await expect(scan(LOG, '--format', 'xml')).rejects.toMatchObject({ code: 2 });
  });

  it('leaves findings and risk on every session of summarize --format json', async () => {
    const { stdout } = await run(
      'node',
      [
        join(ROOT, 'bin', 'cartographer.js'),
        'summarize',
        join(LOG, 'aws.persistence.iam-create-admin-user.json'),
        '--format',
        'json',
        '--no-events',
      ],
      { cwd: ROOT, env: { ...process.env, CARTOGRAPHER_ALLOWLIST: '' } },
    );
    const doc = JSON.parse(stdout) as {
      sessions: { findings: { ruleId: string }[]; risk?: { score: number; reasons: string[] } }[];
    };
    const session = doc.sessions.find((s) =>
      s.findings.some((f) => f.ruleId === 'cartographer.admin-policy-attached'),
    )!;
    expect(session.risk!.score).toBeGreaterThan(50);
    expect(session.risk!.reasons.some((r) => r.includes('Administrator access granted'))).toBe(true);
  });

  it('reports a bad allow-list entry with its file and line, not a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-allowlist-'));
    const file = join(dir, 'allowlist.yaml');
    writeFileSync(file, 'entries:\n  - ip: not-an-ip\n    reason: office\n');
    const failed = await run('node', [join(ROOT, 'bin', 'cartographer.js'), 'scan', LOG], {
      cwd: ROOT,
      env: { ...process.env, CARTOGRAPHER_ALLOWLIST: file },
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toContain(`${file}:2`);
    expect(failed?.stderr).toContain('cartographer rules check');
    expect(failed?.stderr).not.toMatch(/\n\s+at /);
    rmSync(dir, { recursive: true, force: true });
  });
});
