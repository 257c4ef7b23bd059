import { describe, expect, it } from 'vitest';
import { principalOf, principalScore } from '../../../engine/sessions/session-key.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

// Real identities: IAM users and assumed roles, console and API (root and services are in the hand-made cases).
const inputs = [
  'test/fixtures/invictus',
  'test/fixtures/otrf-security-datasets-aws',
  'test/fixtures/stratus-red-team/aws-technique-events.json',
  'test/fixtures/cartographer',
];

describe('principalScore', () => {
  it('counts the fields principalOf would fill, for every identity in the real fixtures', async () => {
    let identities = 0;
    const kinds = new Set<string>();
    const mismatches: string[] = [];
    for await (const item of createLocalSource(inputs).read({})) {
      if (item.kind !== 'record') continue;
      const u = item.record.userIdentity;
      if (!u) continue;
      identities++;
      kinds.add(u.type ?? '(none)');
      const expected = Object.keys(principalOf(u)).length;
      if (principalScore(u) !== expected) mismatches.push(JSON.stringify(u));
    }
    expect(identities).toBeGreaterThan(300);
    expect([...kinds]).toEqual(expect.arrayContaining(['IAMUser', 'AssumedRole']));
    expect(mismatches).toEqual([]);
  });

  it('agrees on hand-made edge cases (missing ARN, empty names, issuer only)', () => {
    const cases = [
      { type: 'IAMUser', accountId: '111122223333', userName: 'alice' },
      { type: 'IAMUser', accountId: '111122223333', userName: '' },
      { type: 'Root', accountId: '111122223333' },
      { principalId: 'AIDAEXAMPLE' },
      { invokedBy: 'kms.amazonaws.com' },
      { type: 'AWSService', invokedBy: 'cloudtrail.amazonaws.com' },
      {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLE:bob',
        sessionContext: {
          sessionIssuer: {
            arn: 'arn:aws:iam::111122223333:role/r',
            userName: 'r',
            accountId: '111122223333',
          },
        },
      },
      {
        type: 'AssumedRole',
        arn: 'arn:aws:iam::111122223333:role/r',
        sessionContext: { sessionIssuer: { arn: 'arn:aws:iam::111122223333:role/r' } },
      },
    ];
    for (const u of cases) expect(principalScore(u)).toBe(Object.keys(principalOf(u)).length);
  });
});
