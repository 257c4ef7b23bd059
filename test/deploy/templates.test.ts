/**
 * Every CloudFormation template in deploy/ is checked against the CloudFormation resource specification the AWS CDK
 * builds on (@aws-cdk/aws-service-spec): resource types, property names and value shapes, required properties,
 * references (Ref, GetAtt attributes, Sub variables, conditions), and its IAM actions against the IAM action list.
 * The Glue table of the bot's template has the same columns, partitions and projection settings as the DDL in
 * adapters/aws/athena-tables.sql.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAwsServiceSpec } from '@aws-cdk/aws-service-spec';
import type { SpecDatabase } from '@aws-cdk/service-spec-types';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  parseTemplate,
  policyActions,
  unknownIamActions,
  validateTemplate,
} from '../support/cfn-validate.ts';

const DEPLOY = 'deploy';
const files = readdirSync(DEPLOY).filter((f) => /\.(ya?ml|json)$/.test(f));
let db: SpecDatabase;
beforeAll(async () => {
  db = await loadAwsServiceSpec();
});

describe('deploy/ CloudFormation templates', () => {
  it('there is at least the bot template', () => {
    expect(files).toContain('cartographer.yaml');
  });

  it.each(files)(
    '%s: types, properties and references match the CloudFormation specification',
    async (file) => {
      const template = parseTemplate(readFileSync(join(DEPLOY, file), 'utf8'), file);
      expect(validateTemplate(template, db)).toEqual([]);
      expect(await unknownIamActions(policyActions(template))).toEqual([]);
    },
  );

  it('the checker catches what it should (a template with one mistake of each kind)', async () => {
    const broken = parseTemplate(
      `AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketNmae: typo
      VersioningConfiguration: { Status: [Enabled] }
  Queue:
    Type: AWS::SQS::Queeu
  Role:
    Type: AWS::IAM::Role
    Condition: Missing
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement: [{ Effect: Allow, Action: ['s3:GetObjekt'], Resource: !GetAtt Bucket.Nope }]
  Db:
    Type: AWS::Glue::Database
    Properties:
      CatalogId: !Ref Nothing
      DatabaseInput: { Name: !Sub '\${Undefined}-db' }
`,
      'broken.yaml',
    );
    const problems = validateTemplate(broken, db);
    const expected = [
      /Resources\.Bucket\.Properties\.BucketNmae: AWS::S3::Bucket has no property BucketNmae/,
      /VersioningConfiguration\.Status: expected a string/,
      /Resources\.Queue: unknown resource type AWS::SQS::Queeu/,
      /Resources\.Role: undefined condition 'Missing'/,
      /Resources\.Role\.Properties: AWS::IAM::Role requires AssumeRolePolicyDocument/,
      /AWS::S3::Bucket has no attribute 'Nope'/,
      /Ref to undefined 'Nothing'/,
      /Ref to undefined 'Undefined'/,
    ];
    for (const re of expected)
      expect(
        problems.some((p) => re.test(p)),
        `${re} in\n${problems.join('\n')}`,
      ).toBe(true);
    expect(problems).toHaveLength(expected.length);
    expect(await unknownIamActions(policyActions(broken))).toEqual(['s3:GetObjekt']);
  });

  it('the Glue table has the columns, partitions and projection settings of adapters/aws/athena-tables.sql', () => {
    const template = parseTemplate(
      readFileSync(join(DEPLOY, 'cartographer.yaml'), 'utf8'),
      'cartographer.yaml',
    );
    const table = template.Resources!.Table!.Properties!.TableInput as {
      PartitionKeys: { Name: string; Type: string }[];
      Parameters: Record<string, unknown>;
      StorageDescriptor: { Columns: { Name: string; Type: string }[] };
    };
    const ddl = projectionTable(readFileSync('adapters/aws/athena-tables.sql', 'utf8'));
    const norm = (cols: { Name: string; Type: string }[]) => cols.map((c) => `${c.Name} ${hiveType(c.Type)}`);
    expect(norm(table.StorageDescriptor.Columns)).toEqual(ddl.columns);
    expect(norm(table.PartitionKeys)).toEqual(ddl.partitions);
    expect(
      Object.keys(table.Parameters)
        .filter((k) => k !== 'classification')
        .sort(),
    ).toEqual(ddl.properties);
  });
});

function hiveType(type: string): string {
  return type.replace(/\s+/g, '').toLowerCase();
}

/** Splits on commas outside <…> and (…). */
function topLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of list) {
    if (ch === '<' || ch === '(') depth++;
    if (ch === '>' || ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** Columns, partition keys and TBLPROPERTIES keys of the first (projection) table in the DDL file. */
function projectionTable(sql: string) {
  const body = sql.replace(/--.*$/gm, '');
  const create =
    /CREATE EXTERNAL TABLE \S+ \(([\s\S]*?)\)\s*PARTITIONED BY \(([^)]*)\)[\s\S]*?TBLPROPERTIES \(([\s\S]*?)\);/.exec(
      body,
    );
  if (!create)
    throw new Error('no CREATE EXTERNAL TABLE … PARTITIONED BY … TBLPROPERTIES in athena-tables.sql');
  const column = (c: string) => {
    const m = /^`?(\w+)`?\s+([\s\S]+)$/.exec(c)!;
    return `${m[1]!.toLowerCase()} ${hiveType(m[2]!)}`;
  };
  return {
    columns: topLevel(create[1]!).map(column),
    partitions: topLevel(create[2]!).map(column),
    properties: [...create[3]!.matchAll(/'([^']+)'\s*=/g)].map((m) => m[1]!).sort(),
  };
}
