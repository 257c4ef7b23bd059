/**
 * Account names from AWS Organizations (`organizations:ListAccounts`, callable in the management
 * account or a delegated administrator account), cached so a busy channel costs one listing an hour.
 * A failure never breaks a message: the last good list is kept, the failure is reported once through
 * `onError` (with the permission or setting to fix) and the listing is retried after a pause.
 */
import { OrganizationsClient, paginateListAccounts } from '@aws-sdk/client-organizations';
import { instrumentAwsClient } from '../observability/aws-telemetry.ts';

export interface OrganizationsDirectoryOptions {
  /** Region of the Organizations endpoint (us-east-1 for the aws partition). */
  region: string;
  /** How long a listing is used before it is refreshed (default 1 hour). */
  ttlMs?: number;
  /** After a failure, how long before the next try (default 5 minutes). */
  retryAfterMs?: number;
  now?: () => number;
  /** Told about each failed listing (what went wrong and what to do). */
  onError?: (message: string) => void;
  client?: OrganizationsClient;
}

export interface AccountDirectory {
  /** Account id → name; the last good listing (empty before the first succeeds). */
  names(): Promise<ReadonlyMap<string, string>>;
}

export function createOrganizationsDirectory(options: OrganizationsDirectoryOptions): AccountDirectory {
  const ttl = options.ttlMs ?? 3_600_000;
  const retryAfter = options.retryAfterMs ?? 300_000;
  const now = options.now ?? Date.now;
  let client = options.client;
  let names: ReadonlyMap<string, string> = new Map();
  let nextRefresh = 0;
  let pending: Promise<ReadonlyMap<string, string>> | undefined;
  const refresh = async () => {
    client ??= instrumentAwsClient(new OrganizationsClient({ region: options.region, maxAttempts: 3 }));
    const fresh = new Map<string, string>();
    try {
      for await (const page of paginateListAccounts({ client, pageSize: 20 }, {})) {
        for (const a of page.Accounts ?? []) if (a.Id && a.Name) fresh.set(a.Id, a.Name);
      }
      names = fresh;
      nextRefresh = now() + ttl;
    } catch (err) {
      nextRefresh = now() + retryAfter;
      options.onError?.(describe(err));
    }
    return names;
  };
  return {
    names() {
      if (now() < nextRefresh) return Promise.resolve(names);
      pending ??= refresh().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const code = e?.name ?? 'Error';
  const what = `account names from AWS Organizations unavailable (${code}: ${String(e?.message ?? err).slice(0, 200)})`;
  if (/AccessDenied/.test(code))
    return `${what}; allow organizations:ListAccounts, in the management account or a delegated administrator account`;
  if (code === 'AWSOrganizationsNotInUseException')
    return `${what}; this account is not in an organization: name accounts with CARTOGRAPHER_ACCOUNT_NAMES instead`;
  if (/Credentials|credentials/.test(`${code} ${e?.message ?? ''}`))
    return `${what}; provide AWS credentials through the standard chain (AWS_PROFILE, environment, role)`;
  return `${what}; retrying in a few minutes`;
}
