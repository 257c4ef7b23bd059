import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inferEventSource } from '../../../engine/ingest/infer-event-source.ts';
import { checkRecord } from '../../../engine/ingest/record-check.ts';

const table = JSON.parse(readFileSync('rules/enrichment/event-sources.json', 'utf8')) as {
  bySource: Record<string, string[]>;
};

describe('eventSource inferred from the event name when a record has none', () => {
  it('a name of one service gets that service, and the record says it was inferred', () => {
    const r = checkRecord({
      eventName: 'CreateUser',
      eventTime: '2024-03-01T10:00:00Z',
      responseElements: { user: { userName: 'bob' } },
    });
    expect(r.ok && r.record.eventSource).toBe('iam.amazonaws.com');
    expect(r.ok && (r.record as Record<string, unknown>).eventSourceInferred).toBe(true);
    expect(inferEventSource('ConsoleLogin')).toBe('signin.amazonaws.com');
    expect(inferEventSource('StopLogging')).toBe('cloudtrail.amazonaws.com');
    expect(inferEventSource('GetSecretValue')).toBe('secretsmanager.amazonaws.com');
  });

  it('API-version suffixes are read as the base name of their service', () => {
    expect(inferEventSource('UpdateFunctionCode20150331v2')).toBe('lambda.amazonaws.com');
    // DeleteFunction is Lambda's and CloudFront's; the date suffix is Lambda's own mark.
    expect(inferEventSource('DeleteFunction')).toBeUndefined();
    expect(inferEventSource('DeleteFunction20150331')).toBe('lambda.amazonaws.com');
  });

  it('services a shipped rule names count as known, not only those the references name', () => {
    expect(inferEventSource('DisableMacie')).toBe('macie2.amazonaws.com');
    expect(inferEventSource('SetUserPoolMfaConfig')).toBe('cognito-idp.amazonaws.com');
    expect(inferEventSource('GetRegionOptStatus')).toBe('account.amazonaws.com');
    // …without undoing a decision: PutImage stays ECR's although ECR Public (a rule names it) has one too.
    expect(inferEventSource('PutImage')).toBe('ecr.amazonaws.com');
  });

  it('a name several services share as equals, or no service has, is left `unknown` and not marked', () => {
    for (const name of ['CreateGroup', 'UpdateIPSet', 'NotAnApiCallAnywhere']) {
      expect(inferEventSource(name)).toBeUndefined();
      const r = checkRecord({ eventName: name, eventTime: '2024-03-01T10:00:00Z' });
      expect(r.ok && r.record.eventSource).toBe('unknown');
      expect(r.ok && 'eventSourceInferred' in r.record).toBe(false);
    }
  });

  it('a record that names its source keeps it, even when the table would say another', () => {
    const r = checkRecord({
      eventSource: 'transfer.amazonaws.com',
      eventName: 'CreateUser',
      eventTime: '2024-03-01 10:00:00',
    });
    expect(r.ok && r.record.eventSource).toBe('transfer.amazonaws.com');
    expect(r.ok && 'eventSourceInferred' in r.record).toBe(false);
  });

  it('the table gives each name one service', () => {
    const seen = new Map<string, string>();
    for (const [source, names] of Object.entries(table.bySource)) {
      expect(source).toMatch(/^[a-z0-9-]+\.amazonaws\.com$/);
      for (const n of names) {
        expect(seen.get(n), n).toBeUndefined();
        seen.set(n, source);
      }
    }
    expect(seen.size).toBeGreaterThan(1000);
  });
});

describe('the identity type read from the ARN when a record has none', () => {
  const at = '2024-03-01T10:00:00Z';
  it.each([
    ['arn:aws:iam::111122223333:root', 'Root'],
    ['arn:aws:iam::111122223333:user/dana', 'IAMUser'],
    ['arn:aws:sts::111122223333:assumed-role/Admin/dana', 'AssumedRole'],
    ['arn:aws-us-gov:sts::111122223333:federated-user/dana', 'FederatedUser'],
  ])('%s → %s, marked as inferred', (arn, type) => {
    const r = checkRecord({
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateUser',
      eventTime: at,
      userIdentity: { arn },
    });
    expect(r.ok && r.record.userIdentity?.type).toBe(type);
    expect(r.ok && (r.record as Record<string, unknown>).userIdentityTypeInferred).toBe(true);
  });

  it('a type the record writes is kept; an ARN of no known form, or no ARN, infers nothing', () => {
    const written = { type: 'AWSAccount', arn: 'arn:aws:iam::111122223333:user/dana' };
    for (const userIdentity of [
      written,
      { arn: 'arn:aws:iam::111122223333:role/x' },
      { accountId: '1', invokedBy: 'ec2.amazonaws.com' },
    ]) {
      const input = {
        eventSource: 'iam.amazonaws.com',
        eventName: 'CreateUser',
        eventTime: at,
        userIdentity,
      };
      const r = checkRecord(input);
      expect(r.ok && r.record.userIdentity?.type).toBe(userIdentity === written ? 'AWSAccount' : undefined);
      expect(r.ok && 'userIdentityTypeInferred' in r.record).toBe(false);
    }
  });
});
