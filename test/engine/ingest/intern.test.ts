import { describe, expect, it } from 'vitest';
import { intern, internRecordStrings, internTableSize } from '../../../engine/ingest/intern.ts';
import { recordsFromValue } from '../../../engine/ingest/records-from-value.ts';

const record = (i: number) => ({
  eventVersion: '1.08',
  eventTime: '2024-03-01T10:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName: i % 2 ? 'ListUsers' : 'GetUser',
  awsRegion: 'us-east-1',
  sourceIPAddress: `10.0.0.${i % 7}`,
  userAgent: 'aws-cli/2.15.0',
  errorCode: i % 3 ? undefined : 'AccessDenied',
  requestParameters: { userName: `u${i}` },
  responseElements: null,
  tlsDetails: { tlsVersion: 'TLSv1.3', cipherSuite: 7, clientProvidedHostHeader: 'iam.amazonaws.com' },
  userIdentity: {
    type: 'AssumedRole',
    arn: `arn:aws:sts::111122223333:assumed-role/r/s${i % 5}`,
    accountId: '111122223333',
    accessKeyId: `ASIA${i % 3}`,
    sessionContext: {
      attributes: { creationDate: '2024-03-01T09:00:00Z', mfaAuthenticated: 'false' },
      sessionIssuer: { type: 'Role', arn: 'arn:aws:iam::111122223333:role/r', userName: 'r' },
    },
  },
});

describe('interning the repeated strings of records', () => {
  it('leaves every record equal to what was parsed (same keys, same values, absent fields still absent)', () => {
    for (let i = 0; i < 60; i++) {
      const parsed = JSON.parse(JSON.stringify(record(i)));
      const expected = JSON.parse(JSON.stringify(record(i)));
      internRecordStrings(parsed);
      expect(parsed).toStrictEqual(expected);
      expect(Object.keys(parsed)).toEqual(Object.keys(expected));
    }
  });

  it('records read from JSON come out equal to the JSON, their strings interned', () => {
    const text = JSON.stringify({ Records: Array.from({ length: 40 }, (_, i) => record(i)) });
    const items = [...recordsFromValue(JSON.parse(text), { file: 'x' })];
    expect(items.map((i) => (i.kind === 'record' ? i.record : i))).toStrictEqual(JSON.parse(text).Records);
  });

  it('gives back a string equal to its input, and stays bounded whatever the input', () => {
    const long = 'x'.repeat(10_000);
    expect(intern(long)).toBe(long);
    for (let i = 0; i < 100_000; i++) expect(intern(`value-${i}`)).toBe(`value-${i}`);
    const { entries, chars } = internTableSize();
    expect(entries).toBeLessThanOrEqual(2 * 32_768);
    expect(chars).toBeLessThanOrEqual(2 * 2 * 2 ** 20);
    // A value still in use after the table turned over is found again.
    expect(intern('iam.amazonaws.com')).toBe('iam.amazonaws.com');
  });
});
