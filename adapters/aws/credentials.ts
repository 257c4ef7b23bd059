/**
 * Credentials per member account. The account Cartographer runs in uses the standard AWS credential chain
 * (environment, profile/SSO, container or instance role); every other account is reached by assuming the role
 * configured for it with STS AssumeRole. Assumed credentials are cached and renewed shortly before they expire.
 */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { instrumentAwsClient } from '../observability/aws-telemetry.ts';
import { SourceError, toSourceError } from './errors.ts';

/** Structurally the SDK's AwsCredentialIdentity, so it can be passed as a client's `credentials`. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type CredentialProvider = () => Promise<AwsCredentials>;

export interface MemberAccount {
  /** 12-digit account ID. */
  id: string;
  /** Role to assume in that account; absent means "use the default credentials" (the account we run in). */
  roleArn?: string;
  externalId?: string;
  /** Friendly name for messages, e.g. `prod`. */
  name?: string;
}

export interface AssumeRoleOptions {
  /** Region of the STS endpoint (regional endpoints are the AWS recommendation). */
  region: string;
  roleSessionName?: string;
  durationSeconds?: number;
  /** Renew this long before expiry (default 5 minutes). */
  refreshMarginMs?: number;
}

/** Returns the credential provider for an account: `undefined` means the SDK's default chain. */
export function createCredentialResolver(
  options: AssumeRoleOptions,
): (account: MemberAccount) => CredentialProvider | undefined {
  let sts: STSClient | undefined;
  const cache = new Map<string, CredentialProvider>();
  return (account) => {
    if (!account.roleArn) return undefined;
    const roleArn = account.roleArn;
    const cached = cache.get(roleArn);
    if (cached) return cached;
    let current: AwsCredentials | undefined;
    let pending: Promise<AwsCredentials> | undefined;
    const margin = options.refreshMarginMs ?? 5 * 60_000;
    const provider: CredentialProvider = async () => {
      if (current?.expiration && current.expiration.getTime() - margin > Date.now()) return current;
      pending ??= (async () => {
        sts ??= instrumentAwsClient(new STSClient({ region: options.region, maxAttempts: 3 }));
        try {
          const out = await sts.send(
            new AssumeRoleCommand({
              RoleArn: roleArn,
              RoleSessionName: options.roleSessionName ?? 'cartographer',
              DurationSeconds: options.durationSeconds ?? 3600,
              ExternalId: account.externalId,
            }),
          );
          const c = out.Credentials;
          if (!c?.AccessKeyId || !c.SecretAccessKey)
            throw new Error(`AssumeRole ${roleArn} returned no credentials`);
          current = {
            accessKeyId: c.AccessKeyId,
            secretAccessKey: c.SecretAccessKey,
            sessionToken: c.SessionToken,
            expiration: c.Expiration,
          };
          return current;
        } catch (err) {
          const e = toSourceError(err, {
            source: 'sts',
            action: 'sts:AssumeRole',
            account: account.id,
            region: options.region,
          });
          if (e.kind === 'access-denied') {
            throw new SourceError(
              `Cannot assume ${roleArn} for account ${account.id}: access denied.`,
              'access-denied',
              `Allow sts:AssumeRole on ${roleArn} for the identity Cartographer runs as, and trust that identity in the role's trust policy${account.externalId ? ' (with the configured external ID)' : ''}.`,
              e.context,
              'sts:AssumeRole',
              { cause: err },
            );
          }
          throw e;
        } finally {
          pending = undefined;
        }
      })();
      return pending;
    };
    cache.set(roleArn, provider);
    return provider;
  };
}
