/**
 * `cartographer rules test` over every bundled rule (what CI runs), custom rule folders (`--rules DIR`: own and
 * Sigma rules with their tests and tuning, provenance "custom"), `rules coverage`, and `rules check` on tuning
 * and org context that name things that do not exist.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkDetectionRules, DEFAULT_RULES_ROOT } from '../../../adapters/rules/detection-rules.ts';
import { run } from '../../../cli/commands/rules.ts';
import { computeCoverage, formatCoverage } from '../../../cli/commands/rules-coverage.ts';
import { formatRuleTests, ruleTestsFailed, runRuleTests } from '../../../cli/commands/rules-test.ts';
import { TEST_DIR } from '../../support/paths.ts';

const ROOT = join(TEST_DIR, '..');

describe('rules test over the bundled rules (CI)', () => {
  it('every rule has its test events and every case passes', async () => {
    const result = await runRuleTests({});
    const text = formatRuleTests(result);
    const failing = result.reports.filter((r) => r.problems.length > 0);
    expect(failing.map((r) => `${r.rule}: ${r.problems.join('; ')}`)).toEqual([]);
    expect(result.problems).toEqual([]);
    expect(ruleTestsFailed(result)).toBe(false);
    // Own rules fire and stay quiet at least once each; third-party rules fire at least once.
    for (const r of result.reports) {
      expect(r.positives, r.rule).toBeGreaterThan(0);
      if (r.provenance === 'own') expect(r.negatives, r.rule).toBeGreaterThan(0);
    }
    const by = (p: string) => result.reports.filter((r) => r.provenance === p).length;
    expect(by('own')).toBeGreaterThan(250);
    expect(by('sigma')).toBeGreaterThan(55);
    expect(by('cloudgrappler')).toBeGreaterThan(50);
    console.log(text.split('\n').slice(-2).join('\n'));
  }, 120_000);
});

/** A custom rules folder: one own rule, one Sigma correlation with its base rule, their tests and a tuning file. */
function customFolder(opts: { failingTest?: boolean; tuningTarget?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'custom-rules-'));
  writeFileSync(
    join(dir, 'payroll.yaml'),
    `rules:
  - id: acme.payroll-bucket-policy
    title: Payroll bucket policy changed
    description: The payroll bucket's policy was changed.
    severity: high
    techniques: [T1530]
    where:
      all:
        - { field: eventName, equals: PutBucketPolicy }
        - { field: requestParameters.bucketName, startsWith: acme-payroll }
`,
  );
  writeFileSync(
    join(dir, 'denied-bursts.yml'),
    `title: Denied S3 read
id: 6d1e1f1c-0000-4000-8000-000000000001
name: acme_denied_s3_read
logsource: { product: aws, service: cloudtrail }
detection:
  selection: { eventSource: s3.amazonaws.com, eventName: GetObject, errorCode: AccessDenied }
  condition: selection
level: informational
---
title: Many denied S3 reads from one address
id: 6d1e1f1c-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [acme_denied_s3_read]
  group-by: [sourceIPAddress]
  timespan: 5m
  condition: { gte: 3 }
level: medium
tags: [attack.collection, attack.t1530]
`,
  );
  writeFileSync(
    join(dir, 'tuning.yaml'),
    `overrides:
  - id: ${opts.tuningTarget ?? 'acme.payroll-bucket-policy'}
    reason: the platform team's pipeline updates the policy on every deploy
    excludePrincipals: ['arn:aws:iam::*:role/payroll-deploy']
`,
  );
  mkdirSync(join(dir, 'tests'));
  const put = (bucket: string, arn: string) => `
      - eventVersion: '1.09'
        userIdentity: { type: IAMUser, arn: '${arn}', accountId: '111122223333', userName: dana }
        eventTime: '2025-03-04T10:00:00Z'
        eventSource: s3.amazonaws.com
        eventName: PutBucketPolicy
        awsRegion: us-east-1
        sourceIPAddress: 198.51.100.23
        requestParameters: { bucketName: ${bucket}, bucketPolicy: { Version: '2012-10-17', Statement: [] } }
        eventID: ${bucket}-${arn.length}
        recipientAccountId: '111122223333'`;
  const denied = (n: number) =>
    Array.from(
      { length: n },
      (_, i) => `
      - eventVersion: '1.09'
        userIdentity: { type: IAMUser, arn: 'arn:aws:iam::111122223333:user/u${i}', accountId: '111122223333', userName: u${i} }
        eventTime: '2025-03-04T10:0${i}:00Z'
        eventSource: s3.amazonaws.com
        eventName: GetObject
        errorCode: AccessDenied
        awsRegion: us-east-1
        sourceIPAddress: 203.0.113.9
        requestParameters: { bucketName: acme-payroll-2025, key: 'p${i}.csv' }
        eventID: denied-${n}-${i}
        recipientAccountId: '111122223333'`,
    ).join('');
  writeFileSync(
    join(dir, 'tests', 'custom.yaml'),
    `tests:
  - rule: acme.payroll-bucket-policy
    name: a person changes the payroll bucket policy
    fires: true
    severity: high
    events:${put('acme-payroll-2025', 'arn:aws:iam::111122223333:user/dana')}
  - rule: acme.payroll-bucket-policy
    name: the deploy role is tuned out
    fires: ${opts.failingTest ? 'true' : 'false'}
    events:${put('acme-payroll-2025', 'arn:aws:iam::111122223333:role/payroll-deploy')}
  - rule: sigma:6d1e1f1c-0000-4000-8000-000000000002
    name: three denied reads from one address within five minutes
    fires: true
    events:${denied(3)}
  - rule: sigma:6d1e1f1c-0000-4000-8000-000000000002
    name: two are not enough
    fires: false
    events:${denied(2)}
`,
  );
  return dir;
}

describe('custom rule folders', () => {
  afterEach(() => vi.restoreAllMocks());

  it('rules test runs their tests; a Sigma correlation and tuning in the folder work; failures exit 1', async () => {
    const dir = customFolder();
    const ok = await runRuleTests({
      extraRuleDirs: [dir],
      only: ['acme.payroll-bucket-policy', 'sigma:6d1e1f1c-0000-4000-8000-000000000002'],
    });
    expect(ok.reports.map((r) => [r.rule, r.provenance, r.passed, r.failed, r.problems])).toEqual([
      ['acme.payroll-bucket-policy', 'custom', 2, 0, []],
      ['sigma:6d1e1f1c-0000-4000-8000-000000000002', 'custom', 2, 0, []],
    ]);
    // The base rule only feeds the correlation: it is not a rule of its own in the report.
    expect(ok.reports.some((r) => r.rule === 'sigma:6d1e1f1c-0000-4000-8000-000000000001')).toBe(false);

    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    const code = await run([
      'test',
      '--rules',
      customFolder({ failingTest: true }),
      'acme.payroll-bucket-policy',
    ]);
    expect(code).toBe(1);
    expect(out.join('')).toMatch(/FAIL {2}acme\.payroll-bucket-policy {2}1\/2 cases/);
    expect(out.join('')).toMatch(/'the deploy role is tuned out' \(fires\): did not fire/);
  }, 60_000);

  it('scan --rules DIR adds the folder: findings carry provenance "custom" and the session risk', async () => {
    const dir = customFolder();
    const log = join(mkdtempSync(join(tmpdir(), 'custom-log-')), 'log.json');
    writeFileSync(
      log,
      JSON.stringify({
        Records: [
          {
            eventVersion: '1.09',
            userIdentity: {
              type: 'IAMUser',
              arn: 'arn:aws:iam::111122223333:user/dana',
              accountId: '111122223333',
              userName: 'dana',
            },
            eventTime: '2025-03-04T10:00:00Z',
            eventSource: 's3.amazonaws.com',
            eventName: 'PutBucketPolicy',
            awsRegion: 'us-east-1',
            sourceIPAddress: '198.51.100.23',
            requestParameters: {
              bucketName: 'acme-payroll-2025',
              bucketPolicy: { Version: '2012-10-17', Statement: [] },
            },
            eventID: 'e-1',
            recipientAccountId: '111122223333',
          },
        ],
      }),
    );
    const { stdout } = await promisify(execFile)(
      'node',
      [join(ROOT, 'bin', 'cartographer.js'), 'scan', log, '--rules', dir, '--format', 'json'],
      { cwd: ROOT, env: { ...process.env, CARTOGRAPHER_ALLOWLIST: '' } },
    );
    const findings = (JSON.parse(stdout) as { findings: Record<string, unknown>[] }).findings;
    const mine = findings.find((f) => f.ruleId === 'acme.payroll-bucket-policy')!;
    expect(mine).toMatchObject({ provenance: 'custom', severity: 'high' });
    expect(mine.sessionRisk).toBeGreaterThanOrEqual(35);
    expect(findings.every((f) => typeof f.sessionRisk === 'number')).toBe(true);
  }, 60_000);

  it('rules check names tuning of a rule that no longer exists', async () => {
    const problems = await checkDetectionRules(DEFAULT_RULES_ROOT, [
      customFolder({ tuningTarget: 'acme.renamed-rule' }),
    ]);
    expect(problems.map((p) => p.message)).toContain(
      "tuning names rule 'acme.renamed-rule', which does not exist (removed or renamed upstream?)",
    );
  });
});

describe('rules coverage', () => {
  it('lists techniques and tactics with their rules by provenance, and what has no rule', async () => {
    const c = await computeCoverage({});
    const t = c.techniques.find((x) => x.id === 'T1078.004')!;
    expect(t.rules.some((r) => r.provenance === 'own')).toBe(true);
    expect(t.rules.some((r) => r.provenance === 'sigma')).toBe(true);
    expect(c.tactics.map((x) => x.name)).toContain('Credential Access');
    expect(c.uncovered.length).toBeGreaterThan(0);
    expect(c.uncovered.every((u) => !c.techniques.find((x) => x.id === u.id)!.rules.length)).toBe(true);
    expect(c.byProvenance.own).toBeGreaterThan(250);
    const text = formatCoverage(c);
    expect(text).toMatch(/^ATT&CK coverage: \d+ of \d+ known techniques have a rule/);
    expect(text).toMatch(/no rule \(\d+\):/);
  });
});
