/**
 * What a failed call means for an analyst: denied, throttled, not found, invalid request, or other.
 * Table: rules/enrichment/error-codes.yaml.
 */
import type { CloudTrailRecord } from '../engine/record.ts';
import type { EnrichmentTables } from './tables.ts';

export type ErrorKind = 'denied' | 'throttled' | 'not-found' | 'invalid' | 'other';
export type ErrorClassifier = (record: CloudTrailRecord) => ErrorKind | undefined;

export function createErrorClassifier(rules: EnrichmentTables['errorCodes']): ErrorClassifier {
  const kinds = rules.kinds.map((k) => ({ ...k, exact: new Set(k.exact) }));
  const cache = new Map<string, ErrorKind>();

  const classify = (code: string): ErrorKind => {
    // EC2 spells client errors `Client.UnauthorizedOperation`.
    const c = code.replace(/^(Client|Server)\./, '');
    for (const k of kinds) {
      if (k.exact.has(c) || k.prefix.some((p) => c.startsWith(p)) || k.suffix.some((s) => c.endsWith(s))) {
        return k.kind;
      }
    }
    return 'other';
  };

  return (record) => {
    const code = record.errorCode;
    if (!code) {
      // Failed console sign-ins carry no errorCode, only responseElements.ConsoleLogin = "Failure".
      const login = record.responseElements?.ConsoleLogin;
      return login === 'Failure' ? 'denied' : undefined;
    }
    let kind = cache.get(code);
    if (!kind) {
      kind = classify(code);
      if (cache.size < 10_000) cache.set(code, kind);
    }
    return kind;
  };
}
