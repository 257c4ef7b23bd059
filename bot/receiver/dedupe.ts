/**
 * Every Slack request is acted on once, whichever replica receives it and however often it arrives.
 *
 * Slack retries Events API callbacks (`X-Slack-Retry-Num`, same `event_id`); a captured signed request
 * can be replayed while its timestamp is inside the five-minute signature window (same `trigger_id` or
 * `event_id`); an impatient analyst double-clicks a button (two requests, same action on the same message).
 * Each has a key; the first request to claim it in the shared store does the work, later ones are only
 * acknowledged. A Bolt global middleware, so HTTP and Socket Mode are covered alike.
 */
import type { AllMiddlewareArgs, AnyMiddlewareArgs } from '@slack/bolt';

/** The store's atomic insert-if-absent (BotStore.claimOnce). */
export type Claim = (key: string, expiresAt: Date) => Promise<boolean>;

/** Slack retries over minutes and replays are refused after five: an hour covers both with room. */
export const REQUEST_KEY_TTL_MS = 60 * 60_000;
/** Two clicks of one button on one message within this time are one click. */
export const CLICK_TTL_MS = 30_000;

// biome-ignore lint/suspicious/noExplicitAny: Slack bodies are open-ended JSON
type Body = Record<string, any>;

/** Context property where the HTTP receiver puts the request's signature (FastAckReceiver). */
export const SIGNATURE_PROPERTY = 'slackRequestSignature';

/**
 * The identity of one Slack request: its event id (events) or trigger id (commands, clicks, views); else,
 * over HTTP, its signature (the same bytes at the same timestamp: a replay).
 */
export function requestKey(body: Body, signature?: unknown): string | undefined {
  const team = body.team_id ?? body.team?.id ?? body.authorizations?.[0]?.team_id ?? '';
  if (typeof body.event_id === 'string') return `event:${team}:${body.event_id}`;
  if (typeof body.trigger_id === 'string') return `trigger:${team}:${body.trigger_id}`;
  if (typeof signature === 'string' && signature !== '') return `signature:${signature}`;
  return undefined;
}

/**
 * The identity of a click: which button (action id, block, value) on which message or view; for a select
 * menu also what was picked (assigning an alert to one person, then correcting it to another, is two acts).
 */
export function clickKey(body: Body): string | undefined {
  if (body.type !== 'block_actions' || !Array.isArray(body.actions) || body.actions.length === 0)
    return undefined;
  const a = body.actions[0];
  const where =
    body.container?.message_ts ?? body.message?.ts ?? body.container?.view_id ?? body.view?.id ?? undefined;
  if (where === undefined || typeof a?.action_id !== 'string') return undefined;
  const channel = body.channel?.id ?? body.container?.channel_id ?? '';
  const team = body.team?.id ?? '';
  const picked = a.selected_user ?? a.selected_option?.value ?? '';
  return `click:${team}:${channel}:${where}:${a.action_id}:${a.block_id ?? ''}:${a.value ?? ''}:${picked}`;
}

interface Log {
  debug?(msg: string): void;
  warn(msg: string): void;
}

/**
 * The middleware: claims the request's keys and passes it on only when it is the first; a duplicate is
 * acknowledged (so Slack stops retrying and a modal closes) and goes no further. If the store cannot be
 * reached the request is handled (a lost claim must not lose the analyst's command).
 */
export function dedupeRequests(claim: Claim, logger: Log, now: () => number = Date.now) {
  return async (args: AnyMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const body = args.body as Body;
    const keys: [string, number][] = [];
    const request = requestKey(body, args.context?.[SIGNATURE_PROPERTY]);
    if (request) keys.push([request, REQUEST_KEY_TTL_MS]);
    const click = clickKey(body);
    if (click) keys.push([click, CLICK_TTL_MS]);
    for (const [key, ttl] of keys) {
      let first = true;
      try {
        first = await claim(key, new Date(now() + ttl));
      } catch (err) {
        logger.warn(`could not record ${key} as seen (${(err as Error).message}); handling it anyway`);
      }
      if (!first) {
        logger.debug?.(`duplicate Slack request ignored: ${key}`);
        if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
        return;
      }
    }
    await args.next();
  };
}
