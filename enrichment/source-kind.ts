/**
 * Where a call came from: an AWS service principal, `AWS Internal`, a private (non-routable) address,
 * a public address, something malformed, or nothing. Table: rules/enrichment/network.yaml.
 */
import { type Cidr, type IpAddress, inCidr, parseCidr, parseIp } from '../engine/ip-address.ts';
import type { EnrichmentTables } from './tables.ts';

export type SourceKind = 'aws-service' | 'aws-internal' | 'private' | 'public' | 'malformed' | 'missing';

export interface SourceClass {
  kind: SourceKind;
  ip?: IpAddress;
}

const CACHE_LIMIT = 50_000;

export type SourceClassifier = (sourceIPAddress: string | undefined) => SourceClass;

export function createSourceClassifier(rules: EnrichmentTables['network']): SourceClassifier {
  const internal = new Set(rules.awsInternalValues.map((v) => v.toLowerCase()));
  const ranges: Cidr[] = rules.privateRanges.map((text) => {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`bad CIDR in the private ranges table: ${text}`);
    return cidr;
  });
  const servicePrincipal = new RegExp(rules.servicePrincipalPattern, 'i');
  const cache = new Map<string, SourceClass>();

  const classify = (value: string): SourceClass => {
    const v = value.trim();
    if (internal.has(v.toLowerCase())) return { kind: 'aws-internal' };
    if (servicePrincipal.test(v)) return { kind: 'aws-service' };
    const ip = parseIp(v);
    if (!ip) return { kind: 'malformed' };
    return { kind: ranges.some((r) => inCidr(ip, r)) ? 'private' : 'public', ip };
  };

  return (sourceIPAddress) => {
    if (!sourceIPAddress) return { kind: 'missing' };
    let hit = cache.get(sourceIPAddress);
    if (!hit) {
      hit = Object.freeze(classify(sourceIPAddress));
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(sourceIPAddress, hit);
    }
    return hit;
  };
}
