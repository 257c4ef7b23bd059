import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../engine/model.ts';
import { createEnricher } from '../../enrichment/index.ts';
import {
  FIXTURES,
  observeAndEnrich,
  otrfEvents,
  stratusLog,
  variant,
} from '../support/enrichment-helpers.ts';

/** Issued key → issuing event id, read straight from the records (independent of the tracker). */
function issuedKeys(events: EngineEvent[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of events) {
    const creds = e.record.responseElements?.credentials as { accessKeyId?: string } | undefined;
    if (creds?.accessKeyId) out.set(creds.accessKeyId, e.id);
  }
  return out;
}

describe('credential lineage', () => {
  it('links every later use of a key issued in the Stratus logs to the call that issued it', async () => {
    const techniques = readdirSync(join(FIXTURES, 'stratus-red-team', 'detonation-logs')).map((f) =>
      f.slice(0, -5),
    );
    let linked = 0;
    let files = 0;
    for (const technique of techniques) {
      const enricher = await createEnricher();
      const events = observeAndEnrich(enricher, stratusLog(technique));
      const issued = issuedKeys(events);
      const uses = events.filter((e) => issued.has(e.record.userIdentity?.accessKeyId ?? ''));
      if (uses.length > 0) files++;
      for (const e of uses) {
        const lineage = e.enrichment!.lineage;
        expect(lineage?.issuedByEventId, `${technique} ${e.record.eventName}`).toBe(
          issued.get(e.record.userIdentity!.accessKeyId!),
        );
        expect(lineage?.chain).toEqual([lineage?.issuedByEventId]);
        // Same (sometimes malformed) address on both sides in these logs: nothing to flag.
        expect(lineage?.originMismatch).toBe(false);
        linked++;
      }
    }
    expect(files).toBe(5);
    expect(linked).toBeGreaterThanOrEqual(48);
  });

  it('names what was issued: GetFederationToken → federated user, AssumeRole → role session', async () => {
    const enricher = await createEnricher();
    const fed = observeAndEnrich(enricher, stratusLog('aws.persistence.sts-federation-token'));
    const use = fed.find((e) => e.record.eventName === 'GetCallerIdentity' && e.enrichment?.lineage)!;
    expect(use.enrichment!.lineage!.issuedByEventName).toBe('GetFederationToken');
    expect(use.enrichment!.lineage!.issuedTo).toMatch(/federated-user/);
    expect(use.enrichment!.lineage!.issuedFromIp).toBe('255.090.254.5');
  });

  it('links across input files: the issuing call in one input, the uses in another', async () => {
    const enricher = await createEnricher();
    const events = stratusLog('aws.credential-access.ec2-get-password-data');
    const issuing = events.filter((e) => e.record.eventName === 'AssumeRole');
    const rest = events.filter((e) => e.record.eventName !== 'AssumeRole');
    for (const e of issuing) enricher.observe(e); // first file, its session already closed elsewhere
    observeAndEnrich(enricher, rest); // second file
    const used = rest.filter((e) => e.enrichment?.lineage);
    expect(used.length).toBeGreaterThan(20);
    expect(new Set(used.map((e) => e.enrichment!.lineage!.issuedByEventId))).toEqual(
      new Set([issuedKeys(issuing).get('ASIANQQHHS551LWULIWD')]),
    );
  });

  it('follows role chains root first', async () => {
    const enricher = await createEnricher();
    const events = stratusLog('aws.credential-access.ec2-get-password-data');
    const [first, second] = events.filter((e) => e.record.eventName === 'AssumeRole');
    const firstKey = (first!.record.responseElements!.credentials as { accessKeyId: string }).accessKeyId;
    const secondKey = (second!.record.responseElements!.credentials as { accessKeyId: string }).accessKeyId;
    // The second AssumeRole made with the first role's key: a role chain.
    const chained = variant(
      second!,
      { userIdentity: { ...second!.record.userIdentity, type: 'AssumedRole', accessKeyId: firstKey } },
      'chained-assume',
    );
    const use = events.find((e) => e.record.userIdentity?.accessKeyId === secondKey)!;
    observeAndEnrich(enricher, [first!, chained, use]);
    expect(use.enrichment!.lineage!.chain).toEqual([first!.id, 'chained-assume']);
    expect(use.enrichment!.lineage!.issuedByEventId).toBe('chained-assume');
  });

  it('flags a key used from another public network than it was issued to', async () => {
    const enricher = await createEnricher();
    const events = stratusLog('aws.defense-evasion.organizations-leave');
    const leave = events.find((e) => e.record.eventName === 'LeaveOrganization')!;
    const moved = variant(leave, { sourceIPAddress: '198.51.100.7' }, 'moved');
    observeAndEnrich(enricher, [...events, moved]);
    expect(leave.enrichment!.lineage!.originMismatch).toBe(false);
    expect(moved.enrichment!.lineage!.originMismatch).toBe(true);
    expect(moved.enrichment!.lineage!.reason).toContain('252.5.222.230');
    expect(moved.enrichment!.lineage!.reason).toContain('198.51.100.7');
  });

  it('does not flag dual-stack clients, VPC endpoints, console sessions, AWS services or the same network', async () => {
    const enricher = await createEnricher();
    const events = stratusLog('aws.defense-evasion.organizations-leave');
    const leave = events.find((e) => e.record.eventName === 'LeaveOrganization')!;
    const cases = {
      ipv6: variant(leave, { sourceIPAddress: '2001:db8:85a3::8a2e:370:7334' }, 'v6'),
      vpce: variant(leave, { sourceIPAddress: '10.0.3.7', vpcEndpointId: 'vpce-0abc123' }, 'vpce'),
      console: variant(
        leave,
        { sourceIPAddress: '203.0.113.9', sessionCredentialFromConsole: 'true' },
        'console',
      ),
      service: variant(leave, { sourceIPAddress: 'cloudformation.amazonaws.com' }, 'service'),
      internal: variant(leave, { sourceIPAddress: 'AWS Internal' }, 'internal'),
      sameNet: variant(leave, { sourceIPAddress: '252.5.222.17' }, 'same-net'),
    };
    observeAndEnrich(enricher, [...events, ...Object.values(cases)]);
    for (const [name, e] of Object.entries(cases)) {
      expect(e.enrichment!.lineage, name).toBeDefined();
      expect(e.enrichment!.lineage!.originMismatch, name).toBe(false);
    }
    expect(cases.ipv6.enrichment!.lineage!.reason).toMatch(/dual-stack/);
  });

  it('does not flag roles an AWS service assumed for itself', async () => {
    const enricher = await createEnricher();
    const otrf = otrfEvents();
    const serviceIssue = otrf.find(
      (e) =>
        e.record.eventName === 'AssumeRole' &&
        e.record.requestParameters?.roleSessionName === 'i-044b1baf4c96e1b62',
    )!;
    const key = (serviceIssue.record.responseElements!.credentials as { accessKeyId: string }).accessKeyId;
    // The same issuance, but for a Lambda function, used from a public address.
    const lambdaIssue = variant(
      serviceIssue,
      {
        sourceIPAddress: 'lambda.amazonaws.com',
        userIdentity: { type: 'AWSService', invokedBy: 'lambda.amazonaws.com' },
        requestParameters: {
          roleArn: 'arn:aws:iam::123456789123:role/fn-role',
          roleSessionName: 'my-function',
        },
      },
      'lambda-issue',
    );
    const use = variant(
      otrf.find((e) => e.record.eventName === 'ListBuckets')!,
      {
        sourceIPAddress: '3.5.140.2',
        userIdentity: {
          type: 'AssumedRole',
          arn: 'arn:aws:sts::123456789123:assumed-role/fn-role/my-function',
          accessKeyId: key,
        },
      },
      'lambda-use',
    );
    observeAndEnrich(enricher, [lambdaIssue, use]);
    expect(use.enrichment!.lineage!.issuedByEventId).toBe('lambda-issue');
    expect(use.enrichment!.lineage!.originMismatch).toBe(false);
  });

  it('flags EC2 instance-role keys used outside their instance (OTRF cloud breach S3)', async () => {
    const enricher = await createEnricher();
    const events = observeAndEnrich(enricher, otrfEvents());
    const stolen = events.filter((e) => e.record.userIdentity?.accessKeyId === 'ASIA5FLZVX4OPVKKVBMX');
    expect(stolen.length).toBe(11);
    const issuing = events.find(
      (e) =>
        (e.record.responseElements?.credentials as { accessKeyId?: string } | undefined)?.accessKeyId ===
        'ASIA5FLZVX4OPVKKVBMX',
    )!;
    for (const e of stolen) {
      const l = e.enrichment!.lineage!;
      expect(l.issuedByEventId).toBe(issuing.id);
      expect(l.issuedTo).toContain('i-0317f6c6b66ae9c40');
      expect(l.originMismatch).toBe(true);
      expect(l.reason).toMatch(/instance/);
    }
    // The human's own console calls are not instance credentials and carry no lineage.
    const pedro = events.filter((e) => e.record.userIdentity?.userName === 'pedro');
    expect(pedro.length).toBeGreaterThan(50);
    expect(pedro.every((e) => e.enrichment!.lineage === undefined)).toBe(true);
  });

  it('flags instance keys seen without their issuance (Stratus "steal EC2 instance credentials")', async () => {
    const enricher = await createEnricher();
    const events = observeAndEnrich(
      enricher,
      stratusLog('aws.credential-access.ec2-steal-instance-credentials'),
    );
    const instanceUses = events.filter((e) => /\/i-[0-9a-fA-F]+$/.test(e.record.userIdentity?.arn ?? ''));
    expect(instanceUses.length).toBeGreaterThan(0);
    for (const e of instanceUses) {
      expect(e.enrichment!.lineage!.originMismatch).toBe(true);
      expect(e.enrichment!.lineage!.issuedByEventId).toBe('');
    }
  });
});
