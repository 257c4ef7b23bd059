/**
 * Links into the AWS console, built for the partition and region of the event they are about (pure:
 * no I/O, no AWS calls). An analyst jumps from a principal to its IAM page, from an access key or an
 * event to CloudTrail's event history filtered on it, and from a resource to its own page where the
 * console has one. Partitions without a public console (aws-iso*) get no links.
 */
import { partitionOf } from '../../adapters/aws/regions.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { clip, code, esc } from './format.ts';

export interface ConsoleLink {
  url: string;
  /** What the link opens, e.g. `IAM role Admin`, `CloudTrail event history`. */
  label: string;
}

const GLOBAL_REGION: Record<string, string> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
};

/** `arn:aws-cn:iam::…` → `aws-cn`. */
export function partitionOfArn(arn: string | undefined): string | undefined {
  const m = /^arn:(aws[\w-]*):/.exec(arn ?? '');
  return m?.[1];
}

/** The console's origin for a region of a partition; undefined where there is no public console. */
export function consoleOrigin(partition: string, region: string): string | undefined {
  switch (partition) {
    case 'aws':
      return `https://${encodeURIComponent(region)}.console.aws.amazon.com`;
    case 'aws-cn':
      return 'https://console.amazonaws.cn';
    case 'aws-us-gov':
      return 'https://console.amazonaws-us-gov.com';
    default:
      return undefined;
  }
}

/** Partition and region of an event: the principal's ARN says the partition, else the region does. */
export function placeOf(record: CloudTrailRecord | undefined, fallbackRegion = 'us-east-1') {
  const region = record?.awsRegion || fallbackRegion;
  const partition = partitionOfArn(record?.userIdentity?.arn) ?? partitionOf(region);
  return { partition, region };
}

function link(partition: string, region: string, path: string, label: string): ConsoleLink | undefined {
  const origin = consoleOrigin(partition, region);
  if (!origin) return undefined;
  const hash = path.indexOf('#');
  const [before, after] = hash >= 0 ? [path.slice(0, hash), path.slice(hash)] : [path, ''];
  const query = `${before.includes('?') ? '&' : '?'}region=${encodeURIComponent(region)}`;
  return { url: `${origin}${before}${query}${after}`, label };
}

/** CloudTrail event history on one event. */
export function eventLink(eventId: string, partition: string, region: string): ConsoleLink | undefined {
  return link(
    partition,
    region,
    `/cloudtrail/home#/events?EventId=${encodeURIComponent(eventId)}`,
    'event in CloudTrail',
  );
}

/** CloudTrail event history filtered on an access key, in the region given. */
export function accessKeyLink(
  accessKeyId: string,
  partition: string,
  region: string,
): ConsoleLink | undefined {
  return link(
    partition,
    region,
    `/cloudtrail/home#/events?AccessKeyId=${encodeURIComponent(accessKeyId)}`,
    `events of ${accessKeyId}`,
  );
}

/**
 * The IAM page of a principal: users and roles by name; an assumed-role session opens its role.
 * Root, federated and service principals have no IAM page.
 */
export function principalLink(arn: string | undefined): ConsoleLink | undefined {
  const m = /^arn:(aws[\w-]*):(iam|sts)::\d{12}:(user|role|assumed-role)\/(.+)$/.exec(arn ?? '');
  if (!m) return undefined;
  const [, partition = 'aws', , kind, rest = ''] = m;
  const parts = rest.split('/');
  // user/path/name → name; assumed-role/RoleName/session → RoleName
  const name = kind === 'assumed-role' ? parts[0] : parts.at(-1);
  if (!name) return undefined;
  const page = kind === 'user' ? 'users' : 'roles';
  return link(
    partition,
    GLOBAL_REGION[partition] ?? 'us-east-1',
    `/iam/home#/${page}/details/${encodeURIComponent(name)}`,
    `IAM ${kind === 'user' ? 'user' : 'role'} ${name}`,
  );
}

/** The console page of what an event touched, where the console has one. */
export function resourceLink(record: CloudTrailRecord | undefined): ConsoleLink | undefined {
  if (!record) return undefined;
  const { partition, region } = placeOf(record);
  const arn = record.resources?.find((r) => typeof r.ARN === 'string')?.ARN;
  const fromArn = typeof arn === 'string' ? arnLink(arn, region) : undefined;
  if (fromArn) return fromArn;
  const p = (record.requestParameters ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof p[k] === 'string' && p[k] ? (p[k] as string) : undefined);
  const page = (path: string, label: string) => link(partition, region, path, label);
  const e = encodeURIComponent;
  const bucket = str('bucketName');
  if (bucket) return page(`/s3/buckets/${e(bucket)}`, `S3 bucket ${bucket}`);
  const fn = str('functionName');
  if (fn) return page(`/lambda/home#/functions/${e(fn.split(':').at(-1) ?? fn)}`, `Lambda function ${fn}`);
  for (const [key, hash, label] of EC2_FIELDS) {
    const v = str(key);
    if (v && (key !== 'groupId' || v.startsWith('sg-')))
      return page(`/ec2/home#${hash}=${e(v)}`, `${label} ${v}`);
  }
  const db = str('dBInstanceIdentifier');
  if (db) return page(`/rds/home#database:id=${e(db)}`, `RDS database ${db}`);
  const dbSnap = str('dBSnapshotIdentifier');
  if (dbSnap) return page(`/rds/home#db-snapshot:id=${e(dbSnap)}`, `RDS snapshot ${dbSnap}`);
  const secret = str('secretId');
  if (secret) return page(`/secretsmanager/secret?name=${e(secret)}`, `secret ${secret}`);
  for (const key of ['roleArn', 'policyArn', 'trailName']) {
    const v = str(key);
    const l = v?.startsWith('arn:') ? arnLink(v, region) : undefined;
    if (l) return l;
  }
  const role = str('roleName');
  if (role) return principalLink(`arn:${partition}:iam::000000000000:role/${role}`);
  const user = str('userName');
  if (user) return principalLink(`arn:${partition}:iam::000000000000:user/${user}`);
  return undefined;
}

const EC2_FIELDS: [string, string, string][] = [
  ['instanceId', 'InstanceDetails:instanceId', 'instance'],
  ['groupId', 'SecurityGroup:groupId', 'security group'],
  ['snapshotId', 'SnapshotDetails:snapshotId', 'EBS snapshot'],
  ['imageId', 'ImageDetails:imageId', 'AMI'],
  ['volumeId', 'VolumeDetails:volumeId', 'volume'],
];

/** The page of a resource named by ARN (its region wins over the event's for regional resources). */
export function arnLink(arn: string, eventRegion: string): ConsoleLink | undefined {
  const m = /^arn:(aws[\w-]*):([\w-]+):([\w-]*):(\d{12})?:(.+)$/.exec(arn);
  if (!m) return undefined;
  const [, partition = 'aws', service, arnRegion, , resource = ''] = m;
  const region = arnRegion || eventRegion;
  const e = encodeURIComponent;
  const page = (path: string, label: string) => link(partition, region, path, label);
  switch (service) {
    case 's3':
      return resource.includes('/') ? undefined : page(`/s3/buckets/${e(resource)}`, `S3 bucket ${resource}`);
    case 'iam':
      if (/^(user|role)\//.test(resource)) return principalLink(arn);
      if (resource.startsWith('policy/'))
        return link(
          partition,
          GLOBAL_REGION[partition] ?? 'us-east-1',
          `/iam/home#/policies/details/${e(arn)}`,
          `IAM policy ${resource.split('/').at(-1)}`,
        );
      return undefined;
    case 'lambda': {
      const name = /^function:([^:]+)/.exec(resource)?.[1];
      return name ? page(`/lambda/home#/functions/${e(name)}`, `Lambda function ${name}`) : undefined;
    }
    case 'ec2': {
      const [kind, id] = resource.split('/');
      const field = EC2_FIELDS.find(([, , label]) => EC2_KIND[kind ?? ''] === label);
      return field && id ? page(`/ec2/home#${field[1]}=${e(id)}`, `${field[2]} ${id}`) : undefined;
    }
    case 'secretsmanager': {
      const name = /^secret:(.+)-[A-Za-z0-9]{6}$/.exec(resource)?.[1] ?? resource.replace(/^secret:/, '');
      return page(`/secretsmanager/secret?name=${e(name)}`, `secret ${name}`);
    }
    case 'kms': {
      const id = /^key\/(.+)$/.exec(resource)?.[1];
      return id ? page(`/kms/home#/kms/keys/${e(id)}`, `KMS key ${id}`) : undefined;
    }
    case 'cloudtrail': {
      const name = /^trail\/(.+)$/.exec(resource)?.[1];
      return name ? page(`/cloudtrail/home#/trails/${e(arn)}`, `trail ${name}`) : undefined;
    }
    case 'rds': {
      const [kind, id] = resource.split(':');
      if (kind === 'db' && id) return page(`/rds/home#database:id=${e(id)}`, `RDS database ${id}`);
      if (kind === 'snapshot' && id) return page(`/rds/home#db-snapshot:id=${e(id)}`, `RDS snapshot ${id}`);
      return undefined;
    }
    default:
      return undefined;
  }
}

const EC2_KIND: Record<string, string> = {
  instance: 'instance',
  'security-group': 'security group',
  snapshot: 'EBS snapshot',
  image: 'AMI',
  volume: 'volume',
};

const MAX_URL = 400;

/** `<url|text>` for mrkdwn: text escaped, the URL safe inside Slack's link syntax. */
export function mrkdwnLink(l: ConsoleLink | undefined, text: string): string {
  // A link longer than any real console or Slack URL would only crowd the message: show the text.
  if (!l || !/^https?:\/\//.test(l.url) || l.url.length > MAX_URL) return text;
  const url = l.url.replace(/[<>|\s]/g, (c) => encodeURIComponent(c)).replace(/&/g, '&amp;');
  return `<${url}|${text.replace(/[<>|]/g, '')}>`;
}

/**
 * An identifier as a link when there is a page for it, else as `code` (Slack shows no formatting
 * inside a link's text, so a linked identifier is plain text).
 */
export function linkedCode(l: ConsoleLink | undefined, raw: string, max = 200): string {
  const text = clip(raw, max);
  const linked = mrkdwnLink(l, esc(text));
  return linked === esc(text) ? code(text) : linked;
}

/** An account id with its name: `218007301253 (prod)`. */
export function accountLabel(id: string, name: string | undefined): string {
  return name ? `${id} (${esc(clip(name, 60))})` : id;
}
