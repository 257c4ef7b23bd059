import { describe, expect, it } from 'vitest';
import { eventIdOf } from '../../engine/events.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';

const record = {
  eventVersion: '1.08',
  eventTime: '2026-12-01T10:00:00Z',
  eventSource: 'iam.amazonaws.com',
  eventName: 'CreateUser',
  awsRegion: 'us-east-1',
  sourceIPAddress: '203.0.113.7',
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' },
  requestParameters: { userName: 'bob', tags: [{ key: 'team', value: 'ops' }] },
} as unknown as CloudTrailRecord;

describe('content ids of records without an eventID', () => {
  it('are the same whatever the key order and whether empty fields are null or absent (file vs Athena row)', () => {
    const reordered = Object.fromEntries(Object.entries(record).reverse()) as Record<string, unknown>;
    reordered.userIdentity = {
      accountId: '111122223333',
      arn: 'arn:aws:iam::111122223333:user/alice',
      type: 'IAMUser',
    };
    reordered.errorCode = null;
    reordered.responseElements = null;
    const id = eventIdOf(record);
    expect(id).toMatch(/^synthetic-[0-9a-f]{32}$/);
    expect(eventIdOf(reordered as unknown as CloudTrailRecord)).toBe(id);
  });

  it('differ when the content differs, and a record with an eventID keeps it', () => {
    const other = { ...record, requestParameters: { userName: 'carol' } } as unknown as CloudTrailRecord;
    expect(eventIdOf(other)).not.toBe(eventIdOf(record));
    expect(eventIdOf({ ...record, eventID: 'abc' } as CloudTrailRecord)).toBe('abc');
  });
});
