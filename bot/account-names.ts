/**
 * Names for account ids in messages: the configured map (CARTOGRAPHER_ACCOUNT_NAMES) and, when
 * allowed (CARTOGRAPHER_ORGANIZATIONS=on), AWS Organizations' names, cached by the adapter. A name
 * from the map wins. Without Organizations the AWS SDK is never loaded.
 */
import type { Logger } from 'pino';
import type { AccountDirectory } from '../adapters/aws/organizations.ts';
import type { BotConfig } from '../config/bot.ts';

export type AccountNamer = (accountId: string) => string | undefined;

export function createAccountNames(
  config: Pick<BotConfig, 'accountNames' | 'organizationsAccountNames' | 'organizationsRegion'>,
  logger: Pick<Logger, 'warn'>,
  directory?: AccountDirectory,
): () => Promise<AccountNamer> {
  const configured = new Map(Object.entries(config.accountNames));
  let org: Promise<AccountDirectory> | undefined;
  const loadDirectory = () => {
    org ??= directory
      ? Promise.resolve(directory)
      : import('../adapters/aws/organizations.ts').then(({ createOrganizationsDirectory }) =>
          createOrganizationsDirectory({
            region: config.organizationsRegion,
            onError: (message) => logger.warn({ component: 'account-names' }, message),
          }),
        );
    return org;
  };
  return async () => {
    if (!config.organizationsAccountNames) return (id) => configured.get(id);
    const fromOrg = await (await loadDirectory()).names();
    return (id) => configured.get(id) ?? fromOrg.get(id);
  };
}
