/** A plain CloudTrail record to vary in tests: alice (an IAM user) reading an S3 object with the AWS CLI. */
import type { CloudTrailRecord } from '../../engine/record.ts';

export function s3Read(fields: Record<string, unknown> = {}): CloudTrailRecord {
  return {
    eventVersion: '1.08',
    eventTime: '2026-01-05T10:00:00Z',
    eventSource: 's3.amazonaws.com',
    eventName: 'GetObject',
    awsRegion: 'us-east-1',
    recipientAccountId: '111111111111',
    sourceIPAddress: '203.0.113.9',
    userAgent: 'aws-cli/2.13.5',
    userIdentity: {
      type: 'IAMUser',
      userName: 'alice',
      arn: 'arn:aws:iam::111111111111:user/alice',
      accountId: '111111111111',
      principalId: 'AIDAALICE',
    },
    ...fields,
  } as CloudTrailRecord;
}
