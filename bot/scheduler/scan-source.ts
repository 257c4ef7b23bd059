/**
 * What a scheduled scan reads. One watermark per scope (source × account × region); a scope with
 * '*' lets the source cover every account/region in one read. For LookupEvents only the events the
 * detections need are pulled: all write events (ReadOnly=false) plus, one lookup per name, the
 * sensitive reads — pulling every read event would burn the 2-requests-per-second quota.
 */
import type { RecordSource, SourceItem, SourceName, SourceQuery } from '../../engine/source.ts';

/** Read-only calls that expose secrets or data and that detections look at. */
export const SENSITIVE_READ_EVENTS = [
  'GetSecretValue',
  'BatchGetSecretValue',
  'ListSecrets',
  'GetParameter',
  'GetParameters',
  'GetParametersByPath',
  'GetPasswordData',
  'GetFederationToken',
  'GetSessionToken',
  'GetCallerIdentity',
  'ConsoleLogin',
  'GetAuthorizationToken',
  'ListAccessKeys',
  'GetAccountAuthorizationDetails',
  'DescribeInstanceAttribute',
  'Decrypt',
] as const;

export interface ScanScope {
  /** `lookup/123456789012/eu-west-1`, `local/*\/*`. */
  id: string;
  source: SourceName;
  account?: string;
  region?: string;
}

export function scanScopes(source: SourceName, accounts: string[], regions: string[]): ScanScope[] {
  const accs = source === 'local' || accounts.length === 0 ? [undefined] : accounts;
  const regs = source === 'local' || regions.length === 0 ? [undefined] : regions;
  const out: ScanScope[] = [];
  for (const account of accs) {
    for (const region of regs) {
      const scope: ScanScope = { id: `${source}/${account ?? '*'}/${region ?? '*'}`, source };
      if (account) scope.account = account;
      if (region) scope.region = region;
      out.push(scope);
    }
  }
  return out;
}

/** Items of one scope in [since, until), in event-time order for multi-query sources. */
export function scanItems(
  source: RecordSource,
  scope: ScanScope,
  since: number,
  until: number,
  signal?: AbortSignal,
): AsyncIterable<SourceItem> {
  const base: SourceQuery = { since: new Date(since), until: new Date(until) };
  if (scope.account) base.accounts = [scope.account];
  if (scope.region) base.regions = [scope.region];
  return readForScan(source, base, signal);
}

/**
 * Reads what scans and digests need. Local files and Athena: one read. LookupEvents: the write
 * events and, one lookup each, the sensitive reads, merged in time order so sessions form as in
 * one read (the window is bounded, so holding its records is).
 */
export async function* readForScan(
  source: RecordSource,
  base: SourceQuery,
  signal?: AbortSignal,
): AsyncGenerator<SourceItem> {
  const options = signal ? { signal } : {};
  if (source.name !== 'lookup' || base.readOnly !== undefined || base.eventNames) {
    yield* source.read(base, options);
    return;
  }
  const records: Extract<SourceItem, { kind: 'record' }>[] = [];
  const queries: SourceQuery[] = [
    { ...base, readOnly: false },
    ...SENSITIVE_READ_EVENTS.map((name) => ({ ...base, eventNames: [name] })),
  ];
  for (const q of queries) {
    for await (const item of source.read(q, options)) {
      if (item.kind === 'record') records.push(item);
      else yield item;
    }
  }
  records.sort((a, b) => a.record.eventTime.localeCompare(b.record.eventTime));
  yield* records;
}
