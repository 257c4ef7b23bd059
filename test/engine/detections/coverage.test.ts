/**
 * Detection coverage on public data, through the real pipeline pieces (ingestion, sessions, enrichment,
 * detections): every Stratus Red Team detonation, Panther's rule test events, and the Invictus data set
 * with two people's console sessions around a full Stratus run.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CartographerDetector, createDetector } from '../../../adapters/rules/detection-rules.ts';
import type { Finding, Severity } from '../../../engine/model.ts';
import { analyze, type SessionReport } from '../../../engine/pipeline.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { createEnricher, createEnricherFactory } from '../../../enrichment/index.ts';
import { evaluateCase, formatSummary, readCases, summarise } from '../../support/panther-cases.ts';
import { TEST_DIR } from '../../support/paths.ts';

const FIXTURES = join(TEST_DIR, 'fixtures');
const RANK: Record<Severity, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };
let detector: CartographerDetector;

beforeAll(async () => {
  detector = await createDetector();
});

async function sessionsOf(paths: string[]): Promise<SessionReport[]> {
  const enricher = await createEnricher();
  const analysis = analyze(createLocalSource(paths).read({}), { enricher, detector });
  const out: SessionReport[] = [];
  for await (const s of analysis.sessions) out.push(s);
  return out;
}

describe('Stratus Red Team', () => {
  const index = JSON.parse(
    readFileSync(join(FIXTURES, 'stratus-red-team', 'aws-technique-events.json'), 'utf8'),
  ) as {
    techniques: { id: string; mitreAttackTactics: string[]; detonationLogFile?: string }[];
  };
  const withLogs = index.techniques.filter((t) => t.detonationLogFile);
  /** An ordinary SDK user agent instead of Stratus's name tag (which sits inside Terraform's or the SDK's). */
  const PLAIN_UA =
    'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.30.3';

  it('has 35 detonation logs to check', () => {
    expect(withLogs).toHaveLength(35);
  });

  const findingsOf = async (file: string, replaceUserAgent: boolean): Promise<Finding[]> => {
    const text = readFileSync(join(FIXTURES, 'stratus-red-team', file), 'utf8');
    const records = JSON.parse(text) as Record<string, unknown>[];
    const fed = replaceUserAgent
      ? records.map((r) =>
          typeof r.userAgent === 'string' && /stratus-red-team/i.test(r.userAgent)
            ? { ...r, userAgent: PLAIN_UA }
            : r,
        )
      : records;
    const dir = mkdtempSync(join(tmpdir(), 'stratus-'));
    const path = join(dir, 'log.json');
    writeFileSync(path, JSON.stringify(fed));
    return (await sessionsOf([path])).flatMap((s) => s.findings);
  };

  it.each(withLogs.map((t) => [t.id, t] as const))(
    '%s raises a finding with its tactic; without the Stratus user agent still at least medium',
    async (_id, technique) => {
      for (const plain of [false, true]) {
        const findings = await findingsOf(technique.detonationLogFile!, plain);
        const matching = findings.filter((f) =>
          f.tactics.some((t) => technique.mitreAttackTactics.includes(t)),
        );
        const label = `${plain ? 'plain UA' : 'as recorded'}: ${findings.map((f) => `${f.ruleId}:${f.severity} [${f.tactics}]`).join(', ')}`;
        expect(matching.length, label).toBeGreaterThan(0);
        if (plain) {
          expect(
            findings.some((f) => f.ruleId === 'cartographer.offensive-tool-user-agent'),
            label,
          ).toBe(false);
          expect(
            matching.some((f) => RANK[f.severity] >= RANK.medium),
            label,
          ).toBe(true);
        }
      }
    },
  );
});

describe('privilege-escalation paths (pathfinding.cloud sequences)', () => {
  it('recognises stop → change user data → start on the Stratus detonation as path ec2-002', async () => {
    const sessions = await sessionsOf([
      join(FIXTURES, 'stratus-red-team', 'detonation-logs', 'aws.execution.ec2-user-data.json'),
    ]);
    const f = sessions.flatMap((s) => s.findings).find((x) => x.ruleId === 'pathfinding.ec2-002');
    expect(f?.explanation).toMatch(
      /ec2:StopInstances \(StopInstances\) → ec2:ModifyInstanceAttribute \(ModifyInstanceAttribute\) → ec2:StartInstances/,
    );
    expect(f?.eventIds).toHaveLength(3);
  });
});

describe('Invictus data set (demo/invictus)', () => {
  let sessions: SessionReport[];
  beforeAll(async () => {
    sessions = await sessionsOf([join(TEST_DIR, '..', 'demo', 'invictus')]);
  });
  const who = (s: SessionReport) => s.principal.arn ?? s.principal.userName ?? '';

  it("raises nothing above low on the two people's console browsing", () => {
    const human = sessions.filter((s) => s.kind === 'console' && /user\/(bert-jan|benjamin)$/.test(who(s)));
    expect(human.length).toBeGreaterThanOrEqual(2);
    for (const s of human) {
      const loud = s.findings.filter((f) => RANK[f.severity] > RANK.low);
      expect(
        loud.map((f) => `${f.ruleId}:${f.severity}`),
        who(s),
      ).toEqual([]);
    }
  });

  it('flags every Stratus technique detonated in the data set, with its tactic, on the events that did it', () => {
    const index = JSON.parse(
      readFileSync(join(FIXTURES, 'stratus-red-team', 'aws-technique-events.json'), 'utf8'),
    ) as { techniques: { id: string; mitreAttackTactics: string[]; cloudTrailEvents?: string[] }[] };
    const dir = join(TEST_DIR, '..', 'demo', 'invictus');
    const records = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .flatMap(
        (f) =>
          (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { Records: Record<string, string>[] }).Records,
      );
    // The technique's own actions (not the tool's incidental calls or lookups), made by the Stratus run.
    const decisive = (pair: string) =>
      !/:(AssumeRole|GetCallerIdentity|Describe\w*|List\w*|GetCommandInvocation)$/.test(pair);
    const byPair = new Map<string, string[]>();
    for (const r of records) {
      // The run's calls: Stratus's user agent, or the roles it created (stolen instance credentials are used with
      // an ordinary SDK).
      const arn = (r.userIdentity as unknown as { arn?: string } | undefined)?.arn ?? '';
      if (!/stratus-red-team/.test(r.userAgent ?? '') && !/stratus-red-team/.test(arn)) continue;
      const pair = `${r.eventSource}:${r.eventName}`;
      byPair.set(pair, [...(byPair.get(pair) ?? []), r.eventID!]);
    }
    const findings = sessions.flatMap((s) => s.findings);
    const detonated = index.techniques.filter((t) =>
      (t.cloudTrailEvents ?? []).some((p) => decisive(p) && byPair.has(p)),
    );
    expect(detonated.length).toBeGreaterThanOrEqual(20);
    const missed: string[] = [];
    for (const t of detonated) {
      // Any of the technique's own calls by the run (reads included: stolen instance credentials are used to list).
      const own = (t.cloudTrailEvents ?? []).filter((p) => !/:(AssumeRole|GetCallerIdentity)$/.test(p));
      const ids = new Set(own.flatMap((p) => byPair.get(p) ?? []));
      const hit = findings.some(
        (f) =>
          f.eventIds.some((id) => ids.has(id)) && f.tactics.some((x) => t.mitreAttackTactics.includes(x)),
      );
      if (!hit) missed.push(t.id);
    }
    expect(missed).toEqual([]);
  });

  it('raises the attacks, and the attack session is the riskiest', () => {
    const all = sessions.flatMap((s) => s.findings);
    const rules = new Set(all.map((f) => f.ruleId));
    for (const id of [
      'cartographer.cloudtrail-stopped-or-deleted',
      'cartographer.vpc-flow-logs-deleted',
      'cartographer.secrets-read-in-bulk',
      'cartographer.parameters-decrypted-in-bulk',
      'cartographer.snapshot-shared',
      'cartographer.ami-shared',
      'cartographer.rds-snapshot-shared',
      'cartographer.security-group-open-to-world',
      'cartographer.admin-policy-attached',
      'cartographer.access-key-for-other-user',
      'cartographer.login-profile-for-other-user',
      'cartographer.trust-policy-opened',
      'cartographer.instance-credentials-outside-instance',
      'cartographer.console-login-without-mfa',
    ]) {
      expect(rules, id).toContain(id);
    }
    const tactics = new Set(all.filter((f) => RANK[f.severity] >= RANK.medium).flatMap((f) => f.tactics));
    for (const t of [
      'Defense Evasion',
      'Credential Access',
      'Persistence',
      'Privilege Escalation',
      'Exfiltration',
      'Execution',
    ]) {
      expect(tactics, t).toContain(t);
    }
    const ranked = [...sessions].sort((a, b) => (b.risk?.score ?? 0) - (a.risk?.score ?? 0));
    expect(ranked[0]!.findings.some((f) => f.ruleId === 'cartographer.offensive-tool-user-agent')).toBe(true);
    expect(ranked[0]!.risk!.score).toBeGreaterThanOrEqual(90);
    const humanScores = sessions
      .filter((s) => s.kind === 'console' && /user\/(bert-jan|benjamin)$/.test(who(s)))
      .map((s) => s.risk?.score ?? 0);
    expect(Math.max(...humanScores)).toBeLessThan(20);
  });
});

describe("Panther's CloudTrail rule tests, each case scanned on its own", () => {
  it('flags at least 95% of the positives and alarms (above info) on at most 10% of the negatives', async () => {
    const dir = join(FIXTURES, 'panther-analysis-cloudtrail');
    const cases = readCases([
      join(dir, 'panther_aws_cloudtrail_rules.jsonl'),
      join(dir, 'panther_standard_rules_cloudtrail.jsonl'),
    ]);
    const makeEnricher = await createEnricherFactory();
    const results = [];
    for (const c of cases) results.push(await evaluateCase(c, detector, async () => makeEnricher()));
    const summary = summarise(results);
    mkdirSync(join(TEST_DIR, '..', 'test-artifacts'), { recursive: true });
    writeFileSync(
      join(TEST_DIR, '..', 'test-artifacts', 'panther.json'),
      `${JSON.stringify(
        {
          summary,
          missed: results.filter((r) => r.expected && !r.flagged),
          alarmedNegatives: results.filter((r) => !r.expected && r.alarmed),
          results,
        },
        null,
        2,
      )}\n`,
    );
    console.log(formatSummary('Panther shared set', summary));
    expect(summary.positives + summary.negatives).toBe(380);
    expect(summary.recall).toBeGreaterThanOrEqual(0.95);
    expect(summary.falseAlarmRate).toBeLessThanOrEqual(0.1);
  });
});
