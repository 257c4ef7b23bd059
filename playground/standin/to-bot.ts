/**
 * What the stand-in sends the bot, signed exactly like Slack (v0 HMAC-SHA256): slash commands, clicks and picks
 * (buttons, users_select, static_select), modal submissions and the App Home's `app_home_opened` event. Each is
 * recorded as a delivery with the bot's answer.
 */
import type { Json, SendResult, StandinContext } from './context.ts';
import { actionPayload, findElement, homeOpenedEvent } from './interactions.ts';
import { signedHeaders } from './signing.ts';
import type { Delivery, StandinMessage } from './state.ts';

function newResponseUrl(ctx: StandinContext, channel: string, user: string, threadTs?: string): string {
  const id = ctx.state.nextId('R');
  ctx.responseUrls.set(id, { channel, user, ...(threadTs ? { thread_ts: threadTs } : {}) });
  return `${ctx.base}/response/${id}`;
}

function newTrigger(ctx: StandinContext, user: string): string {
  const id = `${ctx.state.nextSeq()}.${Date.now()}.${Math.random().toString(16).slice(2, 10)}`;
  ctx.triggers.set(id, user);
  return id;
}

async function deliver(
  ctx: StandinContext,
  kind: Delivery['kind'],
  user: string,
  channel: string | undefined,
  summary: string,
  body: string,
): Promise<SendResult> {
  const { state } = ctx;
  if (!ctx.botUrl) throw new Error('the stand-in has no bot URL yet (setBotUrl)');
  const type = kind === 'event' ? 'application/json' : 'application/x-www-form-urlencoded';
  const res = await fetch(ctx.botUrl, {
    method: 'POST',
    headers: signedHeaders(ctx.options.signingSecret, body, undefined, type),
    body,
  });
  const text = await res.text();
  const d: Delivery = {
    seq: state.nextSeq(),
    at: Date.now(),
    kind,
    user,
    summary,
    status: res.status,
    body: text,
    ...(channel ? { channel } : {}),
  };
  state.deliveries.push(d);
  state.emitEvent({ type: 'delivery', delivery: d });
  return { status: res.status, body: text };
}

function resolveUser(ctx: StandinContext, u: string | undefined) {
  const user = ctx.state.user(u ?? 'alice');
  if (!user) throw new Error(`no user '${u}' in the stand-in workspace`);
  return user;
}

export async function sendSlashCommand(
  ctx: StandinContext,
  text: string,
  opts: { user?: string; channel?: string; command?: string } = {},
): Promise<SendResult> {
  const { state } = ctx;
  const user = resolveUser(ctx, opts.user);
  const channel = state.channel(opts.channel ?? 'soc-triage');
  if (!channel) throw new Error(`no channel '${opts.channel}' in the stand-in workspace`);
  const command = opts.command ?? '/cartographer';
  const form = new URLSearchParams({
    token: 'standin-verification-token',
    team_id: state.team.id,
    team_domain: state.team.domain,
    channel_id: channel.id,
    channel_name: channel.name,
    user_id: user.id,
    user_name: user.name,
    command,
    text,
    api_app_id: state.bot.appId,
    is_enterprise_install: 'false',
    response_url: newResponseUrl(ctx, channel.id, user.id),
    trigger_id: newTrigger(ctx, user.id),
  });
  return deliver(ctx, 'command', user.id, channel.id, `${command} ${text}`, form.toString());
}

export async function openHome(ctx: StandinContext, opts: { user?: string } = {}): Promise<SendResult> {
  const { state } = ctx;
  const user = resolveUser(ctx, opts.user);
  const event = homeOpenedEvent(state.team, state.bot.appId, user.id, state.homes.get(user.id)?.view);
  return deliver(ctx, 'event', user.id, undefined, 'app_home_opened', JSON.stringify(event));
}

export async function clickButton(
  ctx: StandinContext,
  messageTs: string,
  actionId: string,
  value?: string,
  opts: { user?: string; selected?: string } = {},
): Promise<SendResult> {
  const { state } = ctx;
  const user = resolveUser(ctx, opts.user);
  const message = state.findMessage(messageTs);
  const ephemeral = message ? undefined : state.findEphemeral(messageTs);
  const target = message ?? ephemeral;
  if (!target) throw new Error(`no message with ts ${messageTs}`);
  // An ephemeral message is shown to one user only; nobody else has its buttons to click.
  if (ephemeral && ephemeral.user !== user.id)
    throw new Error(`message ${messageTs} is only visible to ${ephemeral.user}, not ${user.id}`);
  const found = findElement(target.blocks, actionId, value);
  if (!found)
    throw new Error(`message ${messageTs} has no button '${actionId}'${value ? ` with value ${value}` : ''}`);
  const action = actionPayload(found.element, found.blockId, opts.selected);
  const payload = {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: state.team.id },
    api_app_id: state.bot.appId,
    token: 'standin-verification-token',
    container: {
      type: 'message',
      message_ts: target.ts,
      channel_id: target.channel,
      is_ephemeral: ephemeral !== undefined,
      ...(target.thread_ts ? { thread_ts: target.thread_ts } : {}),
    },
    trigger_id: newTrigger(ctx, user.id),
    team: { id: state.team.id, domain: state.team.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: target.channel, name: state.channel(target.channel)?.name ?? '' },
    // Slack sends the message itself for ordinary messages only, not for ephemeral ones.
    ...(message ? { message: clickedMessage(ctx, message) } : {}),
    state: { values: {} },
    response_url: newResponseUrl(ctx, target.channel, user.id, target.thread_ts),
    actions: [action],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const what = `${actionId}${opts.selected ? `=${opts.selected}` : ''} on ${messageTs}`;
  return deliver(ctx, 'click', user.id, target.channel, what, body);
}

function clickedMessage(ctx: StandinContext, message: StandinMessage): Json {
  return {
    type: 'message',
    user: message.user,
    bot_id: ctx.state.bot.botId,
    text: message.text,
    ts: message.ts,
    ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
    ...(message.blocks ? { blocks: message.blocks } : {}),
  };
}

/** A modal's inputs as Slack reports them in `view.state.values`, from the values given per block and action. */
function viewStateValues(
  blocks: Json[],
  values: Record<string, Record<string, string>>,
): Record<string, Record<string, Json>> {
  const stateValues: Record<string, Record<string, Json>> = {};
  for (const block of blocks) {
    if (block.type !== 'input') continue;
    const blockId = String(block.block_id);
    const element = block.element as Json;
    const actionId = String(element.action_id);
    const given = values[blockId]?.[actionId];
    if (element.type === 'static_select') {
      const options = (element.options ?? []) as Json[];
      const chosen =
        options.find((o) => o.value === given) ?? (element.initial_option as Json | undefined) ?? null;
      stateValues[blockId] = { [actionId]: { type: 'static_select', selected_option: chosen } };
    } else {
      stateValues[blockId] = { [actionId]: { type: String(element.type), value: given ?? null } };
    }
  }
  return stateValues;
}

export async function submitView(
  ctx: StandinContext,
  viewId: string,
  values: Record<string, Record<string, string>>,
  opts: { user?: string } = {},
): Promise<SendResult> {
  const { state } = ctx;
  const v = state.views.get(viewId);
  if (!v?.open) throw new Error(`no open view ${viewId}`);
  const user = resolveUser(ctx, opts.user ?? v.user);
  const payload = {
    type: 'view_submission',
    team: { id: state.team.id, domain: state.team.domain },
    user: { id: user.id, username: user.name, name: user.name, team_id: state.team.id },
    api_app_id: state.bot.appId,
    token: 'standin-verification-token',
    trigger_id: newTrigger(ctx, user.id),
    view: {
      ...v.view,
      id: v.id,
      team_id: state.team.id,
      state: { values: viewStateValues((v.view.blocks ?? []) as Json[], values) },
      hash: `${Date.now()}.standin`,
      app_id: state.bot.appId,
      bot_id: state.bot.botId,
      root_view_id: v.id,
      previous_view_id: null,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const result = await deliver(ctx, 'view_submission', user.id, undefined, `submit ${viewId}`, body);
  // An empty 200 closes the modal; `response_action: errors` keeps it open.
  if (result.status === 200 && !/"response_action"\s*:\s*"errors"/.test(result.body)) v.open = false;
  return result;
}
