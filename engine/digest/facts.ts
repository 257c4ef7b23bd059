/**
 * What the digest compares against its baseline, per session: who (principal), from which networks,
 * in which regions, with which kinds of client (user-agent families), against which services.
 * Computed while the session's events are still at hand, so the events can be dropped afterwards.
 */
import type { Principal } from '../model.ts';
import type { SessionReport } from '../pipeline.ts';
import { networkOf } from './networks.ts';

export const FACT_KINDS = ['principals', 'networks', 'regions', 'userAgents', 'services'] as const;
export type FactKind = (typeof FACT_KINDS)[number];
export type FactSets = Record<FactKind, Set<string>>;

export function emptyFacts(): FactSets {
  return {
    principals: new Set(),
    networks: new Set(),
    regions: new Set(),
    userAgents: new Set(),
    services: new Set(),
  };
}

export function mergeFacts(into: FactSets, from: FactSets): FactSets {
  for (const k of FACT_KINDS) for (const v of from[k]) into[k].add(v);
  return into;
}

/** The stable identity of a principal: the role behind an assumed-role session, not the session name. */
export function principalIdentity(p: Principal): string | undefined {
  if (p.issuerArn) return p.issuerArn;
  if (p.arn) {
    const assumed = /^(arn:[\w-]+:sts::\d*:assumed-role\/[^/]+)\//.exec(p.arn);
    return assumed ? assumed[1] : p.arn;
  }
  if (p.userName) return p.accountId ? `${p.accountId}:${p.userName}` : p.userName;
  return undefined;
}

/** The name an analyst reads: the session's ARN (who exactly), else whatever identifies it. */
export function principalLabel(s: { principal: Principal; key: string }): string {
  return s.principal.arn ?? s.principal.issuerArn ?? s.principal.userName ?? s.key;
}

/** First product token of a raw user agent (`aws-cli/2.13.5 Python/…` → `aws-cli`), for inputs without enrichment. */
export function uaProduct(ua: string): string {
  const first = ua.trim().split(/[\s/(]/)[0] ?? '';
  return first.slice(0, 60) || 'unknown';
}

export function sessionFacts(report: SessionReport): FactSets {
  const facts = emptyFacts();
  const who = principalIdentity(report.principal);
  if (who) facts.principals.add(who);
  for (const ip of report.sourceIps) {
    const net = networkOf(ip);
    if (net) facts.networks.add(net);
  }
  for (const r of report.regions) facts.regions.add(r);
  if (report.events && report.events.length > 0) {
    for (const e of report.events) {
      facts.services.add(e.record.eventSource.replace(/\.amazonaws\.com$/, ''));
      facts.userAgents.add(e.enrichment?.userAgentFamily ?? uaProduct(e.record.userAgent ?? ''));
    }
  } else {
    for (const s of report.signals) if (s.service) facts.services.add(s.service);
    for (const ua of report.userAgents) facts.userAgents.add(uaProduct(ua));
  }
  facts.userAgents.delete('unknown');
  return facts;
}
