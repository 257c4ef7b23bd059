import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { REDACTED, redact, redactText } from '../../engine/redact.ts';

const invictus = (
  JSON.parse(
    readFileSync(
      'test/fixtures/invictus-sigma-aws-cloudtrail/218007301253_CloudTrail_us-east-1_20230710T1215Z_Z8x5aqgtcXn5NEG9.json',
      'utf8',
    ),
  ) as { Records: CloudTrailRecord[] }
).Records;
const federation = JSON.parse(
  readFileSync(
    'test/fixtures/stratus-red-team/detonation-logs/aws.persistence.sts-federation-token.json',
    'utf8',
  ),
) as CloudTrailRecord[];

describe('redact', () => {
  it('removes STS session tokens from real AssumeRole and GetFederationToken records, keeping everything else', () => {
    const withTokens = [...invictus, ...federation].filter((r) => JSON.stringify(r).includes('sessionToken'));
    expect(withTokens.length).toBeGreaterThanOrEqual(5);
    for (const r of withTokens) {
      const creds = r.responseElements?.credentials as Record<string, string>;
      const clean = redact(r);
      const cleanCreds = clean.responseElements?.credentials as Record<string, string>;
      expect(cleanCreds.sessionToken).toBe(REDACTED);
      expect(JSON.stringify(clean)).not.toContain(creds.sessionToken!.slice(0, 30));
      // The access key id is an identifier analysts search for: kept.
      expect(cleanCreds.accessKeyId).toBe(creds.accessKeyId);
      expect(clean.eventID).toBe(r.eventID);
      expect(clean.userIdentity).toEqual(r.userIdentity);
      // The input is not modified.
      expect((r.responseElements!.credentials as Record<string, string>).sessionToken).toBe(
        creds.sessionToken,
      );
    }
  });

  it('leaves records without credentials byte-identical', () => {
    const plain = invictus.filter((r) => !/sessionToken|password|secret/i.test(JSON.stringify(r)));
    expect(plain.length).toBeGreaterThan(50);
    for (const r of plain) expect(JSON.stringify(redact(r))).toBe(JSON.stringify(r));
  });

  it('covers secret keys, passwords, security-token headers and Secrets Manager values anywhere', () => {
    const record = {
      requestParameters: {
        secretId: 'prod/db',
        SecretString: '{"password":"hunter2"}',
        SecretBinary: 'AAECAw==',
        masterUserPassword: 'Passw0rd!',
        headers: { 'x-amz-security-token': 'FwoGZXIvYXdzEJr//////////wEaDOqB1234567890abcdefghij' },
        nested: [{ newPassword: 'n3w', oldPassword: 'old', passwordResetRequired: true }],
      },
      responseElements: { credentials: { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } },
      additionalEventData: {
        note: 'aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and X-Amz-Security-Token=IQoJb3JpZ2luX2VjEOH//////////abcdefghijklmnop',
      },
    };
    const out = JSON.stringify(redact(record));
    for (const secret of [
      'hunter2',
      'AAECAw==',
      'Passw0rd!',
      'FwoGZXIvYXdzEJr',
      'wJalrXUtnFEMI',
      'n3w',
      '"old"',
      'IQoJb3JpZ2lu',
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('"secretId":"prod/db"');
    expect(out).toContain('"passwordResetRequired":true');
  });

  it('redacts token shapes in free text', () => {
    expect(redactText('token IQoJb3JpZ2luX2VjEOH//////////wEaCXVzLWVhc3QtMSJIMEYCIQDz end')).toBe(
      `token ${REDACTED} end`,
    );
    expect(redactText('password: s3cr3t, user: bob')).toBe(`password: ${REDACTED}, user: bob`);
    expect(redactText('nothing to see: ASIATFQR7NSCS5BLNV76')).toBe('nothing to see: ASIATFQR7NSCS5BLNV76');
  });
});
