/**
 * The detection rule grammar: field paths, operators, match/where, thresholds, sequences, severity on failure,
 * loader errors with file:line, allow-lists and the finding id. Rules are written to a temporary rules root so
 * each test says exactly what it loads.
 */
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAllowListStore } from '../../../adapters/rules/allowlist-store.ts';
import {
  createDetector,
  DetectionRulesError,
  loadDetectionRules,
} from '../../../adapters/rules/detection-rules.ts';
import { findingId, redact } from '../../../engine/detections/finding.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import type { EngineEvent } from '../../../engine/model.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SessionContext } from '../../../engine/stages.ts';
import { writeAttackTable } from '../../support/attack-table.ts';

const TECHNIQUES = `  T1562.008: { name: 'Impair Defenses: Disable or Modify Cloud Logs', tactics: [Defense Evasion] }
  T1110: { name: Brute Force, tactics: [Credential Access] }
  T1098: { name: Account Manipulation, tactics: [Persistence, Privilege Escalation] }
  T1648: { name: Serverless Execution, tactics: [Execution] }
`;

function rulesRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'carto-det-'));
  mkdirSync(join(root, 'detections'));
  writeAttackTable(root, TECHNIQUES);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(root, 'detections', name), text);
  return root;
}

let seq = 0;
function ev(
  partial: Partial<CloudTrailRecord> & { eventName: string },
  at = '2024-05-01T10:00:00Z',
): EngineEvent {
  const record = {
    eventTime: at,
    eventSource: 'iam.amazonaws.com',
    eventID: `id-${seq}`,
    userIdentity: {
      type: 'IAMUser',
      userName: 'alice',
      arn: 'arn:aws:iam::111122223333:user/alice',
      accountId: '111122223333',
    },
    sourceIPAddress: '203.0.113.10',
    recipientAccountId: '111122223333',
    ...partial,
  } as CloudTrailRecord;
  return toEngineEvent(record, seq++);
}

const session: SessionContext = {
  key: 'sess-1',
  kind: 'programmatic',
  principal: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice' },
  accessKeyIds: [],
  sourceIps: [],
  userAgents: [],
  regions: [],
};

describe('event rules', () => {
  it('evaluates every operator on record and nested array fields', async () => {
    const root = rulesRoot({
      'ops.yaml': `rules:
  - id: t.sg-world
    title: SG world
    description: Opened to the world.
    severity: high
    techniques: [T1562.008]
    where:
      all:
        - { field: eventName, equals: AuthorizeSecurityGroupIngress }
        - { field: 'requestParameters.ipPermissions.items[].ipRanges.items[].cidrIp', endsWith: /0 }
  - id: t.cidr
    title: Internal caller
    description: From the office.
    severity: low
    where: { field: sourceIPAddress, cidr: 10.0.0.0/8 }
  - id: t.regex-contains-starts
    title: Text ops
    description: Text.
    severity: low
    where:
      all:
        - { field: userAgent, contains: [boto3, aws-cli] }
        - { field: userAgent, startsWith: aws-cli }
        - { field: userAgent, regex: 'Python/3\\.1[0-9]' }
        - { field: eventName, ignoreCase: true, equals: listusers }
  - id: t.numbers
    title: Numbers
    description: Numbers.
    severity: low
    where:
      all:
        - { field: requestParameters.pendingWindowInDays, lt: 8 }
        - { field: requestParameters.pendingWindowInDays, gt: 6 }
  - id: t.not-exists
    title: Not and exists
    description: Not.
    severity: low
    where:
      all:
        - { field: eventName, equals: DeleteTrail }
        - not: { field: errorCode, exists: true }
        - { field: requestParameters.name, exists: true }
  - id: t.same
    title: Same and other
    description: Fields compared with fields.
    severity: low
    where:
      all:
        - { field: eventName, equals: CreateAccessKey }
        - { field: requestParameters.userName, notSameAs: userIdentity.userName }
  - id: t.other-account
    title: Other account
    description: A KMS key of another account.
    severity: low
    where: { field: 'requestParameters.x-amz-server-side-encryption-aws-kms-key-id', otherAccountThan: recipientAccountId }
`,
    });
    const detector = await createDetector({ rulesDir: root });
    const events = [
      ev({
        eventName: 'AuthorizeSecurityGroupIngress',
        eventSource: 'ec2.amazonaws.com',
        requestParameters: {
          ipPermissions: {
            items: [{ ipRanges: { items: [{ cidrIp: '10.0.0.0/8' }, { cidrIp: '0.0.0.0/0' }] } }],
          },
        },
      }),
      ev({
        eventName: 'AuthorizeSecurityGroupIngress',
        requestParameters: {
          ipPermissions: { items: [{ ipRanges: { items: [{ cidrIp: '10.1.0.0/16' }] } }] },
        },
      }),
      ev({ eventName: 'GetUser', sourceIPAddress: '10.20.30.40' }),
      ev({ eventName: 'GetUser', sourceIPAddress: '11.20.30.40' }),
      ev({ eventName: 'ListUsers', userAgent: 'aws-cli/2.15 Python/3.11.8 boto3' }),
      ev({ eventName: 'ListUsers', userAgent: 'aws-cli/2.15 Python/3.9.1' }),
      ev({ eventName: 'ScheduleKeyDeletion', requestParameters: { pendingWindowInDays: 7 } }),
      ev({ eventName: 'ScheduleKeyDeletion', requestParameters: { pendingWindowInDays: 30 } }),
      ev({ eventName: 'DeleteTrail', requestParameters: { name: 'main' } }),
      ev({ eventName: 'DeleteTrail', requestParameters: { name: 'main' }, errorCode: 'AccessDenied' }),
      ev({ eventName: 'CreateAccessKey', requestParameters: { userName: 'bob' } }),
      ev({ eventName: 'CreateAccessKey', requestParameters: { userName: 'alice' } }),
      ev({
        eventName: 'CopyObject',
        requestParameters: {
          'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:999999999999:key/k',
        },
      }),
      ev({
        eventName: 'CopyObject',
        requestParameters: {
          'x-amz-server-side-encryption-aws-kms-key-id': 'arn:aws:kms:us-east-1:111122223333:key/k',
        },
      }),
    ];
    const findings = detector.detect(session, events, []);
    const hits = (ruleId: string) => findings.find((f) => f.ruleId === ruleId)?.eventIds ?? [];
    expect(hits('t.sg-world')).toEqual([events[0]!.id]);
    expect(hits('t.cidr')).toEqual([events[2]!.id]);
    expect(hits('t.regex-contains-starts')).toEqual([events[4]!.id]);
    expect(hits('t.numbers')).toEqual([events[6]!.id]);
    expect(hits('t.not-exists')).toEqual([events[8]!.id]);
    expect(hits('t.same')).toEqual([events[10]!.id]);
    expect(hits('t.other-account')).toEqual([events[12]!.id]);
    const sg = findings.find((f) => f.ruleId === 't.sg-world')!;
    expect(sg.tactics).toEqual(['Defense Evasion']);
    expect(sg.severity).toBe('high');
  });

  it('a refused attempt is context (info) when every matching event failed, unless the rule says otherwise', async () => {
    const root = rulesRoot({
      'r.yaml': `rules:
  - id: t.stop
    title: Stop
    description: Stopped.
    severity: high
    techniques: [T1562.008]
    match: { eventName: StopLogging }
  - id: t.login-fail
    title: Login failed
    description: Failed.
    severity: medium
    severityOnError: medium
    match: { eventName: ConsoleLogin }
`,
    });
    const detector = await createDetector({ rulesDir: root });
    const failed = detector.detect(
      session,
      [ev({ eventName: 'StopLogging', errorCode: 'AccessDenied' })],
      [],
    );
    expect(failed[0]!.severity).toBe('info');
    expect(failed[0]!.explanation).toContain('Every attempt failed (AccessDenied)');
    const mixed = detector.detect(
      session,
      [ev({ eventName: 'StopLogging', errorCode: 'AccessDenied' }), ev({ eventName: 'StopLogging' })],
      [],
    );
    expect(mixed[0]!.severity).toBe('high');
    expect(mixed[0]!.eventIds).toHaveLength(2);
    const login = detector.detect(
      session,
      [ev({ eventName: 'ConsoleLogin', errorCode: 'Failed authentication' })],
      [],
    );
    expect(login[0]!.severity).toBe('medium');
    // Sign-in events record their outcome in responseElements, with no errorCode: a failure is still an attempt.
    const password = detector.detect(
      session,
      [ev({ eventName: 'StopLogging', responseElements: { StopLogging: 'Failure' } })],
      [],
    );
    expect(password[0]!.severity).toBe('info');
    expect(password[0]!.explanation).toContain('Every attempt failed (StopLogging: Failure)');
    const succeeded = detector.detect(
      session,
      [ev({ eventName: 'StopLogging', responseElements: { StopLogging: 'Success' } })],
      [],
    );
    expect(succeeded[0]!.severity).toBe('high');
  });
});

describe('threshold and sequence rules', () => {
  const root = rulesRoot({
    'r.yaml': `rules:
  - id: t.denied-burst
    title: Denied burst
    description: Many denied calls.
    severity: medium
    severityOnError: medium
    type: threshold
    count: 3
    windowMinutes: 5
    techniques: [T1110]
    where: { field: errorCode, equals: AccessDenied }
  - id: t.many-secrets
    title: Many secrets
    description: Distinct secrets.
    severity: high
    type: threshold
    count: 3
    windowMinutes: 10
    distinct: requestParameters.secretId
    match: { eventName: GetSecretValue }
  - id: t.lambda-chain
    title: PassRole chain
    description: Create, then invoke.
    severity: high
    type: sequence
    windowMinutes: 30
    techniques: [T1648]
    steps:
      - { name: role created, match: { eventName: CreateRole } }
      - { name: function created, where: { field: eventName, startsWith: CreateFunction } }
      - { name: function invoked, match: { eventName: Invoke } }
`,
  });

  it('fires a threshold only when N events fall inside the window', async () => {
    const detector = await createDetector({ rulesDir: root });
    const spread = ['10:00:00', '10:06:00', '10:12:00'].map((t) =>
      ev({ eventName: 'GetRole', errorCode: 'AccessDenied' }, `2024-05-01T${t}Z`),
    );
    expect(detector.detect(session, spread, []).filter((f) => f.ruleId === 't.denied-burst')).toEqual([]);
    const burst = ['10:00:00', '10:01:00', '10:04:59', '10:20:00'].map((t) =>
      ev({ eventName: 'GetRole', errorCode: 'AccessDenied' }, `2024-05-01T${t}Z`),
    );
    const f = detector.detect(session, burst, []).filter((x) => x.ruleId === 't.denied-burst');
    expect(f).toHaveLength(1);
    expect(f[0]!.eventIds).toEqual(burst.slice(0, 3).map((e) => e.id));
    expect(f[0]!.severity).toBe('medium');
  });

  it('counts distinct values, not events, when asked', async () => {
    const detector = await createDetector({ rulesDir: root });
    const same = [1, 2, 3, 4].map(() =>
      ev({
        eventName: 'GetSecretValue',
        eventSource: 'secretsmanager.amazonaws.com',
        requestParameters: { secretId: 's1' },
      }),
    );
    expect(detector.detect(session, same, []).some((f) => f.ruleId === 't.many-secrets')).toBe(false);
    const different = ['s1', 's2', 's3'].map((s) =>
      ev({ eventName: 'GetSecretValue', requestParameters: { secretId: s } }),
    );
    expect(detector.detect(session, different, []).some((f) => f.ruleId === 't.many-secrets')).toBe(true);
  });

  it('needs the steps of a sequence in order, by one principal, within the window', async () => {
    const detector = await createDetector({ rulesDir: root });
    const inOrder = [
      ev({ eventName: 'CreateRole' }, '2024-05-01T10:00:00Z'),
      ev(
        { eventName: 'CreateFunction20150331', eventSource: 'lambda.amazonaws.com' },
        '2024-05-01T10:05:00Z',
      ),
      ev({ eventName: 'Invoke', eventSource: 'lambda.amazonaws.com' }, '2024-05-01T10:06:00Z'),
    ];
    const found = detector.detect(session, inOrder, []).filter((f) => f.ruleId === 't.lambda-chain');
    expect(found).toHaveLength(1);
    expect(found[0]!.eventIds).toEqual(inOrder.map((e) => e.id));
    expect(found[0]!.tactics).toEqual(['Execution']);
    expect(found[0]!.explanation).toContain(
      'role created (CreateRole) → function created (CreateFunction20150331)',
    );

    const wrongOrder = [inOrder[1]!, inOrder[0]!, inOrder[2]!].map((e, i) => ({
      ...e,
      time: Date.parse('2024-05-01T10:00:00Z') + i * 60_000,
    }));
    expect(detector.detect(session, wrongOrder, []).some((f) => f.ruleId === 't.lambda-chain')).toBe(false);

    const tooSlow = inOrder.map((e, i) => ({
      ...e,
      time: Date.parse('2024-05-01T10:00:00Z') + i * 20 * 60_000,
    }));
    expect(detector.detect(session, tooSlow, []).some((f) => f.ruleId === 't.lambda-chain')).toBe(false);

    const otherPrincipal = inOrder.map((e, i) =>
      i === 2
        ? {
            ...e,
            record: {
              ...e.record,
              userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob' },
            },
          }
        : e,
    );
    expect(detector.detect(session, otherPrincipal, []).some((f) => f.ruleId === 't.lambda-chain')).toBe(
      false,
    );
  });
});

describe('thresholds across sessions', () => {
  it('counts failed sign-ins for different users, each its own session, from one address', async () => {
    const root = rulesRoot({
      'r.yaml': `rules:
  - id: t.spray
    title: Spray
    description: Many users, one address.
    severity: high
    severityOnError: high
    type: threshold
    count: 3
    windowMinutes: 30
    groupBy: sourceIp
    distinct: userIdentity.userName
    acrossSessions: true
    techniques: [T1110]
    match: { eventName: ConsoleLogin }
  - id: t.spray-per-session
    title: Spray within one session
    description: Same rule without memory.
    severity: high
    type: threshold
    count: 3
    windowMinutes: 30
    groupBy: sourceIp
    distinct: userIdentity.userName
    match: { eventName: ConsoleLogin }
`,
    });
    const detector = await createDetector({ rulesDir: root });
    const login = (user: string, minute: number, ip = '198.51.100.7') =>
      ev(
        {
          eventName: 'ConsoleLogin',
          eventSource: 'signin.amazonaws.com',
          sourceIPAddress: ip,
          errorCode: 'Failed authentication',
          userIdentity: { type: 'IAMUser', userName: user },
        },
        `2024-05-01T10:${String(minute).padStart(2, '0')}:00Z`,
      );
    const perUser = (key: string): SessionContext => ({ ...session, key });
    expect(detector.detect(perUser('s-ann'), [login('ann', 0)], [])).toEqual([]);
    expect(detector.detect(perUser('s-bob'), [login('bob', 5), login('bob', 6)], [])).toEqual([]);
    expect(detector.detect(perUser('s-other-ip'), [login('dan', 7, '203.0.113.99')], [])).toEqual([]);
    const cat = login('cat', 9);
    const third = detector.detect(perUser('s-cat'), [cat], []);
    expect(third.map((f) => f.ruleId)).toEqual(['t.spray']);
    expect(third[0]!.eventIds).toHaveLength(4);
    expect(third[0]!.explanation).toContain('counting earlier sessions');
    expect(third[0]!.severity).toBe('high');
    // Seeing the same session again (a re-run) gives the same finding, its events counted once.
    const again = detector.detect(perUser('s-cat'), [cat], []);
    expect(again.map((f) => [f.id, f.eventIds.length])).toEqual([[third[0]!.id, 4]]);
    // An hour later the old attempts have left the window.
    expect(detector.detect(perUser('s-eve'), [login('eve', 59)], [])).toEqual([]);
  });
});

describe('sequence start choice', () => {
  it('completes from a later start when the earliest one runs out of time', async () => {
    const root = rulesRoot({
      'r.yaml': `rules:
  - id: t.chain
    title: Chain
    description: Three steps.
    severity: high
    type: sequence
    windowMinutes: 30
    steps:
      - { name: one, match: { eventName: CreateRole } }
      - { name: two, match: { eventName: CreateFunction } }
      - { name: three, match: { eventName: Invoke } }
`,
    });
    const detector = await createDetector({ rulesDir: root });
    const at = (m: number) => `2024-05-01T10:${String(m).padStart(2, '0')}:00Z`;
    const events = [
      ev({ eventName: 'CreateRole' }, at(0)),
      ev({ eventName: 'CreateFunction' }, at(5)),
      ev({ eventName: 'CreateRole' }, at(40)),
      ev({ eventName: 'CreateFunction' }, at(45)),
      ev({ eventName: 'Invoke' }, at(50)),
    ];
    const found = detector.detect(session, events, []);
    expect(found.map((f) => f.eventIds)).toEqual([[events[2]!.id, events[3]!.id, events[4]!.id]]);
  });
});

describe('rule loading', () => {
  it('reports every bad rule with its file and line, and loads the good ones when lenient', async () => {
    const root = rulesRoot({
      'bad.yaml': `rules:
  - id: t.good
    title: Good
    description: Fine.
    severity: low
    match: { eventName: GetUser }
  - id: t.bad-severity
    title: Bad
    description: Wrong severity.
    severity: severe
    match: { eventName: GetUser }
  - id: t.two-operators
    title: Two
    description: Two operators in one test.
    severity: low
    where: { field: eventName, equals: A, contains: B }
  - id: t.bad-regex
    title: Regex
    description: Broken regex.
    severity: low
    where: { field: eventName, regex: '(' }
  - id: t.unknown-technique
    title: Technique
    description: Not in the table.
    severity: low
    techniques: [T9999]
    match: { eventName: GetUser }
  - id: t.good
    title: Duplicate
    description: Same id.
    severity: low
    match: { eventName: GetUser }
`,
      'broken.yaml': 'rules:\n  - id: x\n    title: [unclosed\n',
    });
    const loaded = loadDetectionRules(root, undefined);
    const where = loaded.problems.map((p) => `${p.file.split('/').pop()}:${p.line}`);
    expect(where).toContain('bad.yaml:10'); // severity: severe
    expect(where).toContain('bad.yaml:16'); // two operators → the rule's `where`
    expect(where).toContain('broken.yaml:4'); // where the parser finds the flow list unclosed: end of file
    const messages = loaded.problems.map((p) => p.message).join('\n');
    expect(messages).toMatch(/t\.bad-severity: severity/);
    expect(messages).toMatch(/exactly one operator/);
    expect(messages).toMatch(/invalid regular expression/);
    expect(messages).toMatch(/technique T9999 is not in the ATT&CK table \(rules\/attack\.yaml\)/);
    expect(messages).toMatch(/duplicate rule id 't\.good'/);
    await expect(createDetector({ rulesDir: root })).rejects.toBeInstanceOf(DetectionRulesError);
    const lenient = await createDetector({ rulesDir: root, lenient: true });
    expect(lenient.rules.map((r) => r.id)).toContain('t.good');
  });
});

describe('allow-lists', () => {
  const rules = `rules:
  - id: t.any-call
    title: Any call
    description: Everything.
    severity: medium
    match: { eventName: GetUser }
  - id: t.scoped
    title: Scoped
    description: With its own allow-list.
    severity: medium
    match: { eventName: GetUser }
    allow:
      userAgents: ['*Terraform*']
`;

  it('silences by principal glob, CIDR, account and user agent, globally and per rule', async () => {
    const root = rulesRoot({
      'r.yaml': rules,
      'allowlist.yaml': `principals: ['arn:aws:iam::*:role/ci-*']\nips: [192.0.2.0/24]\naccounts: ['444455556666']\nuserAgents: ['*scanner*']\n`,
    });
    const detector = await createDetector({ rulesDir: root });
    const ids = (e: EngineEvent) =>
      detector
        .detect(session, [e], [])
        .map((f) => f.ruleId)
        .sort();
    expect(ids(ev({ eventName: 'GetUser' }))).toEqual(['t.any-call', 't.scoped']);
    expect(
      ids(
        ev({
          eventName: 'GetUser',
          userIdentity: {
            type: 'AssumedRole',
            arn: 'arn:aws:sts::111122223333:assumed-role/ci-deploy/x',
            sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::111122223333:role/ci-deploy' } },
          },
        }),
      ),
    ).toEqual([]);
    expect(ids(ev({ eventName: 'GetUser', sourceIPAddress: '192.0.2.77' }))).toEqual([]);
    expect(
      ids(ev({ eventName: 'GetUser', userIdentity: { type: 'IAMUser', accountId: '444455556666' } })),
    ).toEqual([]);
    expect(ids(ev({ eventName: 'GetUser', userAgent: 'my-SCANNER/1.0' }))).toEqual([]);
    expect(ids(ev({ eventName: 'GetUser', userAgent: 'Terraform/1.5 aws-sdk-go' }))).toEqual(['t.any-call']);
  });

  it('one live allow-list: an entry added through the store counts at once for every detector built on it', async () => {
    const root = rulesRoot({ 'r.yaml': rules });
    const userFile = join(root, 'my-allowlist.yaml');
    writeFileSync(
      userFile,
      '# reviewed monthly by secops\nips: [] # none yet\nentries: []\nuserAgents: []\n',
    );
    const store = openAllowListStore({ userFile, checkEveryMs: 0 });
    // Two consumers (the command analyser and the scheduler) with their own detectors, one store.
    const a = await createDetector({ rulesDir: root, allowlist: store });
    const b = await createDetector({ rulesDir: root, allowlist: store });
    const ids = (d: typeof a, e: EngineEvent) =>
      d
        .detect(session, [e], [])
        .map((f) => f.ruleId)
        .sort();
    expect(ids(a, ev({ eventName: 'GetUser' }))).toEqual(['t.any-call', 't.scoped']);
    const entry = store.add(
      {
        ruleId: 't.any-call',
        principal: 'arn:aws:iam::111122223333:user/alice',
        reason: 'break-glass drill',
        by: 'slack:U123',
      },
      new Date('2024-04-30T00:00:00Z'),
    );
    expect(entry).toMatchObject({ at: '2024-04-30T00:00:00.000Z', owner: 'slack:U123' });
    expect(entry.expires).toBe('2024-07-29T00:00:00.000Z'); // 90 days unless said otherwise
    store.add({ ip: '198.51.100.0/24', reason: 'pentest range', by: 'U456', owner: 'red-team' });
    // Written through the YAML document: comments, order and the other keys are kept.
    const text = readFileSync(userFile, 'utf8');
    expect(text.startsWith('# reviewed monthly by secops\nips: [] # none yet\nentries:\n')).toBe(true);
    expect(text).toContain('userAgents: []');
    expect(text).toContain('break-glass drill');
    for (const d of [a, b]) {
      expect(ids(d, ev({ eventName: 'GetUser' }))).toEqual(['t.scoped']);
      const bob = { type: 'IAMUser', userName: 'bob', arn: 'arn:aws:iam::111122223333:user/bob' };
      expect(ids(d, ev({ eventName: 'GetUser', userIdentity: bob }))).toEqual(['t.any-call', 't.scoped']);
      expect(
        ids(d, ev({ eventName: 'GetUser', sourceIPAddress: '198.51.100.9', userIdentity: bob })),
      ).toEqual([]);
    }
    // Expired entries no longer silence: an event after the expiry raises again.
    expect(ids(a, ev({ eventName: 'GetUser' }, '2024-08-01T00:00:00Z'))).toEqual(['t.any-call', 't.scoped']);
    // A hand edit of the file is picked up too (the store watches its modification time).
    writeFileSync(userFile, `${readFileSync(userFile, 'utf8')}principals: ['*:user/carol']\n`);
    const carol = { type: 'IAMUser', userName: 'carol', arn: 'arn:aws:iam::111122223333:user/carol' };
    utimesSync(userFile, new Date(), new Date(Date.now() + 5000));
    expect(ids(b, ev({ eventName: 'GetUser', userIdentity: carol }))).toEqual([]);
    expect(() => store.add({ reason: 'nothing named', by: 'U1' })).toThrow(/needs a rule id/);
    expect(() => store.add({ ip: 'not-an-ip', reason: 'x', by: 'U1' })).toThrow();
  });
});

describe('bundled rules', () => {
  it('load without problems, and `rules check` reports none', async () => {
    const { DEFAULT_RULES_ROOT, checkDetectionRules } = await import(
      '../../../adapters/rules/detection-rules.ts'
    );
    expect(await checkDetectionRules(DEFAULT_RULES_ROOT)).toEqual([]);
    const detector = await createDetector();
    expect(detector.rules.length).toBeGreaterThan(250);
    expect(detector.disabled.map((d) => d.id)).toEqual(['sigma:905d389b-b853-46d0-9d3d-dea0d3a3cd49']);
  });
});

describe('known accounts', () => {
  it('treat sharing with the organisation’s own accounts as known, and anything else as unknown', async () => {
    const root = rulesRoot({
      'r.yaml': `rules:
  - id: t.shared
    title: Shared
    description: Snapshot shared with an unknown account.
    severity: high
    where: { field: 'requestParameters.createVolumePermission.add.items[].userId', unknownAccount: true }
`,
      'allowlist.yaml': `knownAccounts: ['444455556666']\n`,
    });
    const detector = await createDetector({ rulesDir: root });
    const share = (...userIds: string[]) =>
      ev({
        eventName: 'ModifySnapshotAttribute',
        eventSource: 'ec2.amazonaws.com',
        requestParameters: {
          createVolumePermission: { add: { items: userIds.map((userId) => ({ userId })) } },
        },
      });
    expect(detector.detect(session, [share('444455556666')], [])).toEqual([]);
    expect(detector.detect(session, [share('111122223333')], [])).toEqual([]); // the event's own account
    expect(
      detector.detect(session, [share('444455556666', '999988887777')], []).map((f) => f.ruleId),
    ).toEqual(['t.shared']);
  });

  it('compare account ids that lost their leading zeros, and placeholder ids, as accounts', async () => {
    const root = rulesRoot({
      'r.yaml': `rules:
  - id: t.other
    title: Other account
    description: Copied to another account.
    severity: medium
    where: { field: 'resources[].accountId', otherAccountThan: recipientAccountId }
`,
    });
    const detector = await createDetector({ rulesDir: root });
    const copy = (recipient: string, ...accounts: string[]) =>
      ev({
        eventName: 'CopyObject',
        eventSource: 's3.amazonaws.com',
        recipientAccountId: recipient,
        resources: accounts.map((accountId) => ({ accountId, type: 'AWS::S3::Bucket' })),
      } as Partial<CloudTrailRecord> & { eventName: string });
    // 012345678901 stored as a number reads 12345678901: the same account.
    expect(detector.detect(session, [copy('012345678901', '12345678901')], [])).toEqual([]);
    expect(detector.detect(session, [copy('012345678901', '12345678902')], []).map((f) => f.ruleId)).toEqual([
      't.other',
    ]);
    // Hand-written or anonymised records: 5- and 14-digit ids are compared as written.
    expect(detector.detect(session, [copy('12345', '54321')], []).map((f) => f.ruleId)).toEqual(['t.other']);
    expect(detector.detect(session, [copy('12948575929274', '12948575929274')], [])).toEqual([]);
    // Not account ids: short numbers and words.
    expect(detector.detect(session, [copy('111122223333', '42', 'all')], [])).toEqual([]);
    // No recipientAccountId (event versions before 1.02): the caller's account is the event's own.
    const old = (caller: string, ...accounts: string[]) =>
      ev({
        eventName: 'CopyObject',
        eventSource: 's3.amazonaws.com',
        recipientAccountId: undefined,
        userIdentity: { type: 'IAMUser', accountId: caller },
        resources: accounts.map((accountId) => ({ accountId, type: 'AWS::S3::Bucket' })),
      } as Partial<CloudTrailRecord> & { eventName: string });
    expect(detector.detect(session, [old('111122223333', '111122223333')], [])).toEqual([]);
    expect(detector.detect(session, [old('111122223333', '444455556666')], []).map((f) => f.ruleId)).toEqual([
      't.other',
    ]);
  });
});

describe('findings', () => {
  it('have ids stable across runs and distinct per rule, session and first event', () => {
    expect(findingId('r', 's', 'e')).toBe(findingId('r', 's', 'e'));
    expect(
      new Set([
        findingId('r', 's', 'e'),
        findingId('r2', 's', 'e'),
        findingId('r', 's2', 'e'),
        findingId('r', 's', 'e2'),
      ]).size,
    ).toBe(4);
  });

  it('never show secret values to the analyst', () => {
    expect(redact('responseElements.credentials.sessionToken', 'IQoJb3JpZ2luX2VjEXAMPLE')).toBe('[REDACTED]');
    expect(redact('requestParameters.masterUserPassword', 'hunter2')).toBe('[REDACTED]');
    expect(
      redact('responseElements.credentials', {
        accessKeyId: 'ASIAEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      }),
    ).not.toContain('wJalr');
    expect(redact('requestParameters.userName', 'bob')).toBe('bob');
  });
});

describe('regex prefilter', () => {
  it('finds a literal every match must contain, and never changes the result', async () => {
    const { requiredLiteral, fastRegexTest } = await import('../../../engine/detections/regex-literal.ts');
    expect(requiredLiteral('.+:assumed-role\\/aws:.+')).toBe(':assumed-role/aws:');
    expect(requiredLiteral('Python/3\\.1[0-9]')).toBe('Python/3.1');
    expect(requiredLiteral('abc?def')).toBe('def');
    expect(requiredLiteral('(secret|cred)')).toBeUndefined();
    expect(requiredLiteral('^(p\\d|g\\d)')).toBeUndefined();
    const inputs = [
      'arn:aws:sts::1:assumed-role/aws:ec2/i-1',
      'arn:aws:sts::1:assumed-role/app/x',
      'Python/3.12',
      'PYTHON/3.11',
      'abdef',
      '',
    ];
    for (const [source, flags] of [
      ['.+:assumed-role\\/aws:.+', ''],
      ['Python/3\\.1[0-9]', 'i'],
      ['abc?def', ''],
    ] as const) {
      const re = new RegExp(source, flags);
      const fast = fastRegexTest(re);
      for (const text of inputs) expect(fast(text), `${source} on ${text}`).toBe(re.test(text));
    }
  });
});

describe('odd records', () => {
  it('never throw: strings for objects, nulls, numbers, deep nesting, missing identity', async () => {
    const detector = await createDetector();
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 200; i++) deep = { nested: deep };
    const odd = [
      ev({
        eventName: 'PutBucketPolicy',
        eventSource: 's3.amazonaws.com',
        requestParameters: 'not-an-object' as never,
      }),
      ev({ eventName: 'CreateAccessKey', userIdentity: null as never, requestParameters: null }),
      ev({
        eventName: 'AuthorizeSecurityGroupIngress',
        eventSource: 'ec2.amazonaws.com',
        requestParameters: { ipPermissions: 42 } as never,
      }),
      ev({
        eventName: 'ConsoleLogin',
        eventSource: 'signin.amazonaws.com',
        responseElements: { ConsoleLogin: ['Failure'] } as never,
        additionalEventData: 7 as never,
      }),
      ev({
        eventName: 'GetSecretValue',
        eventSource: 'secretsmanager.amazonaws.com',
        requestParameters: deep,
      }),
      ev({
        eventName: 'StopLogging',
        eventSource: 'cloudtrail.amazonaws.com',
        userAgent: 12 as never,
        sourceIPAddress: '999.1.1.1',
      }),
    ];
    const findings = detector.detect(session, odd, []);
    expect(findings.some((f) => f.ruleId === 'cartographer.cloudtrail-stopped-or-deleted')).toBe(true);
    expect(detector.score(session, findings).score).toBeGreaterThan(0);
  });
});
