/**
 * CloudGrappler indicators matched on the right field. CloudGrappler applies each query as a regex to the whole
 * serialized record; these tests show the false positives that causes and that Cartographer does not raise them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { compileCloudGrappler, FieldMapSchema } from '../../../engine/detections/cloudgrappler.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { TEST_DIR } from '../../support/paths.ts';

const queriesText = readFileSync(join(TEST_DIR, 'fixtures', 'cloudgrappler', 'data', 'queries.json'), 'utf8');
const fieldMap = FieldMapSchema.parse(
  parse(readFileSync(join(TEST_DIR, '..', 'rules', 'cloudgrappler', 'fields.yaml'), 'utf8')),
);
const { rules, problems } = compileCloudGrappler(queriesText, fieldMap, () => [], 'queries.json');
const queries = JSON.parse(queriesText) as { Query: string; Source: string }[];

let seq = 0;
const event = (r: Record<string, unknown>) =>
  toEngineEvent(
    {
      eventTime: '2024-01-01T00:00:00Z',
      eventSource: 'iam.amazonaws.com',
      eventName: 'GetUser',
      ...r,
    } as CloudTrailRecord,
    seq++,
  );
const fired = (r: Record<string, unknown>) =>
  rules.filter((rule) => rule.match!(event(r))).map((rule) => rule.id);
/** What CloudGrappler itself does: re.search(query, json.dumps(record)). */
const grep = (r: Record<string, unknown>) =>
  queries
    .filter((q) => q.Source === 'AWS' && new RegExp(q.Query).test(JSON.stringify(r)))
    .map((q) => q.Query);

describe('CloudGrappler indicators', () => {
  it('uses queries.json unchanged and maps every AWS query to a field', () => {
    expect(readFileSync(join(TEST_DIR, '..', 'rules', 'cloudgrappler', 'queries.json'), 'utf8')).toBe(
      queriesText,
    );
    expect(problems).toEqual([]);
    const distinct = new Set(queries.filter((q) => q.Source === 'AWS').map((q) => q.Query));
    expect(distinct.size).toBe(57);
    expect(rules).toHaveLength(57);
    const dup = rules.find((r) => r.id === 'cloudgrappler:Python/3.12 aiohttp/3.9.3')!;
    expect(dup.description).toContain('LLMJacking');
  });

  it('does not flag every EFS call for the user-name indicator "system" (substring search does)', () => {
    const efs = {
      eventSource: 'elasticfilesystem.amazonaws.com',
      eventName: 'CreateFileSystem',
      userIdentity: { type: 'IAMUser', userName: 'alice', arn: 'arn:aws:iam::111122223333:user/alice' },
      requestParameters: { creationToken: 'data', performanceMode: 'generalPurpose' },
    };
    expect(grep(efs)).toContain('system');
    expect(fired(efs)).toEqual([]);
    // The indicator still works on the field it is about.
    expect(
      fired({
        ...efs,
        userIdentity: { type: 'IAMUser', userName: 'system', arn: 'arn:aws:iam::111122223333:user/system' },
      }),
    ).toEqual(['cloudgrappler:system']);
    expect(fired({ eventName: 'CreateUser', requestParameters: { userName: 'ses_legion' } })).toEqual([
      'cloudgrappler:ses_legion',
    ]);
  });

  it('does not flag an IAM policy that merely mentions bedrock:InvokeModel', () => {
    const policy = {
      eventName: 'PutRolePolicy',
      requestParameters: {
        roleName: 'app',
        policyDocument: JSON.stringify({
          Statement: [{ Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: '*' }],
        }),
      },
    };
    expect(grep(policy)).toContain('InvokeModel');
    expect(fired(policy)).toEqual([]);
    expect(fired({ eventSource: 'bedrock.amazonaws.com', eventName: 'InvokeModel' })).toEqual([
      'cloudgrappler:InvokeModel',
    ]);
  });

  it('matches user agents as whole tokens, with the spaces CloudGrappler strips', () => {
    expect(fired({ userAgent: 'Python/3.12 aiohttp/3.9.3' })).toEqual([
      'cloudgrappler:Python/3.12 aiohttp/3.9.3',
    ]);
    expect(fired({ userAgent: 'axios/1.6.10' })).toEqual([]);
    expect(grep({ userAgent: 'axios/1.6.10' })).toContain('axios/1.6.1');
    expect(fired({ userAgent: '[S3 Browser 9.5.5 https://s3browser.com]' })).toEqual([
      'cloudgrappler:S3 Browser 9.5.5',
    ]);
  });

  it('matches the combined queries as intended: GetSecretValue from CloudShell', () => {
    const cloudshell = {
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'GetSecretValue',
      userAgent: 'aws-cli/2.13 exec-env/CloudShell',
    };
    expect(grep(cloudshell)).not.toContain('GetSecretValue.*exec-env*CloudShell'); // the glob-style regex never matched
    expect(fired(cloudshell)).toEqual(['cloudgrappler:GetSecretValue.*exec-env*CloudShell']);
  });

  it('raises Bedrock indicators on the Stratus Red Team LLM-jacking detonation', () => {
    const log = JSON.parse(
      readFileSync(
        join(
          TEST_DIR,
          'fixtures',
          'stratus-red-team',
          'detonation-logs',
          'aws.impact.bedrock-invoke-model.json',
        ),
        'utf8',
      ),
    ) as Record<string, unknown>[];
    const ids = new Set(log.flatMap((r) => fired(r)));
    expect(ids).toContain('cloudgrappler:InvokeModel');
    expect(ids).toContain('cloudgrappler:PutUseCaseForModelAccess');
  });

  it("reads each event's own principal names when the caller repeats (names remembered per caller)", () => {
    const alice = { type: 'IAMUser', userName: 'alice', arn: 'arn:aws:iam::111122223333:user/alice' };
    const system = { type: 'IAMUser', userName: 'system', arn: 'arn:aws:iam::111122223333:user/system' };
    const id = 'cloudgrappler:system';
    expect(fired({ userIdentity: alice })).not.toContain(id);
    expect(fired({ userIdentity: alice, requestParameters: { userName: 'system' } })).toContain(id);
    expect(fired({ userIdentity: { ...alice }, requestParameters: { groupName: 'x' } })).not.toContain(id);
    expect(fired({ userIdentity: system })).toContain(id);
    expect(fired({ userIdentity: { ...system } })).toContain(id);
    expect(fired({ userIdentity: alice })).not.toContain(id);
    expect(fired({})).not.toContain(id);
    expect(fired({ userIdentity: { ...alice, arn: 'arn:aws:iam::111122223333:user/system' } })).toContain(id);
  });

  it("matches the account indicator as the ARN's whole account part or a bounded mention in the request", () => {
    const id = 'cloudgrappler:320406895696';
    const arn = (a: string) => ({ userIdentity: { type: 'AssumedRole', arn: a } });
    expect(fired(arn('arn:aws:sts::320406895696:assumed-role/r/s'))).toContain(id);
    expect(fired(arn('arn:aws:iam::320406895696'))).toContain(id);
    expect(fired(arn('arn:aws:iam::3204068956961:user/x'))).not.toContain(id);
    expect(fired(arn('arn:aws:iam::32040689569:user/x'))).not.toContain(id);
    expect(fired(arn('arn:aws:iam:'))).not.toContain(id);
    expect(fired({ requestParameters: { a: [{ b: 'to 320406895696 now' }] } })).toContain(id);
    expect(fired({ requestParameters: { a: [{ b: 'x3204068956960' }] } })).not.toContain(id);
  });
});
