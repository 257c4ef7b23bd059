/** `cartographer digest` as a user runs it: JSON contract, ordering, the data's own day, bad arguments. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cartographer.js', 'digest', ...args], {
    encoding: 'utf8',
    env: { ...process.env, CARTOGRAPHER_TIMEZONE: '' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cartographer digest', () => {
  it('prints exactly the JSON contract, sessions ordered by risk', () => {
    const r = cli('demo/invictus', '--date', '2023-07-10', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(Object.keys(d)).toEqual(['date', 'sessions', 'countsBySeverity', 'countsByTactic', 'new']);
    expect(d.date).toBe('2023-07-10');
    expect(d.sessions.length).toBeGreaterThan(10);
    for (const s of d.sessions) {
      expect(Object.keys(s)).toEqual(['key', 'principal', 'risk', 'findings']);
      expect(typeof s.risk).toBe('number');
    }
    const risks = d.sessions.map((s: { risk: number }) => s.risk);
    expect(risks).toEqual([...risks].sort((a: number, b: number) => b - a));
    const total = d.sessions.reduce((n: number, s: { findings: unknown[] }) => n + s.findings.length, 0);
    const counted = Object.values(d.countsBySeverity as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(counted).toBe(total);
    expect(Object.keys(d.countsBySeverity)).toEqual(['info', 'low', 'medium', 'high', 'critical']);
    expect(Object.keys(d.new)).toEqual([
      'baselineDays',
      'principals',
      'networks',
      'regions',
      'userAgents',
      'services',
    ]);
  }, 60_000);

  it('without --date on old local files covers their latest day and says so on stderr', () => {
    const r = cli('demo/', '--format', 'json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).date).toBe('2024-04-13');
    expect(r.stderr).toMatch(
      /note: The local CloudTrail files have no events on \d{4}-\d{2}-\d{2}; they end on 2024-04-13/,
    );
  }, 60_000);

  it('rejects a bad date or time zone with exit code 2, naming the option', () => {
    const bad = cli('demo/invictus', '--date', '2023-13-01');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--date: '2023-13-01' is not a calendar date");
    const tz = cli('demo/invictus', '--timezone', 'Mars/Olympus');
    expect(tz.code).toBe(2);
    expect(tz.stderr).toContain("--timezone 'Mars/Olympus' is not an IANA time zone");
  }, 60_000);
});
