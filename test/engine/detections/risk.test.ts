/** Session risk: bounded, monotonic with diminishing returns, duplicates counted once, deterministic, explained. */
import { describe, expect, it } from 'vitest';
import { scoreSession } from '../../../engine/detections/risk.ts';
import type { Finding, Severity } from '../../../engine/model.ts';
import type { SessionContext } from '../../../engine/stages.ts';

const session = (type = 'IAMUser'): SessionContext => ({
  key: 's',
  kind: 'programmatic',
  principal: { type },
  accessKeyIds: [],
  sourceIps: [],
  userAgents: [],
  regions: [],
});

let n = 0;
function finding(severity: Severity, over: Partial<Finding> = {}): Finding {
  n++;
  return {
    id: `f${n}`,
    ruleId: `rule-${n}`,
    title: `Finding ${n}`,
    severity,
    techniques: [],
    tactics: [],
    sessionKey: 's',
    time: `2024-01-01T00:00:${String(n % 60).padStart(2, '0')}Z`,
    eventIds: [`e${n}`],
    explanation: '',
    ...over,
  };
}

describe('session risk', () => {
  it('is 0 with no findings and never exceeds 100', () => {
    expect(scoreSession(session(), [])).toEqual({ score: 0, reasons: [] });
    const many = Array.from({ length: 200 }, () => finding('critical'));
    expect(scoreSession(session(), many).score).toBe(100);
  });

  it('orders severities and gives diminishing returns for more of the same', () => {
    const one = (s: Severity) => scoreSession(session(), [finding(s)]).score;
    expect(one('info')).toBeLessThan(one('low'));
    expect(one('low')).toBeLessThan(one('medium'));
    expect(one('medium')).toBeLessThan(one('high'));
    expect(one('high')).toBeLessThan(one('critical'));
    const scores = [1, 2, 3, 4].map(
      (k) =>
        scoreSession(
          session(),
          Array.from({ length: k }, () => finding('medium')),
        ).score,
    );
    const gains = scores.slice(1).map((s, i) => s - scores[i]!);
    for (let i = 1; i < gains.length; i++) expect(gains[i]!).toBeLessThanOrEqual(gains[i - 1]!);
    expect(gains.every((g) => g > 0)).toBe(true);
    // Many lows never outrank one critical by sheer number.
    expect(
      scoreSession(
        session(),
        Array.from({ length: 5 }, () => finding('low')),
      ).score,
    ).toBeLessThan(one('critical'));
  });

  it('counts one event flagged by several rule sets once, at its worst severity', () => {
    const a = finding('high', { eventIds: ['same'] });
    const b = finding('medium', { eventIds: ['same'] });
    const c = finding('low', { eventIds: ['same'] });
    const merged = scoreSession(session(), [a, b, c]);
    expect(merged.score).toBe(scoreSession(session(), [a]).score);
    expect(merged.reasons[0]).toContain('also flagged by 2 more rules');
  });

  it('adds breadth across tactics, offensive tools and root, and says so', () => {
    const base = [
      finding('medium', { tactics: ['Persistence'] }),
      finding('medium', { tactics: ['Defense Evasion'] }),
      finding('medium', { tactics: ['Exfiltration'] }),
    ];
    const spread = scoreSession(session(), base);
    const narrow = scoreSession(
      session(),
      base.map((f) => ({ ...f, tactics: ['Persistence'] })),
    );
    expect(spread.score).toBeGreaterThan(narrow.score);
    expect(spread.reasons.join('\n')).toMatch(/across 3 ATT&CK tactics/);
    const tool = scoreSession(session(), [
      ...base,
      finding('high', { ruleId: 'cartographer.offensive-tool-user-agent' }),
    ]);
    expect(tool.reasons.join('\n')).toMatch(/offensive tool/);
    const root = scoreSession(session('Root'), [finding('low')]);
    expect(root.score).toBeGreaterThan(scoreSession(session(), [finding('low')]).score);
    expect(root.reasons.join('\n')).toMatch(/root credentials/);
  });

  it('is deterministic whatever the order of findings, and its reasons add up to the score', () => {
    const fs = [
      finding('high', { tactics: ['Persistence'] }),
      finding('low'),
      finding('medium', { tactics: ['Impact'] }),
      finding('critical', { tactics: ['Defense Evasion'] }),
    ];
    const forward = scoreSession(session(), fs);
    const backward = scoreSession(session(), [...fs].reverse());
    expect(backward).toEqual(forward);
    const sum = forward.reasons.reduce((t, r) => t + Number(r.match(/^\+(\d+)/)![1]), 0);
    expect(sum).toBe(forward.score);
    expect(forward.reasons[0]).toMatch(/^\+\d+ critical:/);
  });

  it('sorts the session with one critical above sessions with a handful of lows', () => {
    const sessions = {
      noisy: [finding('low'), finding('low'), finding('low'), finding('info')],
      bad: [finding('critical', { tactics: ['Persistence'] })],
      quiet: [] as Finding[],
    };
    const ranked = Object.entries(sessions)
      .map(([name, f]) => [name, scoreSession(session(), f).score] as const)
      .sort((x, y) => y[1] - x[1])
      .map(([name]) => name);
    expect(ranked).toEqual(['bad', 'noisy', 'quiet']);
  });
});
