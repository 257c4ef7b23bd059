/**
 * Behaviour cases generated from `rules/panther-behaviour/behaviours.yaml`: for each of Panther's CloudTrail rules,
 * the behaviour its logic describes (event source and names, parameter, outcome and identity conditions, each
 * branch, each exclusion), written down as data and expanded here into CloudTrail records that vary everything the
 * logic leaves open: who calls (IAM user, assumed role, SSO session, federated user, root, an AWS service), region,
 * user agent and address, a refused call where the logic ignores the outcome, lower-cased keys.
 *
 *   fires  → every variant must raise a finding: above info (`alarm`) where Panther rates the behaviour medium or
 *            worse, any severity (`flag`) otherwise; a refused attempt needs a finding of any severity.
 *   quiet  → the near-misses the logic calls benign: no finding above info.
 *
 * Used by test/rules/panther-behaviour.test.ts and `node bin/run-ts.js test/support/panther-behaviour-report.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { PantherCase } from './panther-cases.ts';

export type Expect = 'alarm' | 'flag' | 'quiet';
const IDENTITIES = [
  'IAMUser',
  'AssumedRole',
  'SSO',
  'FederatedUser',
  'Root',
  'AWSService',
  'AWSAccount',
  'WebIdentityUser',
  'NoIdentity',
] as const;
type Identity = (typeof IDENTITIES)[number];

const Obj = z.record(z.string(), z.unknown());
const Variant = Obj.and(
  z.object({
    expect: z.enum(['alarm', 'flag', 'quiet']).optional(),
    identities: z.array(z.enum(IDENTITIES)).optional(),
    note: z.string().optional(),
  }),
);
const Behaviour = z
  .object({
    panther: z.string(),
    severity: z.enum(['info', 'low', 'medium', 'high', 'critical']),
    enabled: z.boolean().default(true),
    /** Removed from Panther's tree (or an earlier version's logic); its old test events still exist. */
    retired: z.boolean().default(false),
    logic: z.string(),
    event: Obj.default({}),
    /** The logic requires a call that succeeded (no errorCode/errorMessage): a refused variant goes to quiet. */
    success: z.boolean().default(false),
    identities: z.array(z.enum(IDENTITIES)).optional(),
    /** false: the default callers leave out AWS services (the logic excludes them, or ours does on purpose: see note). */
    services: z.boolean().default(true),
    /** false: the default callers leave out another account's principal (the logic compares the caller's account). */
    accounts: z.boolean().default(true),
    note: z.string().optional(),
    /** What a firing variant needs by default (otherwise: alarm for medium and worse, flag below). */
    level: z.enum(['alarm', 'flag']).optional(),
    fires: z.array(Variant).default([]),
    quiet: z.array(Variant).default([]),
    /** Why no single-record behaviour can be generated (enrichment, history, external intel). */
    notGenerated: z.string().optional(),
  })
  .strict();
export type BehaviourSpec = z.infer<typeof Behaviour>;

export const BEHAVIOUR_FILE = join(
  import.meta.dirname,
  '..',
  '..',
  'rules',
  'panther-behaviour',
  'behaviours.yaml',
);

export function loadBehaviours(file = BEHAVIOUR_FILE): BehaviourSpec[] {
  const doc = parse(readFileSync(file, 'utf8')) as { behaviours: unknown[] };
  return doc.behaviours.map((b, i) => {
    const r = Behaviour.safeParse(b);
    if (!r.success) throw new Error(`${file}: behaviour ${i + 1}: ${r.error.message}`);
    return r.data;
  });
}

export interface GeneratedCase extends PantherCase {
  want: Expect;
  variant: string;
}

const REGIONS = ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-west-2', 'eu-central-1', 'sa-east-1'];
const IPS = [
  '84.17.35.10',
  '177.54.144.3',
  '36.110.45.9',
  '2a01:4f8:c17:1b2::2',
  '81.2.69.160',
  '102.89.34.7',
];
const AGENTS = [
  'aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 prompt/off',
  'Boto3/1.34.70 md/Botocore#1.34.70 ua/2.0 os/macos#23.4.0 md/arch#arm64 lang/python#3.12.2 cfg/retry-mode#legacy',
  'aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36',
  'aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#20.12.0 api/x#3.540.0',
];
const PEOPLE = [
  'mara.lindqvist',
  'devops-deployer',
  'k.osei',
  'analytics-svc',
  'p.ramirez',
  'ops-automation',
];
const ROLES = ['PlatformEngineer', 'DataPipelineRole', 'IncidentResponder', 'app-backend-role', 'BuildAgent'];
const OWN_ACCOUNT = '210987654321';
const ACCOUNTS = ['210987654322', '334455667788', '909182736450', '123400009876'];

function pick<T>(list: readonly T[], i: number): T {
  return list[i % list.length]!;
}

function identity(kind: Identity, i: number, account: string): Record<string, unknown> {
  const person = pick(PEOPLE, i);
  const role = pick(ROLES, i);
  const created = '2025-03-10T08:00:00Z';
  const roleSession = (name: string, session: string, mfa: string) => ({
    type: 'AssumedRole',
    principalId: `AROA${String(100000 + i)}EXAMPLEID:${session}`,
    arn: `arn:aws:sts::${account}:assumed-role/${name}/${session}`,
    accountId: account,
    accessKeyId: `ASIA${String(200000 + i)}EXAMPLEKEY`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: `AROA${String(100000 + i)}EXAMPLEID`,
        arn: `arn:aws:iam::${account}:role/${name.startsWith('AWSReservedSSO') ? 'aws-reserved/sso.amazonaws.com/' : ''}${name}`,
        accountId: account,
        userName: name,
      },
      attributes: { creationDate: created, mfaAuthenticated: mfa },
    },
  });
  switch (kind) {
    case 'IAMUser':
      return {
        type: 'IAMUser',
        principalId: `AIDA${String(300000 + i)}EXAMPLEID`,
        arn: `arn:aws:iam::${account}:user/${person}`,
        accountId: account,
        accessKeyId: `AKIA${String(400000 + i)}EXAMPLEKEY`,
        userName: person,
      };
    case 'AssumedRole':
      return roleSession(role, `session-${1700000000 + i}`, 'false');
    case 'SSO':
      return roleSession(
        `AWSReservedSSO_${pick(['AdministratorAccess', 'PowerUserAccess'], i)}_5f2c${i}ab1`,
        `${person}@example.org`,
        'false',
      );
    case 'FederatedUser':
      return {
        type: 'FederatedUser',
        principalId: `${account}:${person}`,
        arn: `arn:aws:sts::${account}:federated-user/${person}`,
        accountId: account,
        accessKeyId: `ASIA${String(500000 + i)}EXAMPLEKEY`,
        sessionContext: {
          sessionIssuer: {
            type: 'IAMUser',
            principalId: `AIDA${String(600000 + i)}EXAMPLEID`,
            arn: `arn:aws:iam::${account}:user/${person}-broker`,
            accountId: account,
            userName: `${person}-broker`,
          },
          attributes: { creationDate: created, mfaAuthenticated: 'false' },
        },
      };
    case 'Root':
      return {
        type: 'Root',
        principalId: account,
        arn: `arn:aws:iam::${account}:root`,
        accountId: account,
        accessKeyId: `ASIA${String(700000 + i)}EXAMPLEKEY`,
      };
    case 'AWSAccount':
      // A principal of another account acting on a shared resource: only its account and principal id are recorded.
      return {
        type: 'AWSAccount',
        principalId: `AIDA${String(800000 + i)}EXAMPLEID`,
        accountId: '999988887777',
      };
    case 'WebIdentityUser':
      return {
        type: 'WebIdentityUser',
        principalId: `cognito-identity.amazonaws.com:us-east-1:0f1e2d3c-${String(1000 + i)}:us-east-1:abcd-${i}`,
        userName: `us-east-1:abcd-${i}`,
        identityProvider: 'cognito-identity.amazonaws.com',
      };
    case 'NoIdentity':
      // Hand-written and partially exported records often carry no caller at all.
      return {};
    case 'AWSService':
      return {
        type: 'AWSService',
        invokedBy: pick(['cloudformation.amazonaws.com', 'config.amazonaws.com'], i),
      };
  }
}

type Rec = Record<string, unknown>;
function isObj(v: unknown): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
/** Deep merge; a `null` in the patch removes the key. */
function merge(base: Rec, patch: Rec): Rec {
  const out: Rec = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Rec, v) : v;
  }
  return out;
}

const OPAQUE = new Set([
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'serviceEventDetails',
]);
function lowerKeys(r: Rec): Rec {
  const out: Rec = {};
  for (const [k, v] of Object.entries(r)) {
    const key = k.toLowerCase();
    // Request and response keep their spelling (they are the API's); so do the JSON blobs of sign-in and service events.
    out[key] = OPAQUE.has(k) || !isObj(v) ? v : lowerKeys(v);
  }
  return out;
}

function record(spec: BehaviourSpec, variant: Rec, who: Identity, i: number): Rec {
  const account = pick(ACCOUNTS, i);
  const agent = who === 'AWSService' ? (identity(who, i, account).invokedBy as string) : pick(AGENTS, i);
  const { expect: _e, identities: _i, note: _n, ...patch } = variant;
  const seconds = String(i % 60).padStart(2, '0');
  const base: Rec = {
    eventVersion: '1.09',
    userIdentity: identity(who, i, account),
    eventTime: `2025-0${1 + (i % 9)}-1${i % 10}T1${i % 10}:2${i % 10}:${seconds}Z`,
    awsRegion: pick(REGIONS, i),
    sourceIPAddress: who === 'AWSService' ? agent : pick(IPS, i),
    userAgent: agent,
    requestParameters: null,
    responseElements: null,
    requestID: `req-${spec.panther.length}-${i}`,
    eventID: `0000${i}-beha-viou-r000-${String(spec.panther.length).padStart(12, '0')}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
  // The behaviour file writes the caller's own account as OWN_ACCOUNT; any other account id is a foreign one.
  if (who === 'NoIdentity') delete base.userIdentity;
  const withSpec = JSON.parse(
    JSON.stringify(merge(merge(base, spec.event), patch)).replaceAll(OWN_ACCOUNT, account),
  ) as Rec;
  // A browser's call with temporary credentials is a console session's.
  const browser = typeof withSpec.userAgent === 'string' && withSpec.userAgent.startsWith('Mozilla');
  if (
    browser &&
    !['IAMUser', 'AWSService'].includes(who) &&
    withSpec.sessionCredentialFromConsole === undefined
  )
    withSpec.sessionCredentialFromConsole = 'true';
  const id = withSpec.userIdentity as Rec;
  if (isObj(id) && typeof id.accountId === 'string' && withSpec.recipientAccountId === undefined)
    withSpec.recipientAccountId = id.accountId;
  for (const k of ['requestParameters', 'responseElements'])
    if (withSpec[k] === undefined) withSpec[k] = null;
  return withSpec;
}

/** The shape of a record exported from a log platform: its own time field, JSON nulls, a boolean console flag. */
function exportShape(r: Rec): Rec {
  const { eventTime, ...rest } = r;
  const id = isObj(r.userIdentity) ? r.userIdentity : {};
  return {
    ...rest,
    p_event_time: String(eventTime).replace('T', ' ').replace('Z', '.000000000'),
    p_log_type: 'AWS.CloudTrail',
    userIdentity: { invokedBy: null, ...id },
    resources: r.resources ?? null,
    ...(r.sessionCredentialFromConsole === 'true' ? { sessionCredentialFromConsole: true } : {}),
  };
}

const DEFAULT_IDS: Identity[] = [
  'IAMUser',
  'AssumedRole',
  'SSO',
  'FederatedUser',
  'Root',
  'AWSAccount',
  'WebIdentityUser',
  'AWSService',
  'NoIdentity',
];
const FAILED = {
  errorCode: 'AccessDenied',
  errorMessage: 'User is not authorized to perform this operation',
};

function defaultCallers(spec: BehaviourSpec): Identity[] {
  return DEFAULT_IDS.filter(
    (k) => (k !== 'AWSService' || spec.services) && (k !== 'AWSAccount' || spec.accounts),
  );
}

/** Every generated case of one behaviour. */
export function expand(spec: BehaviourSpec): GeneratedCase[] {
  const out: GeneratedCase[] = [];
  let n = spec.panther.length * 7;
  const add = (log: Rec, want: Expect, variant: string) =>
    out.push({ rule_id: spec.panther, test_name: variant, expected: want !== 'quiet', log, want, variant });
  const strong = ['medium', 'high', 'critical'].includes(spec.severity);
  spec.fires.forEach((v, vi) => {
    const ids = v.identities ?? spec.identities ?? defaultCallers(spec);
    const want = v.expect ?? spec.level ?? (strong ? 'alarm' : 'flag');
    for (const who of ids) {
      const log = record(spec, v, who, n++);
      add(log, who === 'AWSService' && want === 'alarm' ? 'flag' : want, `fires#${vi + 1} ${who}`);
    }
    const first = ids[0]!;
    add(lowerKeys(record(spec, v, first, n++)), want, `fires#${vi + 1} ${first} lower-case keys`);
    add(exportShape(record(spec, v, first, n++)), want, `fires#${vi + 1} ${first} exported shape`);
    const failed = merge(record(spec, v, first, n++), 'errorCode' in v ? {} : FAILED);
    if (!('errorCode' in v)) add(failed, spec.success ? 'quiet' : 'flag', `fires#${vi + 1} ${first} refused`);
  });
  spec.quiet.forEach((v, vi) => {
    for (const who of v.identities ?? spec.identities ?? DEFAULT_IDS.slice(0, 2))
      add(record(spec, v, who, n++), v.expect ?? 'quiet', `quiet#${vi + 1} ${who}`);
  });
  return out;
}
