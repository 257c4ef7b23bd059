/**
 * Identities of alerts. Finding ids include the session key, and a session key can differ between
 * two overlapping scan windows (sessions are cut at the window's edge), so the alert ledger keys a
 * finding by rule + first evidence event, which every window that sees the event agrees on.
 */
import { createHash } from 'node:crypto';
import type { Finding } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';

export function alertKey(f: Finding): string {
  return hash(`${f.ruleId}\u0000${f.eventIds[0] ?? f.id}`);
}

/** Repeats of the same rule for the same principal and resource share a thread. */
export function threadKey(ruleId: string, principal: string, resource: string): string {
  return hash(`${ruleId}\u0000${principal}\u0000${resource}`);
}

const TARGET_FIELDS = [
  'bucketName',
  'roleName',
  'userName',
  'groupName',
  'policyArn',
  'functionName',
  'trailName',
  'name',
  'secretId',
  'keyId',
  'instanceId',
  'groupId',
  'detectorId',
  'roleArn',
];

/** What the first evidence event touched: a resource ARN, or a well-known request field. */
export function resourceOf(record: CloudTrailRecord | undefined): string {
  if (!record) return '';
  const arn = record.resources?.[0]?.ARN;
  if (typeof arn === 'string' && arn) return arn;
  const p = record.requestParameters ?? {};
  for (const k of TARGET_FIELDS) {
    const v = p[k];
    if (typeof v === 'string' && v) return `${k}=${v.slice(0, 200)}`;
    if (Array.isArray(v) && typeof v[0] === 'string') return `${k}=${String(v[0]).slice(0, 200)}`;
  }
  return '';
}

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}
