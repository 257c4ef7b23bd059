/**
 * Credential lineage: which call issued the temporary access key an event uses (AssumeRole*, GetSessionToken,
 * GetFederationToken, and EC2 instance-profile deliveries), the chain of issuances behind it (role chaining),
 * and whether the key is used from a network origin other than the one it was issued to.
 *
 * The tracker learns issuances in `observe` (every event, arrival order, any input file or source), so a key
 * issued in one file and used in another is linked. Memory is bounded: the oldest issuances are forgotten first.
 */

import { sameNetwork } from '../engine/ip-address.ts';
import type { CredentialLineage, EngineEvent } from '../engine/model.ts';
import type { CloudTrailRecord } from '../engine/record.ts';
import type { SourceClass, SourceClassifier } from './source-kind.ts';

const ISSUING_EVENTS = new Set([
  'AssumeRole',
  'AssumeRoleWithSAML',
  'AssumeRoleWithWebIdentity',
  'GetSessionToken',
  'GetFederationToken',
]);

/** EC2 names an instance-profile session after the instance: `…/i-0317f6c6b66ae9c40`. */
const INSTANCE_SESSION = /\/i-[0-9a-f]{8,17}$/;
const MAX_ISSUANCES = 500_000;
const MAX_HUMAN_ADDRESSES = 100_000;
const MAX_CHAIN = 16;

/** One shape (absent facts are undefined slots), built in one place: remember. */
interface Issuance {
  eventId: string;
  eventName: string;
  issuedTo: string | undefined;
  issuedFromIp: string | undefined;
  source: SourceClass;
  /** Key of the caller that asked for it: the previous link of a role chain. */
  parentKey: string | undefined;
  /** Issued to an AWS service (the caller is a service principal), e.g. a Lambda execution role. */
  byService: boolean;
  /** Issued to an EC2 instance profile. */
  instance: boolean;
  /** The issuing call went through a VPC endpoint. */
  viaVpcEndpoint: boolean;
  consoleIssued: boolean;
}

interface InstanceKeyUse {
  firstIp: string;
  firstSource: SourceClass;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function issuedKey(record: CloudTrailRecord): string | undefined {
  const creds = record.responseElements?.credentials;
  if (!creds || typeof creds !== 'object') return undefined;
  return str((creds as Record<string, unknown>).accessKeyId);
}

function issuedToOf(record: CloudTrailRecord): string | undefined {
  const rp = record.requestParameters ?? {};
  const assumed = record.responseElements?.assumedRoleUser;
  const arn =
    assumed && typeof assumed === 'object' ? str((assumed as Record<string, unknown>).arn) : undefined;
  const federated = record.responseElements?.federatedUser;
  const fedArn =
    federated && typeof federated === 'object' ? str((federated as Record<string, unknown>).arn) : undefined;
  const roleArn = str(rp.roleArn);
  const session = str(rp.roleSessionName);
  return (
    arn ??
    fedArn ??
    (roleArn && session ? `${roleArn} (session ${session})` : roleArn) ??
    str(rp.name) ??
    record.userIdentity?.arn
  );
}

function isConsole(record: CloudTrailRecord): boolean {
  return record.sessionCredentialFromConsole === 'true';
}

function isInstanceSession(record: CloudTrailRecord): boolean {
  const ui = record.userIdentity;
  if (!ui) return false;
  if (ui.sessionContext?.ec2RoleDelivery) return true;
  return ui.type === 'AssumedRole' && INSTANCE_SESSION.test(ui.arn ?? '');
}

function describe(ip: string | undefined, source: SourceClass): string {
  return ip ? `${ip} (${source.kind})` : source.kind;
}

export class CredentialLineageTracker {
  private readonly issuances = new Map<string, Issuance>();
  /** Addresses used by people (IAM users, root, console sessions): not where instance keys should be. */
  private readonly humanAddresses = new Map<string, string>();
  private readonly instanceKeys = new Map<string, InstanceKeyUse>();

  constructor(private readonly classifySource: SourceClassifier) {}

  observe(event: EngineEvent): void {
    const r = event.record;
    const ip = r.sourceIPAddress;
    const source = this.classifySource(ip);
    // Read once: every load from a record (many shapes) is a megamorphic lookup.
    const ui = r.userIdentity;
    const key = ui?.accessKeyId;

    if (ISSUING_EVENTS.has(r.eventName) && r.eventSource.startsWith('sts.') && !r.errorCode) {
      const newKey = issuedKey(r);
      if (newKey) this.remember(newKey, r, event.id, source, key);
    }

    const type = ui?.type;
    // Private addresses count too: a workstation on a VPN or office network is where stolen keys end up.
    if (source.ip && ip && (type === 'IAMUser' || type === 'Root' || isConsole(r))) {
      if (!this.humanAddresses.has(ip) && this.humanAddresses.size < MAX_HUMAN_ADDRESSES) {
        this.humanAddresses.set(ip, ui?.arn ?? type ?? 'a person');
      }
    }
    // The cheap tests first: the instance-session test reads userIdentity (many shapes) and runs a regex.
    if (key && ip && source.kind === 'public' && !this.instanceKeys.has(key) && isInstanceSession(r)) {
      this.instanceKeys.set(key, { firstIp: ip, firstSource: source });
      if (this.instanceKeys.size > MAX_ISSUANCES) this.dropOldest(this.instanceKeys);
    }
  }

  private remember(
    newKey: string,
    r: CloudTrailRecord,
    eventId: string,
    source: SourceClass,
    parentKey?: string,
  ) {
    const byService = source.kind === 'aws-service' || r.userIdentity?.type === 'AWSService';
    const ip = r.sourceIPAddress;
    const instance =
      byService &&
      (ip === 'ec2.amazonaws.com' || r.userIdentity?.invokedBy === 'ec2.amazonaws.com') &&
      /^i-[0-9a-f]{8,17}$/.test(str(r.requestParameters?.roleSessionName) ?? '');
    this.issuances.set(newKey, {
      eventId,
      eventName: r.eventName,
      issuedTo: issuedToOf(r) || undefined,
      issuedFromIp: ip || undefined,
      source,
      parentKey: parentKey && parentKey !== newKey ? parentKey : undefined,
      byService,
      instance,
      viaVpcEndpoint: !!r.vpcEndpointId,
      consoleIssued: isConsole(r),
    });
    if (this.issuances.size > MAX_ISSUANCES) this.dropOldest(this.issuances);
  }

  private dropOldest(map: Map<string, unknown>): void {
    const first = map.keys().next();
    if (!first.done) map.delete(first.value);
  }

  /** Lineage of the key `event` uses, or undefined when nothing is known about where it came from. */
  lineageFor(event: EngineEvent): CredentialLineage | undefined {
    const r = event.record;
    const key = r.userIdentity?.accessKeyId;
    if (!key) return undefined;
    const issuance = this.issuances.get(key);
    const instance = issuance?.instance || isInstanceSession(r);
    if (!issuance && !instance) return undefined;

    const chain: string[] = [];
    const seen = new Set<string>();
    for (let k: string | undefined = key; k && !seen.has(k) && chain.length < MAX_CHAIN; ) {
      seen.add(k);
      const link = this.issuances.get(k);
      if (!link) break;
      chain.unshift(link.eventId);
      k = link.parentKey;
    }

    const verdict = instance ? this.instanceVerdict(r, key) : this.verdict(r, issuance!);
    // One shape, in the order the JSON output shows the fields (absent ones are undefined slots).
    return {
      issuedByEventId: issuance?.eventId ?? '',
      issuedByEventName: issuance?.eventName ?? 'AssumeRole',
      chain,
      originMismatch: verdict.mismatch,
      reason: issuance
        ? verdict.reason
        : `EC2 instance-profile credentials (issuance not in the input); ${verdict.reason}`,
      issuedTo: (issuance?.issuedTo ?? (instance ? r.userIdentity?.arn : undefined)) || undefined,
      issuedFromIp: issuance?.issuedFromIp || undefined,
    };
  }

  private verdict(r: CloudTrailRecord, issuance: Issuance): { mismatch: boolean; reason: string } {
    const use = this.classifySource(r.sourceIPAddress);
    const usedAt = describe(r.sourceIPAddress, use);
    const issuedAt = describe(issuance.issuedFromIp, issuance.source);
    if (use.kind === 'aws-service' || use.kind === 'aws-internal') {
      return { mismatch: false, reason: `used by an AWS service on the holder's behalf (${usedAt})` };
    }
    if (issuance.byService) {
      return {
        mismatch: false,
        reason: `issued to an AWS service (${issuedAt}); its addresses are not the holder's`,
      };
    }
    if (issuance.consoleIssued || isConsole(r)) {
      return { mismatch: false, reason: 'console session: the console calls from AWS addresses' };
    }
    if (r.vpcEndpointId || issuance.viaVpcEndpoint) {
      return {
        mismatch: false,
        reason: 'a VPC endpoint was involved: addresses are VPC-private on one side',
      };
    }
    if (r.sourceIPAddress === issuance.issuedFromIp) {
      return { mismatch: false, reason: `used from the issuing address ${issuedAt}` };
    }
    if (!use.ip || !issuance.source.ip) {
      return {
        mismatch: false,
        reason: `addresses cannot be compared (issued at ${issuedAt}, used at ${usedAt})`,
      };
    }
    if (use.ip.version !== issuance.source.ip.version) {
      return {
        mismatch: false,
        reason: `issued over IPv${issuance.source.ip.version}, used over IPv${use.ip.version}: a dual-stack client is not flagged on that alone`,
      };
    }
    if (use.ip.value === issuance.source.ip.value)
      return { mismatch: false, reason: `used from the issuing address ${issuedAt}` };
    if (sameNetwork(use.ip, issuance.source.ip)) {
      return {
        mismatch: false,
        reason: `used from ${usedAt}, same network as the issuing address ${issuedAt}`,
      };
    }
    return { mismatch: true, reason: `issued to ${issuedAt}, used from ${usedAt}` };
  }

  private instanceVerdict(r: CloudTrailRecord, key: string): { mismatch: boolean; reason: string } {
    const use = this.classifySource(r.sourceIPAddress);
    const usedAt = describe(r.sourceIPAddress, use);
    if (!use.ip || !r.sourceIPAddress) {
      return { mismatch: false, reason: `instance credentials used from ${usedAt}` };
    }
    if (r.vpcEndpointId)
      return { mismatch: false, reason: 'instance credentials used through a VPC endpoint' };
    const person = this.humanAddresses.get(r.sourceIPAddress);
    if (person) {
      return {
        mismatch: true,
        reason: `instance credentials used from ${usedAt}, an address ${person} also works from: the key left its instance`,
      };
    }
    // Inside a VPC the same instance shows several private addresses (endpoints, NAT); only public ones compare.
    if (use.kind !== 'public') return { mismatch: false, reason: `instance credentials used from ${usedAt}` };
    const first = this.instanceKeys.get(key);
    if (first?.firstSource.ip && first.firstIp !== r.sourceIPAddress) {
      if (first.firstSource.ip.version !== use.ip.version) {
        return {
          mismatch: false,
          reason: 'instance credentials used over IPv4 and IPv6: dual-stack, not flagged alone',
        };
      }
      if (!sameNetwork(first.firstSource.ip, use.ip)) {
        return {
          mismatch: true,
          reason: `instance credentials first used from ${first.firstIp}, now from ${usedAt}: an instance has one egress address`,
        };
      }
    }
    return { mismatch: false, reason: `instance credentials used from ${usedAt}` };
  }
}
