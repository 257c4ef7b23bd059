/** App Home: builds a user's Home tab from the triage store and publishes it (views.publish). */
import { CASE_STATES } from '../../adapters/state/triage-store.ts';
import { buildHome } from '../messages/home.ts';
import type { BotServices } from '../types.ts';

const OPEN = CASE_STATES.filter((s) => s !== 'resolved');
/** Unresolved alerts read for the tab (the count shown says "N in all" only up to this). */
const READ = 200;

export async function publishHome(userId: string, svc: BotServices): Promise<void> {
  const [mine, open, digest] = await Promise.all([
    svc.triage.listCases({ states: OPEN, assignee: userId, limit: 50 }),
    svc.triage.listCases({ states: OPEN, limit: READ }),
    svc.triage.latestDigest(),
  ]);
  const links = new Map<string, string>();
  for (const m of [...mine, ...open.slice(0, 15), ...(digest ? [digest] : [])]) {
    const key = `${m.channel}/${m.ts}`;
    if (!links.has(key)) links.set(key, await svc.poster.permalink(m.channel, m.ts).catch(() => ''));
  }
  const view = buildHome({
    userId,
    mine,
    open,
    openTotal: open.length,
    ...(digest ? { digest } : {}),
    link: (channel, ts) => links.get(`${channel}/${ts}`) || undefined,
    now: Date.now(),
  });
  await svc.poster.publishHome(userId, view);
}

/** Republishes the tabs of the people an alert change concerns; failures are logged, never thrown. */
export function refreshHomes(userIds: (string | undefined)[], svc: BotServices): Promise<void> {
  const users = [...new Set(userIds.filter((u): u is string => Boolean(u && /^[UW][A-Z0-9]+$/.test(u))))];
  return Promise.all(
    users.map((u) =>
      publishHome(u, svc).catch((err) =>
        svc.logger.warn(
          { err: err instanceof Error ? err.message : String(err), user: u },
          'could not refresh App Home',
        ),
      ),
    ),
  ).then(() => {});
}
