import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../engine/model.ts';
import type { Enricher } from '../../engine/stages.ts';
import { createEnricher } from '../../enrichment/index.ts';
import { analyzePolicyDocument, parsePolicyDocument } from '../../enrichment/policy.ts';
import {
  observeAndEnrich,
  readEvents,
  stratusLog,
  traildiscoverExamples,
  variant,
} from '../support/enrichment-helpers.ts';
import { TEST_DIR } from '../support/paths.ts';

const DEMO_INVICTUS = join(TEST_DIR, '..', 'demo', 'invictus');

let enricher: Enricher;
beforeAll(async () => {
  enricher = await createEnricher();
});

const find = (events: EngineEvent[], name: string) => events.find((e) => e.record.eventName === name)!;

describe('policy analysis on real policy changes', () => {
  it('flags AdministratorAccess attachments as full admin (Stratus create-admin-user, backdoor-role)', () => {
    for (const [technique, name] of [
      ['aws.persistence.iam-create-admin-user', 'AttachUserPolicy'],
      ['aws.persistence.iam-create-backdoor-role', 'AttachRolePolicy'],
    ] as const) {
      const policy = find(observeAndEnrich(enricher, stratusLog(technique)), name).enrichment!.policy!;
      expect(policy.fullAdmin).toBe(true);
      expect(policy.notes.join(' ')).toContain('AdministratorAccess');
    }
  });

  it('finds the other-account principal a backdoored trust policy adds, and names the statement', () => {
    const event = find(
      observeAndEnrich(enricher, stratusLog('aws.persistence.iam-backdoor-role')),
      'UpdateAssumeRolePolicy',
    );
    const doc = parsePolicyDocument(event.record.requestParameters!.policyDocument)!;
    const statements = doc.Statement as { Principal?: { AWS?: string } }[];
    const foreignIndex = statements.findIndex((s) => s.Principal?.AWS?.startsWith('arn:aws:iam::'));
    const foreign = statements[foreignIndex]!.Principal!.AWS!;
    expect(foreign).not.toContain(event.record.recipientAccountId!);
    const policy = event.enrichment!.policy!;
    expect(policy.crossAccountPrincipals).toEqual([foreign]);
    expect(policy.publicPrincipal).toBe(false);
    expect(
      policy.notes.some((n) => n.startsWith(`statement #${foreignIndex + 1} `) && n.includes(foreign)),
    ).toBe(true);
  });

  it('flags a Lambda permission for anyone (Stratus lambda-backdoor-function)', () => {
    const event = find(
      observeAndEnrich(enricher, stratusLog('aws.persistence.lambda-backdoor-function')),
      'AddPermission20150331v2',
    );
    expect(event.record.requestParameters!.principal).toBe('*');
    expect(event.enrichment!.policy!.publicPrincipal).toBe(true);
  });

  it('treats a session policy as a limit, not a grant (Stratus sts-federation-token passes Action *)', () => {
    const event = find(
      observeAndEnrich(enricher, stratusLog('aws.persistence.sts-federation-token')),
      'GetFederationToken',
    );
    const policy = event.enrichment!.policy!;
    expect(policy.fullAdmin).toBe(false);
    expect(policy.notes.join(' ')).toMatch(/session policy.*every action on every resource/);
  });

  it('reads the policies of the Invictus data set: object bucket policies, JSON strings, managed-policy ARNs', () => {
    const files = readdirSync(DEMO_INVICTUS).filter((f) => f.endsWith('.json'));
    const events = observeAndEnrich(
      enricher,
      files.flatMap((f, i) => readEvents(join(DEMO_INVICTUS, f), i * 10_000)),
    );
    expect(events.length).toBeGreaterThan(2000);
    const withPolicy = events.filter((e) => e.enrichment?.policy);
    expect(withPolicy.length).toBeGreaterThan(10);
    // The Stratus "backdoor bucket policy" grants another account access to a bucket.
    const backdoor = events.filter(
      (e) =>
        e.record.eventName === 'PutBucketPolicy' &&
        (e.enrichment?.policy?.crossAccountPrincipals.length ?? 0) > 0,
    );
    expect(backdoor.length).toBe(1);
    // CloudTrail's own bucket policy (service principal) is neither public nor cross-account.
    const trailBucket = events.filter(
      (e) =>
        e.record.eventName === 'PutBucketPolicy' &&
        JSON.stringify(e.record.requestParameters?.bucketPolicy).includes('cloudtrail.amazonaws.com'),
    );
    expect(trailBucket.length).toBeGreaterThan(0);
    for (const e of trailBucket) {
      expect(e.enrichment!.policy!.publicPrincipal).toBe(false);
      expect(e.enrichment!.policy!.crossAccountPrincipals).toEqual([]);
    }
    // A read-only inline policy is looked at and found unremarkable.
    const describeOnly = events.find(
      (e) =>
        e.record.eventName === 'PutRolePolicy' &&
        String(e.record.requestParameters?.policyDocument).includes('ec2:Describe*'),
    )!;
    expect(describeOnly.enrichment!.policy).toMatchObject({
      fullAdmin: false,
      privilegeEscalationActions: [],
    });
    expect(
      events.filter((e) => e.record.eventName === 'AttachUserPolicy' && e.enrichment?.policy?.fullAdmin)
        .length,
    ).toBe(1);
  });

  it('ignores requests without a usable policy (failed TrailDiscover calls, empty bucket policy)', () => {
    const events = observeAndEnrich(
      enricher,
      traildiscoverExamples().flatMap((x) => x.events),
    );
    expect(find(events, 'PutBucketPolicy').enrichment!.policy).toBeUndefined();
    expect(find(events, 'ListUsers').enrichment!.policy).toBeUndefined();
  });
});

describe('policy documents in all their encodings', () => {
  const base = () => find(stratusLog('aws.persistence.iam-backdoor-role'), 'UpdateAssumeRolePolicy');
  const withDoc = (doc: unknown, id: string) =>
    variant(
      base(),
      {
        eventName: 'PutRolePolicy',
        requestParameters: { roleName: 'r', policyName: 'p', policyDocument: doc },
      },
      id,
    );

  it('decodes URL-encoded documents and flags full admin, privilege escalation and public principals by statement', () => {
    const adminDoc = {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'ReadOnly', Effect: 'Allow', Action: 's3:Get*', Resource: '*' },
        { Sid: 'Everything', Effect: 'Allow', Action: '*', Resource: '*' },
      ],
    };
    const escalation = {
      Statement: [{ Effect: 'Allow', Action: ['iam:Pass*', 'lambda:CreateFunction'], Resource: '*' }],
    };
    const publicDoc = {
      Statement: [
        { Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' },
        {
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::b/*',
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } },
        },
      ],
    };
    const events = [
      withDoc(encodeURIComponent(JSON.stringify(adminDoc)), 'admin'),
      withDoc(JSON.stringify(escalation, null, 2), 'escalation'),
      withDoc(publicDoc, 'public'),
      withDoc('%7B%22Statement%22%3A%5B', 'broken'),
    ];
    observeAndEnrich(enricher, events);
    const [admin, esc, pub, broken] = events.map((e) => e.enrichment!.policy!);
    expect(admin!.fullAdmin).toBe(true);
    expect(admin!.notes.some((n) => n.includes('statement "Everything"') && n.includes('full admin'))).toBe(
      true,
    );
    expect(esc!.privilegeEscalationActions).toEqual(
      expect.arrayContaining(['iam:PassRole', 'lambda:CreateFunction']),
    );
    expect(esc!.fullAdmin).toBe(false);
    expect(pub!.publicPrincipal).toBe(true);
    expect(pub!.notes.some((n) => n.startsWith('statement #1') && n.includes('anyone'))).toBe(true);
    expect(pub!.notes.some((n) => n.startsWith('statement #2') && n.includes('conditions restrict'))).toBe(
      true,
    );
    expect(broken!.notes[0]).toContain('not a readable policy document');
  });

  it('never throws on garbage', () => {
    for (const v of [
      '%E0%A4%A',
      '{',
      '[]',
      'null',
      '"x"',
      42,
      null,
      [],
      { Statement: 'nope' },
      { Statement: [null, 1, 'x'] },
    ]) {
      expect(() => parsePolicyDocument(v)).not.toThrow();
      const e = withDoc(v, `garbage-${String(v)}`);
      expect(() => observeAndEnrich(enricher, [e])).not.toThrow();
    }
  });
});

describe('sharing snapshots and images (Stratus exfiltration techniques)', () => {
  it('names the account an EBS snapshot, AMI or RDS snapshot is shared with', async () => {
    const enricher = await createEnricher();
    for (const [technique, name] of [
      ['aws.exfiltration.ec2-share-ebs-snapshot', 'ModifySnapshotAttribute'],
      ['aws.exfiltration.ec2-share-ami', 'ModifyImageAttribute'],
      ['aws.exfiltration.rds-share-snapshot', 'ModifyDBSnapshotAttribute'],
    ] as const) {
      const event = find(observeAndEnrich(enricher, stratusLog(technique)), name);
      const rp = JSON.stringify(event.record.requestParameters);
      const account = /"(\d{12})"/.exec(rp)![1]!;
      expect(account).not.toBe(event.record.recipientAccountId);
      const policy = event.enrichment!.policy!;
      expect(policy.crossAccountPrincipals, technique).toEqual([account]);
      expect(policy.publicPrincipal).toBe(false);
      expect(policy.notes[0]).toContain(account);
    }
  });

  it('calls sharing with group "all" public', async () => {
    const enricher = await createEnricher();
    const base = find(stratusLog('aws.exfiltration.ec2-share-ebs-snapshot'), 'ModifySnapshotAttribute');
    const everyone = variant(
      base,
      {
        requestParameters: {
          ...base.record.requestParameters,
          createVolumePermission: { add: { items: [{ group: 'all' }] } },
        },
      },
      'public-share',
    );
    observeAndEnrich(enricher, [everyone]);
    expect(everyone.enrichment!.policy!.publicPrincipal).toBe(true);
  });
});

describe('queue and topic policies', () => {
  it('reads SQS attributes.Policy and SNS attributeValue documents', async () => {
    const enricher = await createEnricher();
    const base = find(stratusLog('aws.persistence.iam-backdoor-role'), 'UpdateAssumeRolePolicy');
    const open = JSON.stringify({
      Statement: [
        { Sid: 'Anyone', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sqs:SendMessage', Resource: '*' },
      ],
    });
    const sqs = variant(
      base,
      {
        eventSource: 'sqs.amazonaws.com',
        eventName: 'SetQueueAttributes',
        requestParameters: { queueUrl: 'q', attributes: { Policy: open } },
      },
      'sqs',
    );
    const sns = variant(
      base,
      {
        eventSource: 'sns.amazonaws.com',
        eventName: 'SetTopicAttributes',
        requestParameters: { topicArn: 't', attributeName: 'Policy', attributeValue: open },
      },
      'sns',
    );
    observeAndEnrich(enricher, [sqs, sns]);
    for (const e of [sqs, sns]) {
      expect(e.enrichment!.policy!.publicPrincipal, e.id).toBe(true);
      expect(e.enrichment!.policy!.notes[0]).toContain('statement "Anyone"');
    }
  });
});

describe('conditions that do and do not pin a public principal down', () => {
  const ctx = { privilegeEscalationActions: new Set<string>() };
  const trust = (Condition?: Record<string, unknown>) => ({
    Statement: [
      { Sid: 'Open', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole', Condition },
    ],
  });
  const isPublic = (Condition?: Record<string, unknown>) =>
    analyzePolicyDocument(trust(Condition), '111111111111', ctx).publicPrincipal;

  it('keeps a principal pinned by account, organisation or ARN private', () => {
    expect(isPublic({ StringEquals: { 'aws:PrincipalOrgID': 'o-abc' } })).toBe(false);
    expect(isPublic({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/ci' } })).toBe(false);
    expect(isPublic({ 'ForAnyValue:StringEquals': { 'aws:SourceAccount': '222222222222' } })).toBe(false);
  });

  it('calls an external id alone, a negated operator or an IfExists operator public', () => {
    expect(isPublic()).toBe(true);
    expect(isPublic({ StringEquals: { 'sts:ExternalId': 'shared-value' } })).toBe(true);
    expect(isPublic({ StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc' } })).toBe(true);
    expect(isPublic({ StringEqualsIfExists: { 'aws:SourceAccount': '222222222222' } })).toBe(true);
  });

  it('calls any-account ARNs, NotPrincipal and wildcard or /0 condition values public', () => {
    const doc = (st: Record<string, unknown>) => ({
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', ...st }],
    });
    const pub = (st: Record<string, unknown>) =>
      analyzePolicyDocument(doc(st), '111111111111', ctx).publicPrincipal;
    expect(pub({ Principal: { AWS: 'arn:aws:iam::*:root' } })).toBe(true);
    expect(pub({ NotPrincipal: { AWS: 'arn:aws:iam::222222222222:root' } })).toBe(true);
    expect(pub({ Principal: '*', Condition: { IpAddress: { 'aws:SourceIp': ['0.0.0.0/0', '::/0'] } } })).toBe(
      true,
    );
    expect(pub({ Principal: '*', Condition: { StringLike: { 'aws:PrincipalArn': '*' } } })).toBe(true);
    expect(pub({ Principal: '*', Condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } })).toBe(
      false,
    );
    expect(pub({ Principal: { AWS: 'arn:aws:iam::222222222222:root' } })).toBe(false);
  });
});
