/**
 * Each data-level rule feature on small hand-made event lists: every `when` key, `continue`, windows,
 * required/optional, anchors, eachEvent, aliasOf, suppressed, follow-ups, templates, page-level answers
 * and programmatic collapse, and independence from the order of events within one second.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../../engine/model.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { DEFAULT_USER_AGENTS_FILE } from '../../../engine/user-agent.ts';
import { TEST_DIR } from '../../support/paths.ts';
import { ev, session, toEvents } from '../../support/signals-support.ts';

const programmatic = readFileSync(join(TEST_DIR, '../rules/signals/programmatic.yaml'), 'utf8');

/** A rules folder with the given files, and the project's user-agent table. */
async function mapperWith(files: Record<string, string>, fallback = false) {
  const dir = mkdtempSync(join(tmpdir(), 'signals-'));
  mkdirSync(join(dir, 'labels'));
  mkdirSync(join(dir, 'defs'));
  mkdirSync(join(dir, 'pages'));
  writeFileSync(join(dir, 'programmatic.yaml'), programmatic);
  if (!files['followups.yaml']) writeFileSync(join(dir, 'followups.yaml'), 'followups: []\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const mapper = await createSignalMapper({
    rulesDir: dir,
    userAgentsFile: DEFAULT_USER_AGENTS_FILE,
    fallback,
  });
  expect(mapper.problems.filter((p) => p.severity !== 'warning')).toEqual([]);
  return (records: Record<string, unknown>[]) => mapper.map(session, toEvents(records));
}

const ids = (signals: Signal[]) => signals.map((s) => s.id);
const one = (id: string, anchor: string, extra = '') => `
  - id: ${id}
    name: ${id}
    anchor: [${anchor}]
    required: [${anchor}]
${extra}`;

/** One event `iam:ListUsers`, labelled by the given cases; returns the ids it becomes. */
async function labelsOf(cases: string, record: Record<string, unknown>): Promise<string[]> {
  const map = await mapperWith({
    'labels/iam.yaml': `events:\n  iam:ListUsers:\n${cases}`,
    'defs/IAM.yaml': `service: IAM\nsignals:${['A', 'B', 'C'].map((x) => one(x, 'iam:ListUsers')).join('')}`,
  });
  return ids(map([record]).signals);
}

describe('label conditions (each when key)', () => {
  const cases = (when: string) => `    - when: ${when}\n      labels: [A]\n    - labels: [B]\n`;
  const check = async (when: string, hit: Record<string, unknown>, miss: Record<string, unknown>) => {
    expect(await labelsOf(cases(when), ev('iam:ListUsers', 0, hit))).toEqual(['A']);
    expect(await labelsOf(cases(when), ev('iam:ListUsers', 0, miss))).toEqual(['B']);
  };

  it('userAgent, notUserAgent and groups', async () => {
    await check(
      '{ userAgent: aws-internal }',
      { userAgent: 'AWS Internal' },
      { userAgent: 'aws-cli/2.15.0 Python/3.11' },
    );
    await check(
      '{ userAgent: [s3-console] }',
      { userAgent: '[S3Console/0.4, aws-internal/3 aws-sdk-java/1.11]' },
      {},
    );
    await check('{ notUserAgent: aws-internal }', { userAgent: 'Coral/Netty4' }, {});
    await check(
      '{ userAgent: cloudshell }',
      {
        userAgent:
          'aws-cli/2.11.9 Python/3.11.2 Linux/4.14 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/s3.ls',
      },
      { userAgent: 'aws-cli/2.11.9 Python/3.11.2 Linux/4.14 exe/x86_64.amzn.2 prompt/off command/s3.ls' },
    );
  });

  it('params.keys, keysIn, hasKeys, emptyKeys', async () => {
    await check(
      '{ params: { keys: [] } }',
      { requestParameters: null },
      { requestParameters: { maxItems: 10 } },
    );
    await check(
      '{ params: { keys: [b, a] } }',
      { requestParameters: { a: 1, b: 2 } },
      { requestParameters: { a: 1 } },
    );
    await check(
      '{ params: { keysIn: [[a], [b]] } }',
      { requestParameters: { b: 1 } },
      { requestParameters: { a: 1, b: 1 } },
    );
    await check(
      '{ params: { hasKeys: [a] } }',
      { requestParameters: { a: 1, z: 2 } },
      { requestParameters: { z: 2 } },
    );
    await check(
      '{ params: { emptyKeys: [f] } }',
      { requestParameters: { f: {}, g: 'x' } },
      { requestParameters: { f: 'x' } },
    );
  });

  it('params.equals, notEquals, in, startsWith, endsWith, matches, equalsTemplate', async () => {
    await check(
      '{ params: { equals: { maxItems: "1000" } } }',
      { requestParameters: { maxItems: 1000 } },
      { requestParameters: { maxItems: 10 } },
    );
    await check(
      '{ params: { equals: { "filter[].name": tag } } }',
      { requestParameters: { filter: [{ name: 'x' }, { name: 'tag' }] } },
      { requestParameters: { filter: [{ name: 'x' }] } },
    );
    await check(
      '{ params: { equals: { "a.b[1]": z } } }',
      { requestParameters: { a: { b: ['y', 'z'] } } },
      { requestParameters: { a: { b: ['z', 'y'] } } },
    );
    await check(
      '{ params: { notEquals: { a: x } } }',
      { requestParameters: { a: 'y' } },
      { requestParameters: { a: 'x' } },
    );
    await check(
      '{ params: { in: { a: [x, y] } } }',
      { requestParameters: { a: 'y' } },
      { requestParameters: { a: 'z' } },
    );
    await check(
      '{ params: { startsWith: { a: "arn:" } } }',
      { requestParameters: { a: 'arn:aws' } },
      { requestParameters: { a: 'x' } },
    );
    await check(
      '{ params: { endsWith: { a: ".json" } } }',
      { requestParameters: { a: 'k.json' } },
      { requestParameters: { a: 'k.txt' } },
    );
    await check(
      '{ params: { matches: { a: "^i-[0-9a-f]+$" } } }',
      { requestParameters: { a: 'i-0ab' } },
      { requestParameters: { a: 'i-xyz' } },
    );
    await check(
      '{ params: { equalsTemplate: { Host: "s3.{{region}}.amazonaws.com" } } }',
      { requestParameters: { Host: 's3.eu-west-1.amazonaws.com' }, awsRegion: 'eu-west-1' },
      { requestParameters: { Host: 's3.us-east-1.amazonaws.com' }, awsRegion: 'eu-west-1' },
    );
  });

  it('params.exists, absent, contains, notContains, json, count', async () => {
    await check(
      '{ params: { exists: ["a.b"] } }',
      { requestParameters: { a: { b: 0 } } },
      { requestParameters: { a: {} } },
    );
    await check(
      '{ params: { absent: [a] } }',
      { requestParameters: { b: 1 } },
      { requestParameters: { a: 1 } },
    );
    await check(
      '{ params: { contains: ["\\"x\\":1"] } }',
      { requestParameters: { x: 1 } },
      { requestParameters: { x: 2 } },
    );
    await check(
      '{ params: { notContains: [secret] } }',
      { requestParameters: { x: 'y' } },
      { requestParameters: { x: 'secret' } },
    );
    await check(
      `{ params: { json: '{"a":1,"b":"c"}' } }`,
      { requestParameters: { a: 1, b: 'c' } },
      { requestParameters: { b: 'c', a: 1 } },
    );
    await check(
      '{ params: { sortedJoin: { "filter.eventStatusCodes": "open,upcoming" } } }',
      { requestParameters: { filter: { eventStatusCodes: ['upcoming', 'open'] } } },
      { requestParameters: { filter: { eventStatusCodes: ['open'] } } },
    );
    await check(
      '{ params: { count: { items: 2 } } }',
      { requestParameters: { items: [1, 2] } },
      { requestParameters: { items: [1] } },
    );
  });

  it('response, errorCode, errorMessage, region, any, not', async () => {
    await check(
      '{ response: { equals: { ok: true } } }',
      { responseElements: { ok: true } },
      { responseElements: { ok: false } },
    );
    await check('{ errorCode: AccessDenied }', { errorCode: 'AccessDenied' }, {});
    await check('{ errorCode: null }', {}, { errorCode: 'ThrottlingException' });
    await check(
      '{ errorMessage: { startsWith: "Rate exceeded" } }',
      { errorMessage: 'Rate exceeded (x)' },
      { errorMessage: 'No' },
    );
    await check('{ region: [eu-west-1] }', { awsRegion: 'eu-west-1' }, { awsRegion: 'us-east-1' });
    await check('{ any: [{ region: eu-west-1 }, { errorCode: X }] }', { errorCode: 'X' }, {});
    await check('{ not: { region: us-east-1 } }', { awsRegion: 'ap-south-1' }, {});
  });

  it('first matching case wins unless it says continue; labels keep their order', async () => {
    const chain = '    - labels: [A]\n    - labels: [B]\n';
    expect(await labelsOf(chain, ev('iam:ListUsers', 0))).toEqual(['A']);
    const cont = '    - labels: [B]\n      continue: true\n    - labels: [A]\n';
    // Both labels are given; B is tried first and takes the event.
    expect(await labelsOf(cont, ev('iam:ListUsers', 0))).toEqual(['B']);
  });
});

describe('assembly', () => {
  const labels = `events:
  iam:ListUsers: [{ labels: [Users] }]
  iam:ListAccessKeys: [{ labels: [Users, Keys] }]
  iam:GetUser: [{ labels: [User] }]
`;
  const defs = `service: IAM
signals:
  - id: Users
    name: 'Listed {{count iam:ListUsers}} page(s), {{distinctCount iam:ListAccessKeys userName}} users keys'
    url: 'https://{{region}}.console.aws.amazon.com/iam/home#/users'
    anchor: [iam:ListUsers]
    required: [iam:ListUsers]
    optional: [iam:ListAccessKeys]
    lookback: 1
    lookahead: 5
  - id: Keys
    name: Keys
    anchor: [iam:ListAccessKeys]
    required: [iam:ListAccessKeys]
  - id: User
    name: 'User {{param iam:GetUser userName}}{{ifcount iam:GetUser " (looked up)"}}; {{params * userName}}; {{eventCount}}; {{response iam:GetUser user.arn}}{{ifparams iam:GetUser userName "; users "}}'
    anchor: [iam:GetUser]
    required: [iam:GetUser]
`;

  it('windows: lookback and lookahead bound the members; events are used once', async () => {
    const map = await mapperWith({ 'labels/iam.yaml': labels, 'defs/IAM.yaml': defs });
    const { signals, unmappedEventIds } = map([
      ev('iam:ListAccessKeys', 0, { requestParameters: { userName: 'early' } }),
      ev('iam:ListUsers', 5),
      ev('iam:ListAccessKeys', 6, { requestParameters: { userName: 'a' } }),
      ev('iam:ListAccessKeys', 10, { requestParameters: { userName: 'b' } }),
      ev('iam:ListAccessKeys', 11, { requestParameters: { userName: 'late' } }),
    ]);
    expect(ids(signals)).toEqual(['Keys', 'Users', 'Keys']);
    const users = signals[1]!;
    expect(users.eventIds).toEqual(['iam:ListUsers@5', 'iam:ListAccessKeys@6', 'iam:ListAccessKeys@10']);
    expect(users.name).toBe('Listed 1 page(s), 2 users keys');
    expect(users.url).toBe('https://us-east-1.console.aws.amazon.com/iam/home#/users');
    expect(users.details.eventCount).toBe(3);
    expect(unmappedEventIds).toEqual([]);
  });

  it('required events must all be in the window, else the next label is tried', async () => {
    const map = await mapperWith({
      'labels/s3.yaml': `events:
  s3:ListBuckets: [{ labels: [Page, Lone] }]
  s3:GetBucketAcl: [{ labels: [Page] }]
`,
      'defs/S3.yaml': `service: S3
signals:
  - { id: Page, name: Page, anchor: [s3:ListBuckets], required: [s3:ListBuckets, s3:GetBucketAcl] }
  - { id: Lone, name: Lone, anchor: [s3:ListBuckets], required: [s3:ListBuckets] }
`,
    });
    expect(ids(map([ev('s3:ListBuckets', 0), ev('s3:GetBucketAcl', 1)]).signals)).toEqual(['Page']);
    const r = map([ev('s3:ListBuckets', 0), ev('s3:GetBucketAcl', 10)]);
    expect(ids(r.signals)).toEqual(['Lone']);
    expect(r.unmappedEventIds).toEqual(['s3:GetBucketAcl@10']);
  });

  it('required "*" takes the optional events; an anchor outside the members makes no signal', async () => {
    const map = await mapperWith({
      'labels/health.yaml': `events:
  health:DescribeEventAggregates: [{ labels: [Noise] }]
  health:DescribeEvents: [{ labels: [Noise, Odd] }]
`,
      'defs/X.yaml': `service: X
signals:
  - id: Noise
    name: Noise
    anchor: [health:DescribeEventAggregates]
    required: "*"
    optional: [health:DescribeEventAggregates]
    suppressed: true
  - { id: Odd, name: Odd, anchor: [health:DescribeEvents], required: "*", optional: [health:DescribeEventAggregates] }
`,
    });
    const r = map([ev('health:DescribeEventAggregates', 0), ev('health:DescribeEvents', 1)]);
    expect(r.signals.map((s) => [s.id, s.suppressed, s.eventIds.length])).toEqual([['Noise', true, 1]]);
    expect(r.unmappedEventIds).toEqual(['health:DescribeEvents@1']);
  });

  it('eachEvent and anchor "*" make one signal per event; aliasOf reports another id', async () => {
    const map = await mapperWith({
      'labels/any.yaml': `events:
  '*': [{ when: { userAgent: cloudshell-aws-cli }, labels: [Cmd] }]
  s3:ListBuckets: [{ labels: [Buckets_Scenario2] }]
`,
      'defs/X.yaml': `service: X
signals:
  - { id: Cmd, name: 'Ran {{eventName}}', anchor: "*", required: "*", eachEvent: true }
  - { id: Buckets_Scenario2, aliasOf: Buckets, name: Buckets, anchor: [s3:ListBuckets], required: [s3:ListBuckets] }
`,
    });
    const cli =
      'aws-cli/2.11.9 Python/3.11.2 Linux/4.14 exec-env/CloudShell exe/x86_64.amzn.2 prompt/off command/s3.ls';
    const r = map([
      ev('s3:ListBuckets', 0, { userAgent: cli }),
      ev('sts:GetCallerIdentity', 0, { userAgent: cli }),
      ev('s3:ListBuckets', 5),
    ]);
    expect(r.signals.map((s) => `${s.id}:${s.name}`)).toEqual([
      'Cmd:Ran s3:ListBuckets',
      'Cmd:Ran sts:GetCallerIdentity',
      'Buckets:Buckets',
    ]);
  });

  it('templates fill params, responses, counts and conditional text; missing values say unknown', async () => {
    const map = await mapperWith({ 'labels/iam.yaml': labels, 'defs/IAM.yaml': defs });
    const [s] = map([
      ev('iam:GetUser', 0, {
        requestParameters: { userName: 'bob' },
        responseElements: { user: { arn: 'arn:aws:iam::1:user/bob' } },
      }),
    ]).signals;
    expect(s?.name).toBe('User bob (looked up); bob; 1; arn:aws:iam::1:user/bob; users bob');
    const [t] = map([ev('iam:GetUser', 0)]).signals;
    expect(t?.name).toBe('User unknown (looked up); unknown; 1; unknown');
  });

  it('templates never print credentials, whatever the rule asks for', async () => {
    const map = await mapperWith({
      'labels/sts.yaml': 'events:\n  sts:GetSessionToken: [{ labels: [Token] }]\n',
      'defs/STS.yaml': `service: STS
signals:
  - id: Token
    name: 'Key {{response * credentials.accessKeyId}}'
    summary: '{{response * credentials.sessionToken}} {{response * credentials}} {{param * password}} {{param * secretId}}'
    anchor: [sts:GetSessionToken]
    required: [sts:GetSessionToken]
`,
    });
    const [s] = map([
      ev('sts:GetSessionToken', 0, {
        requestParameters: { password: 'hunter2', secretId: 'prod/db' },
        responseElements: {
          credentials: {
            accessKeyId: 'ASIAEXAMPLE',
            sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE',
            secretAccessKey: 'wJalrEXAMPLE',
          },
        },
      }),
    ]).signals;
    expect(s?.name).toBe('Key ASIAEXAMPLE');
    // One redactor everywhere (engine/redact.ts): the credentials object keeps its access key id.
    expect(s?.summary).toBe(
      '[REDACTED] {"accessKeyId":"ASIAEXAMPLE","sessionToken":"[REDACTED]","secretAccessKey":"[REDACTED]"} [REDACTED] prod/db',
    );
    expect(JSON.stringify(s)).not.toMatch(/IQoJb3|wJalr|hunter2/);
  });

  it('same-second events give the same signals whatever their input order', async () => {
    const map = await mapperWith({
      'labels/s3.yaml': `events:
  s3:GetStorageLensConfiguration: [{ labels: [Buckets] }]
  s3:GetAccountPublicAccessBlock: [{ labels: [Buckets, BlockPublic] }]
`,
      'defs/S3.yaml': `service: S3
signals:
  - id: Buckets
    name: Buckets
    anchor: [s3:GetStorageLensConfiguration]
    required: [s3:GetStorageLensConfiguration, s3:GetAccountPublicAccessBlock]
  - { id: BlockPublic, name: BlockPublic, anchor: [s3:GetAccountPublicAccessBlock], required: [s3:GetAccountPublicAccessBlock] }
`,
    });
    const records = [
      ev('s3:GetAccountPublicAccessBlock', 0, {}, 'z1'),
      ev('s3:GetStorageLensConfiguration', 0, {}, 'a1'),
    ];
    const forward = map(records);
    const backward = map([...records].reverse());
    // The more specific page (two required calls) is not broken up by the one-call page in the same second.
    expect(ids(forward.signals)).toEqual(['Buckets']);
    expect(backward).toEqual(forward);
  });

  it('the page already open keeps the calls it makes in a shared second', async () => {
    const map = await mapperWith({
      'labels/ec2.yaml': `events:
  ec2:DescribeInstances: [{ labels: [List] }]
  ec2:DescribeInstanceTypes: [{ labels: [Launch, List] }]
  ec2:DescribeImages: [{ labels: [Launch] }]
  ec2:DescribeVolumes: [{ labels: [Volumes] }]
`,
      'defs/EC2.yaml': `service: EC2
signals:
  - id: List
    name: List
    anchor: [ec2:DescribeInstances, ec2:DescribeInstanceTypes]
    required: [ec2:DescribeInstances]
    optional: [ec2:DescribeInstanceTypes]
  - { id: Launch, name: Launch, anchor: [ec2:DescribeImages], required: [ec2:DescribeImages, ec2:DescribeInstanceTypes] }
  - { id: Volumes, name: Volumes, anchor: [ec2:DescribeVolumes], required: [ec2:DescribeVolumes] }
`,
    });
    const second = (id: string) => [
      ev('ec2:DescribeImages', 20, {}, `a-${id}`),
      ev('ec2:DescribeInstanceTypes', 20, {}, `b-${id}`),
      ev('ec2:DescribeInstances', 21, {}, `c-${id}`),
    ];
    // The instance list is open and polling: its calls in the shared second stay with it.
    const open = map([ev('ec2:DescribeInstances', 0, {}, 'list'), ...second('1')]);
    expect(open.signals.map((s) => [s.id, s.eventIds.length])).toEqual([
      ['List', 1],
      ['List', 2],
    ]);
    // Another page was open: the action needing more calls goes first, whatever the event IDs.
    for (const id of ['1', 'z']) {
      const other = map([ev('ec2:DescribeVolumes', 0, {}, 'vol'), ...second(id)]);
      expect(ids(other.signals)).toEqual(['Volumes', 'Launch', 'List']);
    }
  });
});

describe('follow-up rules', () => {
  const labels = `events:
  kms:ListKeys: [{ labels: [Keys] }]
  kms:CreateKey: [{ labels: [CreateStep2] }]
  kms:ListAliases: [{ labels: [Generic] }]
  ec2:DescribeInstances: [{ labels: [Details] }]
  ec2:DescribeTags: [{ labels: [Monitoring] }]
  ec2:StopInstances: [{ labels: [Stop] }]
`;
  const defs = `service: X
signals:
${[
  'Keys:kms:ListKeys',
  'CreateStep2:kms:CreateKey',
  'Generic:kms:ListAliases',
  'Details:ec2:DescribeInstances',
  'Monitoring:ec2:DescribeTags',
  'Stop:ec2:StopInstances',
]
  .map((x) => {
    const [id, ...e] = x.split(':');
    return `  - { id: ${id}, name: ${id}, anchor: [${e.join(':')}], required: [${e.join(':')}] }`;
  })
  .join('\n')}
${['CreateStep1', 'KeysFlow', 'Stops'].map((id) => `  - { id: ${id}, name: ${id}, anchor: [kms:ListKeys], required: [kms:ListKeys] }`).join('\n')}
`;
  const rules = (followups: string) =>
    mapperWith({ 'labels/x.yaml': labels, 'defs/X.yaml': defs, 'followups.yaml': followups });

  it('rename by the previous signal, and plural forms by distinct values', async () => {
    const map = await rules(`followups:
  - rename: { from: Generic, to: KeysFlow }
    when: { previous: { idStartsWith: Key, withinSeconds: 30 } }
  - rename: { from: Stop, to: Stops }
    when: { distinct: { event: 'ec2:StopInstances', path: 'instancesSet.items[].instanceId', startsWith: 'i-', moreThan: 1 } }
`);
    expect(ids(map([ev('kms:ListKeys', 0), ev('kms:ListAliases', 10)]).signals)).toEqual([
      'Keys',
      'KeysFlow',
    ]);
    expect(ids(map([ev('kms:ListKeys', 0), ev('kms:ListAliases', 100)]).signals)).toEqual([
      'Keys',
      'Generic',
    ]);
    const items = (...xs: string[]) => ({
      requestParameters: { instancesSet: { items: xs.map((instanceId) => ({ instanceId })) } },
    });
    expect(ids(map([ev('ec2:StopInstances', 0, items('i-1', 'i-2'))]).signals)).toEqual(['Stops']);
    expect(ids(map([ev('ec2:StopInstances', 0, items('i-1'))]).signals)).toEqual(['Stop']);
  });

  it('drop leaves the events free; renamePrevious rewrites the step before', async () => {
    const map = await rules(`followups:
  - drop: Generic
    when: { previous: { not: { id: Keys } } }
  - renamePrevious: { from: Keys, to: CreateStep1 }
    when: { current: { id: CreateStep2 } }
`);
    const dropped = map([ev('kms:ListAliases', 0)]);
    expect(dropped.signals).toEqual([]);
    expect(dropped.unmappedEventIds).toEqual(['kms:ListAliases@0']);
    expect(ids(map([ev('kms:ListKeys', 0), ev('kms:CreateKey', 20)]).signals)).toEqual([
      'CreateStep1',
      'CreateStep2',
    ]);
  });

  it('merge joins two consecutive signals within the time limit; previousSkips are not "previous"', async () => {
    const map = await rules(`previousSkips: [Keys]
followups:
  - merge: { first: Details, second: Monitoring, withinSeconds: 5 }
`);
    const merged = map([ev('ec2:DescribeInstances', 0), ev('kms:ListKeys', 10), ev('ec2:DescribeTags', 4)]);
    expect(merged.signals.map((s) => [s.id, s.eventIds.length])).toEqual([
      ['Monitoring', 2],
      ['Keys', 1],
    ]);
    const apart = map([ev('ec2:DescribeInstances', 0), ev('ec2:DescribeTags', 40)]);
    expect(ids(apart.signals)).toEqual(['Details', 'Monitoring']);
  });
});

describe('page-level answers and programmatic collapse', () => {
  const fallback = `pages:
  userAgents: [console]
  gapSeconds: 60
  default: { name: 'Viewed the {{service}} console' }
  services:
    rds: { name: 'Viewed the RDS console', service: RDS, url: 'https://{{region}}.console.aws.amazon.com/rds/home' }
    health: { name: 'AWS Health polling', suppressed: true }
collapse:
  gapSeconds: 300
  resourcePaths: { s3: [bucketName], iam: [userName] }
  resourceNouns: { s3: bucket }
`;

  it('explains console events no rule covers, one action per service visit', async () => {
    const map = await mapperWith({ 'fallback.yaml': fallback }, true);
    const records = [
      ...Array.from({ length: 45 }, (_, i) => ev('rds:DescribeDBInstances', i % 30, {}, `r${i}`)),
      ev('dynamodb:ListTables', 5),
      ev('health:DescribeEventAggregates', 6),
      ev('rds:DescribeDBClusters', 500),
    ];
    const r = map(records);
    expect(r.unmappedEventIds).toEqual([]);
    expect(r.signals.map((s) => [s.id, s.name, s.eventIds.length, s.suppressed])).toEqual([
      ['Console_rds', 'Viewed the RDS console', 45, false],
      ['Console_dynamodb', 'Viewed the dynamodb console', 1, false],
      ['Console_health', 'AWS Health polling', 1, true],
      ['Console_rds', 'Viewed the RDS console', 1, false],
    ]);
    expect(r.signals[0]?.summary).toContain('45 events');
    expect(r.signals[0]?.url).toBe('https://us-east-1.console.aws.amazon.com/rds/home');
  });

  it('says programmatic calls in plain words: reads per service and burst, every write on its own line', async () => {
    const map = await mapperWith({ 'fallback.yaml': fallback }, true);
    const cli = { userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64' };
    const getObject = (second: number, bucketName: string, id: string) =>
      ev('s3:GetObject', second, { ...cli, requestParameters: { bucketName, key: `k${second}` } }, id);
    const records = [
      ...Array.from({ length: 30 }, (_, i) => getObject(i, 'X', `g${i}`)),
      ev('s3:ListBuckets', 5, cli),
      ev('iam:CreateUser', 200, {
        ...cli,
        requestParameters: { userName: 'eve' },
        errorCode: 'AccessDenied',
        readOnly: false,
      }),
      ...Array.from({ length: 40 }, (_, i) => getObject(1000 + i, `bucket-${i % 8}`, `h${i}`)),
      ev('iam:CreateUser', 1100, { ...cli, requestParameters: { userName: 'mallory' }, readOnly: false }),
      ev('iam:CreateUser', 1101, { ...cli, requestParameters: { userName: 'trent' }, readOnly: false }),
    ];
    const r = map(records);
    expect(r.signals.map((s) => s.name)).toEqual([
      'AWS CLI: Read S3 objects and buckets (bucket X) in us-east-1',
      'AWS CLI: Created IAM user eve — failed (AccessDenied)',
      'AWS CLI: Downloaded S3 objects of 8 buckets in us-east-1',
      'AWS CLI: Created IAM user ×2: mallory and trent',
    ]);
    expect(r.signals[0]?.details).toMatchObject({
      from: 'summary',
      kind: 'read',
      eventCount: 31,
      writeCount: 0,
    });
    expect(r.signals[1]?.details).toMatchObject({ kind: 'write', writeCount: 1, errorCount: 1 });
    expect(r.unmappedEventIds).toEqual([]);
  });
});

describe('tool runs and console pages', () => {
  const fallback = `pages:
  userAgents: [console]
  gapSeconds: 60
  default: { name: 'Viewed the {{service}} console' }
  services: {}
collapse:
  gapSeconds: 300
  resourcePaths: { iam: [roleName], ec2: [groupId] }
`;
  const terraform = {
    userAgent: 'APN/1.0 HashiCorp/1.0 Terraform/1.6.0 (+https://www.terraform.io) terraform-provider-aws/5.0',
  };

  it('gives a deployment tool run a header and keeps each of its writes on its own line', async () => {
    const map = await mapperWith({ 'fallback.yaml': fallback }, true);
    const write = (name: string, second: number, roleName: string) =>
      ev(name, second, { ...terraform, readOnly: false, requestParameters: { roleName } });
    const r = map([
      ev('iam:GetRole', 0, terraform),
      write('iam:CreateRole', 1, 'app'),
      write('iam:CreateRole', 2, 'worker'),
      write('iam:PutRolePolicy', 3, 'app'),
      ev('iam:GetRole', 4, terraform),
      // A plan an hour later: reads only.
      ev('iam:GetRole', 3600, terraform),
      ev('iam:ListRolePolicies', 3601, terraform),
    ]);
    expect(r.signals.map((s) => s.name)).toEqual([
      'Terraform apply: 3 changes',
      'Terraform: Created IAM role ×2: app and worker',
      'Terraform: Set IAM role policy app',
      'Terraform plan or refresh: 2 reads',
    ]);
    expect(r.signals[0]?.summary).toContain('created IAM role ×2');
    expect(r.signals[0]?.eventIds).toHaveLength(2);
  });

  it("names the tool from the enrichment when the event has one, and splits runs by the tool's run id", async () => {
    const stratus = (run: string, second: number) =>
      ev('ec2:DescribeAccountAttributes', second, { userAgent: `stratus-red-team_${run}` });
    const records = [stratus('aaaaaaaa-1111', 0), stratus('bbbbbbbb-2222', 1)];
    const events = toEvents(records);
    for (const e of events) {
      e.enrichment = {
        iamActions: [],
        riskCategories: [],
        mitre: [],
        userAgentFamily: 'stratus-red-team',
        offensiveTool: 'stratus-red-team',
        sourceKind: 'public',
      };
    }
    const mapper = await createSignalMapper();
    const r = mapper.map({ ...session, kind: 'programmatic' }, events);
    expect(r.signals.map((s) => s.name)).toEqual([
      'Stratus Red Team: Listed EC2 account attributes in us-east-1',
      'Stratus Red Team: Listed EC2 account attributes in us-east-1',
    ]);
    expect(r.signals[0]?.details).toMatchObject({ tool: 'Stratus Red Team', from: 'summary' });
  });

  it('names console events with pages/*.yaml after the definitions, and keeps console writes visible', async () => {
    const map = await mapperWith(
      {
        'fallback.yaml': fallback,
        'pages/EC2.yaml': `service: EC2
sources: [hand-made test page]
pages:
  - id: Groups
    name: 'Viewed security groups'
    anchor: [ec2:DescribeSecurityGroups]
    calls: [ec2:DescribeVpcs, ec2:DescribeSecurityGroupRules]
    match:
      ec2:DescribeVpcs: { params: { keys: [] } }
    lookahead: 3
`,
      },
      true,
    );
    const r = map([
      ev('ec2:DescribeSecurityGroups', 0),
      ev('ec2:DescribeVpcs', 1),
      ev('ec2:DescribeVpcs', 2, { requestParameters: { vpcSet: { items: [{ vpcId: 'vpc-1' }] } } }),
      ev('ec2:DescribeSecurityGroupRules', 9),
      ev('ec2:AuthorizeSecurityGroupIngress', 10, {
        readOnly: false,
        requestParameters: { groupId: 'sg-1' },
      }),
    ]);
    expect(r.signals.map((s) => [s.id, s.eventIds.length, s.details.from ?? 'page-level'])).toEqual([
      ['Groups', 2, 'pages'],
      ['Console_ec2', 2, 'page-level'],
      ['Write_ec2_AuthorizeSecurityGroupIngress', 1, 'summary'],
    ]);
    expect(r.signals[2]?.name).toBe('Allowed EC2 inbound rule on security group sg-1');
  });
});

describe('odd input', () => {
  it('never throws on odd field shapes and still places every event', async () => {
    const mapper = await createSignalMapper();
    const records = [
      ev('iam:ListUsers', 0, { requestParameters: 'maxItems=1000' }),
      ev('iam:ListUsers', 1, { requestParameters: [1, 2, 3] }),
      ev('s3:ListBuckets', 2, {
        requestParameters: { Host: null, nested: { a: [null, { b: {} }] } },
        userAgent: undefined,
      }),
      ev('ec2:DescribeInstances', 3, { responseElements: 'not an object', errorCode: 'AccessDenied' }),
      ev('unknownsource:DoThing', 4, { userAgent: '' }),
      ev('kms:Decrypt', 5, { userAgent: 42 }),
    ];
    const r = mapper.map(session, toEvents(records));
    const placed = r.signals.flatMap((s) => s.eventIds);
    expect(placed.length + r.unmappedEventIds.length).toBe(records.length);
  });
});
