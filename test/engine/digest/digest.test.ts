/**
 * The digest engine on the bundled Invictus CloudTrail (real records through the real pipeline and
 * detections): ranking, counts, "new" against a baseline, top findings, quiet days, networks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDigestMessage } from '../../../bot/messages/digest.ts';
import { checkMessage } from '../../../bot/messages/limits.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { buildDigest, type DigestSessionInput, digestJson } from '../../../engine/digest/build.ts';
import { collectDays } from '../../../engine/digest/collect.ts';
import { emptyFacts, mergeFacts, principalIdentity } from '../../../engine/digest/facts.ts';
import { networkOf } from '../../../engine/digest/networks.ts';
import { SEVERITIES, type Severity } from '../../../engine/model.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
let day: DigestSessionInput[];

beforeAll(async () => {
  const stages = await loadDefaultStages();
  const collected = await collectDays(createLocalSource(['demo/invictus']).read({}), stages, 'UTC');
  expect([...collected.days.keys()]).toEqual(['2023-07-10']);
  day = collected.days.get('2023-07-10')!;
}, 60_000);

describe('source networks', () => {
  it('groups IPv4 by /24 and IPv6 by /48, and ignores service names', () => {
    expect(networkOf('198.51.100.7')).toBe('198.51.100.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(networkOf('2001:db8::1')).toBe('2001:db8:0::/48');
    expect(networkOf('2001:0DB8:00ab:ffff:1:2:3:4')).toBe('2001:db8:ab::/48');
    expect(networkOf('::ffff:10.1.2.3')).toBe('10.1.2.0/24');
    expect(networkOf('iam.amazonaws.com')).toBeUndefined();
    expect(networkOf('AWS Internal')).toBeUndefined();
  });
});

describe('digest of a day', () => {
  it('ranks sessions by risk and counts findings by severity and tactic', () => {
    const d = buildDigest(day, {
      date: '2023-07-10',
      timeZone: 'UTC',
      baseline: emptyFacts(),
      baselineDays: 0,
    });
    expect(d.sessions).toHaveLength(day.length);
    for (let i = 1; i < d.sessions.length; i++) {
      expect(d.sessions[i - 1]!.risk).toBeGreaterThanOrEqual(d.sessions[i]!.risk);
    }
    // The Stratus Red Team run by bert-jan's access key is the riskiest session of the day.
    expect(d.sessions[0]?.principal).toBe('arn:aws:iam::123837392027:user/bert-jan');
    const all = day.flatMap((s) => s.summary.findings);
    for (const sev of SEVERITIES)
      expect(d.countsBySeverity[sev]).toBe(all.filter((f) => f.severity === sev).length);
    const tactics = new Map<string, number>();
    for (const f of all) for (const t of new Set(f.tactics)) tactics.set(t, (tactics.get(t) ?? 0) + 1);
    expect(d.countsByTactic).toEqual(Object.fromEntries(tactics));
    const counts = Object.values(d.countsByTactic);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    expect(d.totals.events).toBe(day.reduce((n, s) => n + s.summary.eventCount, 0));
    expect(d.quiet).toBe(false);
  });

  it('lists top findings worst first, one per rule and session', () => {
    const d = buildDigest(day, {
      date: '2023-07-10',
      timeZone: 'UTC',
      baseline: emptyFacts(),
      baselineDays: 0,
    });
    expect(d.topFindings.length).toBeGreaterThan(3);
    const ranks = d.topFindings.map((t) => RANK[t.finding.severity]);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    const pairs = d.topFindings.map((t) => `${t.sessionKey} ${t.finding.ruleId}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    // One noisy session does not fill the list while other sessions have high findings too.
    const perSession = new Map<string, number>();
    for (const t of d.topFindings.slice(0, 5))
      perSession.set(t.sessionKey, (perSession.get(t.sessionKey) ?? 0) + 1);
    expect(Math.max(...perSession.values())).toBeLessThanOrEqual(3);
    expect(perSession.size).toBeGreaterThan(1);
  });

  it('reports as new only what the baseline days did not see', () => {
    const bertJan = 'arn:aws:iam::123837392027:user/bert-jan';
    // Baseline: everything but the sessions of bert-jan and of Stratus Red Team's roles and users.
    const known = day.filter((s) => {
      const who = principalIdentity(s.summary.principal) ?? '';
      return who !== bertJan && !who.includes('stratus-red-team');
    });
    const baseline = known.reduce((acc, s) => mergeFacts(acc, s.facts), emptyFacts());
    const d = buildDigest(day, { date: '2023-07-10', timeZone: 'UTC', baseline, baselineDays: 7 });
    expect(d.new.baselineDays).toBe(7);
    expect(d.new.principals).toContain(bertJan);
    // Assumed roles are compared by the role behind them, not by their session names.
    expect(d.new.principals).toContain('arn:aws:iam::123837392027:role/stratus-red-team-leave-org-role');
    expect(d.new.principals.filter((p) => p.includes('assumed-role'))).toEqual([]);
    for (const p of d.new.principals) expect(baseline.principals.has(p)).toBe(false);
    for (const n of d.new.networks) expect(n).toMatch(/\/(24|48)$/);
    // With the whole day as its own baseline nothing is new.
    const all = day.reduce((acc, s) => mergeFacts(acc, s.facts), emptyFacts());
    const same = buildDigest(day, { date: '2023-07-10', timeZone: 'UTC', baseline: all, baselineDays: 3 });
    expect(
      Object.entries(same.new).filter(([k, v]) => k !== 'baselineDays' && (v as string[]).length > 0),
    ).toEqual([]);
  });

  it('a quiet day (nothing above info, nothing new) is one line', () => {
    const calm = day.filter((s) => s.summary.findings.every((f) => f.severity === 'info'));
    expect(calm.length).toBeGreaterThan(0);
    const baseline = calm.reduce((acc, s) => mergeFacts(acc, s.facts), emptyFacts());
    const d = buildDigest(calm, { date: '2023-07-10', timeZone: 'UTC', baseline, baselineDays: 5 });
    expect(d.quiet).toBe(true);
    const m = buildDigestMessage(d, { sessionRef: () => 'ref', sourceLabel: 'local CloudTrail files' });
    expect(m.blocks).toHaveLength(1);
    expect(m.text).toMatch(
      /^Quiet day 2023-07-10 \(UTC\): \d+ sessions?, [\d,]+ events?, no findings above info, nothing new\.$/,
    );
    expect(checkMessage(m)).toEqual([]);
  });

  it('keeps a finding title with glob stars inside one bold run', () => {
    const d = buildDigest(day, {
      date: '2023-07-10',
      timeZone: 'UTC',
      baseline: emptyFacts(),
      baselineDays: 0,
    });
    const top = d.topFindings[0]!;
    const title = 'CloudGrappler indicator: (GetSecretValue.*exec-env*CloudShell)';
    const withGlob = { ...d, topFindings: [{ ...top, finding: { ...top.finding, title } }] };
    const m = buildDigestMessage(withGlob, {
      sessionRef: () => 'ref',
      sourceLabel: 'local CloudTrail files',
    });
    const line = JSON.stringify(m.blocks).match(/\*CloudGrappler indicator[^"]*/)?.[0] ?? '';
    expect(line).toContain('*CloudGrappler indicator: (GetSecretValue.∗exec-env∗CloudShell)*');
    expect(checkMessage(m)).toEqual([]);
  });

  it('has the JSON contract of `cartographer digest --format json`', () => {
    const d = buildDigest(day, {
      date: '2023-07-10',
      timeZone: 'UTC',
      baseline: emptyFacts(),
      baselineDays: 0,
    });
    const json = digestJson(d);
    expect(Object.keys(json)).toEqual(['date', 'sessions', 'countsBySeverity', 'countsByTactic', 'new']);
    for (const s of json.sessions) expect(Object.keys(s)).toEqual(['key', 'principal', 'risk', 'findings']);
  });
});
