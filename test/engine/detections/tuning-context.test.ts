/**
 * Tuning third-party and own rules as data, org context (named lists with owner and expiry, named conditions),
 * and Sigma aggregations and correlations: each on a small rules root written for the test.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDetector, loadDetectionRules } from '../../../adapters/rules/detection-rules.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import type { EngineEvent } from '../../../engine/model.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SessionContext } from '../../../engine/stages.ts';
import { writeAttackTable } from '../../support/attack-table.ts';

const TECHNIQUES = `  T1078: { name: Valid Accounts, tactics: [Initial Access] }
  T1535: { name: Unused/Unsupported Cloud Regions, tactics: [Defense Evasion] }
  T1110: { name: Brute Force, tactics: [Credential Access] }
`;

function root(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'carto-tune-'));
  for (const sub of ['detections', 'sigma', 'context']) mkdirSync(join(dir, sub));
  writeAttackTable(dir, TECHNIQUES);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

let seq = 0;
function ev(
  r: Partial<CloudTrailRecord> & Record<string, unknown>,
  at = '2025-03-04T10:00:00Z',
): EngineEvent {
  return toEngineEvent(
    {
      eventTime: at,
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      eventID: `t-${seq++}`,
      awsRegion: 'us-east-1',
      sourceIPAddress: '198.51.100.23',
      recipientAccountId: '111122223333',
      userIdentity: {
        type: 'IAMUser',
        userName: 'dana',
        arn: 'arn:aws:iam::111122223333:user/dana',
        accountId: '111122223333',
      },
      ...r,
    } as CloudTrailRecord,
    seq,
  );
}

const session: SessionContext = {
  key: 's',
  kind: 'unknown',
  principal: {},
  accessKeyIds: [],
  sourceIps: [],
  userAgents: [],
  regions: [],
};

const SIGMA_NO_MFA = `title: Console login without MFA
id: 11111111-1111-4111-8111-111111111111
author: Tester
logsource: { product: aws, service: cloudtrail }
detection:
  selection: { eventName: ConsoleLogin, additionalEventData.MFAUsed: 'NO', responseElements.ConsoleLogin: Success }
  condition: selection
level: medium
tags: [attack.t1078]
`;
const CONDITIONS = `conditions:
  sso_session:
    description: SSO sign-ins.
    where:
      any:
        - { field: additionalEventData.SamlProviderArn, exists: true }
        - { field: userIdentity.sessionContext.sessionIssuer.userName, startsWith: AWSReservedSSO_ }
  ci_role:
    description: The CI role.
    where: { ref: sso_loop_free }
  sso_loop_free:
    description: A condition referring to a list.
    where: { field: userIdentity.arn, inList: ci_principals }
lists:
  ci_principals:
    kind: glob
    description: CI.
    owner: platform
    entries: ['arn:aws:sts::*:assumed-role/ci-*']
`;

describe('tuning third-party rules as data', () => {
  const login = (extra: Record<string, unknown> = {}) =>
    ev({
      additionalEventData: { MFAUsed: 'No' },
      responseElements: { ConsoleLogin: 'Success' },
      ...extra,
    });

  it('overrides severity, adds named and ad-hoc exclusions and principal globs, or disables, without editing the rule', async () => {
    const dir = root({
      'sigma/no-mfa.yml': SIGMA_NO_MFA,
      'context/conditions.yaml': CONDITIONS,
      'sigma/tuning.yaml': `overrides:
  - id: sigma:11111111-1111-4111-8111-111111111111
    reason: IdP enforces MFA for SSO; break-glass user is watched elsewhere
    owner: secops
    severity: low
    exclude: [sso_session]
    excludePrincipals: ['*:user/break-glass']
    excludeWhere: { field: sourceIPAddress, cidr: 10.0.0.0/8 }
`,
    });
    const d = await createDetector({ rulesDir: dir });
    const fired = (e: EngineEvent) => d.detect(session, [e], []).map((f) => `${f.ruleId}:${f.severity}`);
    expect(fired(login())).toEqual(['sigma:11111111-1111-4111-8111-111111111111:low']);
    expect(
      fired(
        login({
          additionalEventData: { MFAUsed: 'No', SamlProviderArn: 'arn:aws:iam::1:saml-provider/Okta' },
        }),
      ),
    ).toEqual([]);
    expect(
      fired(login({ userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/break-glass' } })),
    ).toEqual([]);
    expect(fired(login({ sourceIPAddress: '10.1.2.3' }))).toEqual([]);
    expect(d.overridden.get('sigma:11111111-1111-4111-8111-111111111111')?.[0]).toMatch(/IdP enforces MFA/);

    const off = root({
      'sigma/no-mfa.yml': SIGMA_NO_MFA,
      'sigma/tuning.yaml': `disabled:\n  - { id: 'sigma:11111111-1111-4111-8111-111111111111', reason: not for us }\n`,
    });
    const quiet = await createDetector({ rulesDir: off });
    expect(quiet.detect(session, [login()], [])).toEqual([]);
    expect(quiet.disabled).toEqual([
      { id: 'sigma:11111111-1111-4111-8111-111111111111', reason: 'not for us' },
    ]);
  });

  it('names tuning that refers to a missing rule or condition, with file and line', () => {
    const dir = root({
      'sigma/no-mfa.yml': SIGMA_NO_MFA,
      'sigma/tuning.yaml': `overrides:
  - id: sigma:11111111-1111-4111-8111-111111111111
    reason: x
    exclude: [no_such_condition]
  - id: sigma:gone
    reason: y
    severity: info
`,
    });
    const problems = loadDetectionRules(dir).problems.map((p) => `${p.line}: ${p.message}`);
    expect(problems).toContainEqual(expect.stringMatching(/^4: unknown named condition 'no_such_condition'/));
    expect(problems).toContain(
      "5: tuning names rule 'sigma:gone', which does not exist (removed or renamed upstream?)",
    );
  });
});

describe('org context: named lists and conditions', () => {
  const RULES = `rules:
  - id: t.region
    title: Change outside approved regions
    description: Region.
    severity: medium
    techniques: [T1535]
    where:
      all:
        - { field: eventName, equals: RunInstances }
        - { field: awsRegion, notInList: approved_regions }
  - id: t.bad-ip
    title: Bad IP
    description: IOC.
    severity: high
    techniques: [T1078]
    where: { field: sourceIPAddress, inList: bad_ips }
  - id: t.ci-login
    title: CI role signed in
    description: Named condition through another named condition and a glob list.
    severity: low
    techniques: [T1078]
    where: { all: [ { field: eventName, equals: ConsoleLogin }, { ref: ci_role } ] }
`;
  const LISTS = `lists:
  approved_regions:
    kind: text
    description: Where we run.
    owner: platform
    entries: [eu-west-1, { value: us-east-1, owner: data-team, expires: 2025-06-01, reason: migration }]
  bad_ips:
    kind: cidr
    description: Intel.
    owner: threat-intel
    expires: 2025-12-31
    entries: [203.0.113.0/24, { value: 192.0.2.7, expires: 2025-04-01, source: IR-7 }]
`;

  it('matches by kind, honours each entry expiry at the event time, and an empty list never holds', async () => {
    const d = await createDetector({
      rulesDir: root({
        'detections/r.yaml': RULES,
        'context/lists.yaml': LISTS,
        'context/conditions.yaml': CONDITIONS,
      }),
    });
    const ids = (e: EngineEvent) => d.detect(session, [e], []).map((f) => f.ruleId);
    const run = (region: string, at: string) =>
      ev({ eventSource: 'ec2.amazonaws.com', eventName: 'RunInstances', awsRegion: region }, at);
    expect(ids(run('eu-west-1', '2025-03-04T10:00:00Z'))).toEqual([]);
    expect(ids(run('us-east-1', '2025-03-04T10:00:00Z'))).toEqual([]); // approved until June
    expect(ids(run('us-east-1', '2025-07-01T10:00:00Z'))).toEqual(['t.region']); // the approval expired
    expect(ids(run('ap-south-2', '2025-03-04T10:00:00Z'))).toEqual(['t.region']);
    expect(ids(ev({ eventName: 'ListBuckets', sourceIPAddress: '203.0.113.77' }))).toEqual(['t.bad-ip']);
    expect(
      ids(ev({ eventName: 'ListBuckets', sourceIPAddress: '192.0.2.7' }, '2025-03-01T00:00:00Z')),
    ).toEqual(['t.bad-ip']);
    expect(
      ids(ev({ eventName: 'ListBuckets', sourceIPAddress: '192.0.2.7' }, '2025-05-01T00:00:00Z')),
    ).toEqual([]);
    expect(
      ids(ev({ eventName: 'ListBuckets', sourceIPAddress: '203.0.113.77' }, '2026-01-02T00:00:00Z')),
    ).toEqual([]);
    const ci = { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/ci-deploy/run-1' };
    expect(ids(ev({ userIdentity: ci, responseElements: { ConsoleLogin: 'Success' } }))).toEqual([
      't.ci-login',
    ]);

    const empty = await createDetector({
      rulesDir: root({
        'detections/r.yaml': RULES,
        'context/conditions.yaml': CONDITIONS,
        'context/lists.yaml': LISTS.replace(/entries: \[eu-west-1.*\]/, 'entries: []'),
      }),
    });
    expect(empty.detect(session, [run('ap-south-2', '2025-03-04T10:00:00Z')], [])).toEqual([]);
  });

  it('rules check names unknown lists and conditions, condition cycles, and warns about expired entries', () => {
    const problems = loadDetectionRules(
      root({
        'detections/r.yaml': RULES.replace('inList: bad_ips', 'inList: no_such_list'),
        'context/lists.yaml': LISTS,
        'context/conditions.yaml': CONDITIONS,
        'context/loops.yaml': `conditions:\n  loop_a:\n    description: a\n    where: { ref: loop_b }\n  loop_b:\n    description: b\n    where: { ref: loop_a }\n`,
      }),
      undefined,
      [],
      Date.parse('2025-09-01T00:00:00Z'),
    ).problems;
    const text = problems.map((p) => `${p.severity ?? 'error'}: ${p.message}`);
    expect(text).toContainEqual(
      expect.stringMatching(/^error: rule t\.bad-ip: unknown org-context list 'no_such_list'/),
    );
    expect(text).toContainEqual(
      expect.stringMatching(
        /^error: condition 'loop_a': named conditions refer to each other: loop_a → loop_b → loop_a/,
      ),
    );
    expect(text).toContain(
      "warning: list approved_regions: entry 'us-east-1' expired on 2025-06-01 (owner data-team); renew or remove it",
    );
    expect(text).toContain(
      "warning: list bad_ips: entry '192.0.2.7' expired on 2025-04-01 (owner threat-intel); renew or remove it",
    );
  });
});

describe('Sigma aggregations and correlations', () => {
  const base = (id: string, name: string, eventName: string, extra = '') => `title: ${name}
id: ${id}
name: ${name}
logsource: { product: aws, service: cloudtrail }
detection:
  selection: { eventName: ${eventName} }
  condition: selection
level: low
${extra}`;
  const failedLogin = (user: string, ip: string, at: string) =>
    ev(
      {
        responseElements: { ConsoleLogin: 'Failure' },
        sourceIPAddress: ip,
        userIdentity: { type: 'IAMUser', userName: user },
      },
      at,
    );

  it('count() by a field with a timeframe is a threshold counted across sessions', async () => {
    const d = await createDetector({
      rulesDir: root({
        'sigma/spray.yml': `title: Spray
id: 22222222-2222-4222-8222-222222222222
logsource: { product: aws, service: cloudtrail }
detection:
  selection: { eventName: ConsoleLogin, responseElements.ConsoleLogin: Failure }
  timeframe: 10m
  condition: selection | count(userIdentity.userName) by sourceIPAddress > 2
level: high
`,
      }),
    });
    // Each failed sign-in is its own session: the count spans them.
    const f1 = d.detect(session, [failedLogin('a', '203.0.113.5', '2025-03-04T10:00:00Z')], []);
    const f2 = d.detect(
      session,
      [
        failedLogin('b', '203.0.113.5', '2025-03-04T10:02:00Z'),
        failedLogin('b', '203.0.113.5', '2025-03-04T10:02:30Z'),
      ],
      [],
    );
    const f3 = d.detect(session, [failedLogin('c', '203.0.113.5', '2025-03-04T10:04:00Z')], []);
    expect([f1.length, f2.length, f3.length]).toEqual([0, 0, 1]);
    expect(f3[0]!.explanation).toMatch(
      /3\+ distinct userIdentity\.userName within 10 min \(threshold 3, counting earlier sessions\)/,
    );
  });

  it('event_count, value_count, temporal and temporal_ordered correlations; base rules stay silent unless they generate', async () => {
    const d = await createDetector({
      rulesDir: root({
        'sigma/c.yml': [
          base('33333333-3333-4333-8333-000000000001', 'created', 'CreateUser'),
          base('33333333-3333-4333-8333-000000000002', 'attached', 'AttachUserPolicy', 'generate: true\n'),
          `title: Created then attached
id: 33333333-3333-4333-8333-000000000003
correlation: { type: temporal_ordered, rules: [created, attached], group-by: [requestParameters.userName], timespan: 15m }
level: high
`,
          `title: Both in any order
id: 33333333-3333-4333-8333-000000000004
correlation: { type: temporal, rules: [created, attached], group-by: [requestParameters.userName], timespan: 15m }
level: medium
`,
          `title: Three creations
id: 33333333-3333-4333-8333-000000000005
correlation: { type: event_count, rules: [created], timespan: 1h, condition: { gte: 3 } }
level: medium
`,
          `title: Two distinct users created
id: 33333333-3333-4333-8333-000000000006
correlation: { type: value_count, rules: [created], timespan: 1h, condition: { gt: 1, field: requestParameters.userName } }
level: low
`,
        ].join('---\n'),
      }),
    });
    const iam = (eventName: string, user: string, at: string) =>
      ev({ eventSource: 'iam.amazonaws.com', eventName, requestParameters: { userName: user } }, at);
    const ids = (events: EngineEvent[]) =>
      d
        .fresh()
        .detect(session, events, [])
        .map((f) => f.title)
        .sort();
    const t = (m: number) => `2025-03-04T10:${String(m).padStart(2, '0')}:00Z`;
    expect(ids([iam('CreateUser', 'x', t(0)), iam('AttachUserPolicy', 'x', t(5))])).toEqual([
      'Both in any order',
      'Created then attached',
      'attached',
    ]);
    // Reversed: only the unordered one; another user's attach does not complete the chain.
    expect(ids([iam('AttachUserPolicy', 'x', t(0)), iam('CreateUser', 'x', t(5))])).toEqual([
      'Both in any order',
      'attached',
    ]);
    expect(ids([iam('CreateUser', 'x', t(0)), iam('AttachUserPolicy', 'y', t(5))])).toEqual(['attached']);
    expect(ids([iam('CreateUser', 'x', t(0)), iam('AttachUserPolicy', 'x', t(20))])).toEqual(['attached']);
    expect(
      ids([iam('CreateUser', 'a', t(0)), iam('CreateUser', 'a', t(1)), iam('CreateUser', 'a', t(2))]),
    ).toEqual(['Three creations']);
    expect(ids([iam('CreateUser', 'a', t(0)), iam('CreateUser', 'b', t(1))])).toEqual([
      'Two distinct users created',
    ]);
  });

  it('names correlations it cannot evaluate instead of dropping them', () => {
    const loaded = loadDetectionRules(
      root({
        'sigma/c.yml': `${base('44444444-4444-4444-8444-000000000001', 'one', 'CreateUser')}---
title: Fewer than three
id: 44444444-4444-4444-8444-000000000002
correlation: { type: event_count, rules: [one], timespan: 1h, condition: { lt: 3 } }
---
title: Unknown base
id: 44444444-4444-4444-8444-000000000003
correlation: { type: temporal, rules: [one, nope], timespan: 1h }
`,
      }),
    );
    expect(loaded.unsupported.map((u) => u.reason)).toEqual([
      'correlation condition {"lt":3}: only one of gt / gte (at least N) is supported',
    ]);
    expect(loaded.problems.map((p) => p.message)).toEqual([
      "Sigma correlation 'Unknown base': correlation refers to rule 'nope', which is not loaded",
    ]);
  });
});
