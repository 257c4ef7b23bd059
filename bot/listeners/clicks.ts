/**
 * Buttons and menus: each click is acknowledged, authorised, run as one request with a ClickContext, answered
 * when it fails and audited. `createClickHandler` is the one wrapper (the scheduler's buttons use it too).
 */
import type { App } from '@slack/bolt';
import { metrics } from '../../adapters/observability/metrics.ts';
import {
  type ClickContext,
  openBenignModal,
  openSession,
  showAllActions,
  showRawEvents,
  turnPage,
} from '../actions/handlers.ts';
import { publishHome } from '../actions/home.ts';
import {
  ACTION_ALL_ACTIONS,
  ACTION_MARK_BENIGN,
  ACTION_OPEN,
  ACTION_PAGE_NEXT,
  ACTION_PAGE_PREV,
  ACTION_SHOW_RAW,
} from '../actions/ids.ts';
import { StaleReference } from '../actions/resolve.ts';
import type { Block, SlackMessage } from '../messages/limits.ts';
import { failureMessage, refusalMessage } from '../messages/notices.ts';
import { prepare } from '../poster.ts';
import type { CommandResult } from '../types.ts';
import { errorSummary, type ListenerContext } from './context.ts';

export interface ClickBody {
  user?: { id: string };
  team?: { id: string };
  channel?: { id: string };
  trigger_id?: string;
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string; is_ephemeral?: boolean };
  /** The message clicked: one the bot posted, so its blocks are the bot's. */
  message?: { ts?: string; thread_ts?: string; text?: string; blocks?: Block[] };
}

export type ClickRun = (ctx: ClickContext, body: ClickBody) => Promise<CommandResult>;
// biome-ignore lint/suspicious/noExplicitAny: Bolt's listener type
export type ClickHandler = (name: string, run: ClickRun) => (args: any) => Promise<void>;

export function createClickHandler(lc: ListenerContext): ClickHandler {
  return (name, run) =>
    // biome-ignore lint/suspicious/noExplicitAny: Bolt's action argument union is wider than we need
    async ({ ack, body, action, respond }: any) => {
      await ack();
      const started = Date.now();
      const b = body as ClickBody;
      const userId = b.user?.id ?? 'unknown';
      const channelId = b.channel?.id ?? b.container?.channel_id ?? '';
      const reply = async (m: SlackMessage) => {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          ...prepare(m, 'ephemeral reply'),
        });
      };
      const base = { userId, channelId, threadTs: answerThread(b), svc: lc.services, reply };
      const work = lc.requests.asRequest('action', () =>
        runClick(lc, name, () => run(clickContext(b, action, base), b), base),
      );
      const audited = work.then((result) => {
        metrics.commands.inc({ command: `button:${name}`, outcome: result.outcome });
        lc.audit.record({
          who: userId,
          team: b.team?.id,
          where: channelId,
          what: `click ${name}`,
          outcome: result.outcome,
          durationMs: Date.now() - started,
          ...(result.detail ? { detail: result.detail } : {}),
        });
      });
      // Modals must open within the trigger's 3 s: that one is awaited, the others run in the background.
      if (name === 'mark benign') await audited;
      else lc.requests.track(audited);
    };
}

/**
 * An ephemeral message is no thread parent (Slack sends no `message` for it): answer in its thread if it was
 * shown in one, else in the channel.
 */
function answerThread(b: ClickBody): string {
  return b.container?.is_ephemeral
    ? (b.container.thread_ts ?? '')
    : (b.message?.thread_ts ?? b.container?.message_ts ?? b.message?.ts ?? '');
}

async function runClick(
  lc: ListenerContext,
  name: string,
  run: () => Promise<CommandResult>,
  who: { userId: string; channelId: string; reply: (m: SlackMessage) => Promise<void> },
): Promise<CommandResult> {
  const decision = await lc.authz.check(who.userId, who.channelId);
  if (!decision.allowed) {
    await who.reply(refusalMessage(decision.reason)).catch(() => {});
    return { outcome: 'denied', detail: decision.reason };
  }
  try {
    return await run();
  } catch (err) {
    if (err instanceof StaleReference) {
      await who.reply(failureMessage(err.message)).catch(() => {});
      return { outcome: 'error', detail: err.message };
    }
    lc.logger.error({ err: errorSummary(err), action: name }, 'button failed');
    await who
      .reply(failureMessage(`"${name}" failed`, 'Try again; the bot log has the details.'))
      .catch(() => {});
    return { outcome: 'error', detail: errorSummary(err).message };
  }
}

/** What a handler needs of a click: the clicked element's value or selection, its block and message. */
function clickContext(
  b: ClickBody,
  // biome-ignore lint/suspicious/noExplicitAny: Bolt's action union (button, users_select, static_select…)
  action: any,
  base: Pick<ClickContext, 'userId' | 'channelId' | 'threadTs' | 'svc' | 'reply'>,
): ClickContext {
  const ctx: ClickContext = { ...base, value: action?.value };
  const messageTs = b.container?.message_ts ?? b.message?.ts;
  if (messageTs) ctx.messageTs = messageTs;
  if (typeof action?.block_id === 'string') ctx.blockId = action.block_id;
  const selected = action?.selected_user ?? action?.selected_option?.value;
  if (typeof selected === 'string') ctx.selected = selected;
  if (b.message && !b.container?.is_ephemeral)
    ctx.message = { text: b.message.text ?? '', blocks: b.message.blocks ?? [] };
  return ctx;
}

/** The lookup buttons (raw events, all actions, open, pages, mark benign) and App Home. */
export function registerClickActions(app: App, lc: ListenerContext, click: ClickHandler): void {
  app.action(
    ACTION_SHOW_RAW,
    click('show raw events', (ctx) => showRawEvents(ctx)),
  );
  app.action(
    ACTION_ALL_ACTIONS,
    click('all actions', (ctx) => showAllActions(ctx)),
  );
  app.action(
    ACTION_OPEN,
    click('open session', (ctx) => openSession(ctx)),
  );
  for (const id of [ACTION_PAGE_NEXT, ACTION_PAGE_PREV]) {
    app.action(
      id,
      click('page', (ctx) => turnPage(ctx)),
    );
  }
  // App Home: the alerts I hold, the open ones, the latest digest (published when the tab opens).
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    lc.requests.asRequest('event', () => lc.requests.track(publishHome(event.user, lc.services)));
  });
  app.action(
    ACTION_MARK_BENIGN,
    click('mark benign', (ctx, body) =>
      openBenignModal(ctx, body.trigger_id ?? '', (view) =>
        app.client.views.open({ trigger_id: body.trigger_id ?? '', view }),
      ),
    ),
  );
}
