/**
 * The stand-in's Slack Web API (`POST /api/<method>`): the methods the bot calls, with Slack's checks that a bot can
 * trip over (token, channel membership, content limits, threads, triggers) and 429 + Retry-After on demand.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Json, StandinContext } from './context.ts';
import { bearer, json, parseArgs } from './http.ts';
import type { StandinChannel, StandinEphemeral, StandinMessage, StandinState } from './state.ts';

type Method = (ctx: StandinContext, a: Json) => Json;

export async function webApi(
  ctx: StandinContext,
  method: string,
  req: IncomingMessage,
  raw: Buffer,
  res: ServerResponse,
): Promise<void> {
  const { state } = ctx;
  const args = parseArgs(req, raw);
  const token = bearer(req) ?? (typeof args.token === 'string' ? args.token : undefined);
  delete args.token;
  const limited = ctx.rateLimits.get(method);
  if (limited && limited.count > 0) {
    limited.count -= 1;
    state.calls.push({ seq: state.nextSeq(), method, args, ok: false, error: 'ratelimited', status: 429 });
    res.writeHead(429, { 'retry-after': String(limited.retryAfter), 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
    return;
  }
  let result: Json;
  if (token !== ctx.options.botToken) result = { ok: false, error: token ? 'invalid_auth' : 'not_authed' };
  else result = (METHODS[method] ?? unknownMethod)(ctx, args);
  state.calls.push({
    seq: state.nextSeq(),
    method,
    args,
    ok: result.ok === true,
    status: 200,
    ...(result.ok === true ? {} : { error: String(result.error) }),
  });
  json(res, 200, result);
}

const unknownMethod: Method = () => ({ ok: false, error: 'unknown_method' });

const METHODS: Record<string, Method> = {
  'auth.test': ({ state, base }) => ({
    ok: true,
    url: `${base}/`,
    team: state.team.name,
    user: state.bot.name,
    team_id: state.team.id,
    user_id: state.bot.userId,
    bot_id: state.bot.botId,
    is_enterprise_install: false,
  }),
  'chat.postMessage': postMessage,
  'conversations.history': (ctx, a) => history(ctx.state, a, 'conversations.history'),
  'conversations.replies': (ctx, a) => history(ctx.state, a, 'conversations.replies'),
  'chat.update': updateMessage,
  'chat.postEphemeral': postEphemeral,
  'files.getUploadURLExternal': ({ state, base }, a) => {
    const filename = String(a.filename ?? '');
    const length = Number(a.length);
    if (!filename) return { ok: false, error: 'invalid_arguments' };
    if (!Number.isFinite(length) || length <= 0) return { ok: false, error: 'invalid_arguments' };
    const id = state.nextId('F');
    state.files.set(id, { id, name: filename, length, complete: false });
    return { ok: true, upload_url: `${base}/upload/${id}`, file_id: id };
  },
  'files.completeUploadExternal': completeUpload,
  'views.open': ({ state, triggers }, a) => {
    const trigger = String(a.trigger_id ?? '');
    const user = triggers.get(trigger);
    if (!user) return { ok: false, error: 'invalid_trigger_id' };
    triggers.delete(trigger); // a trigger opens one view, as in Slack
    const view = typeof a.view === 'string' ? JSON.parse(a.view) : a.view;
    if (view?.type !== 'modal') return { ok: false, error: 'invalid_arguments' };
    const id = state.nextId('V');
    const v = { id, user, open: true, view: { ...view, id } };
    state.views.set(id, v);
    state.emitEvent({ type: 'view', view: v });
    return { ok: true, view: v.view };
  },
  'views.publish': ({ state }, a) => {
    const user = state.user(String(a.user_id ?? ''));
    const view = typeof a.view === 'string' ? JSON.parse(a.view) : a.view;
    if (!user) return { ok: false, error: 'user_not_found' };
    if (view?.type !== 'home') return { ok: false, error: 'invalid_arguments' };
    if (!Array.isArray(view.blocks) || view.blocks.length > 100)
      return { ok: false, error: 'invalid_blocks' };
    const home = { user: user.id, view: { ...view, id: `VH${user.id}` }, at: Date.now() };
    state.homes.set(user.id, home);
    state.emitEvent({ type: 'home', home });
    return { ok: true, view: home.view };
  },
  'usergroups.users.list': ({ state }, a) => {
    const members = state.usergroups.get(String(a.usergroup ?? ''));
    return members ? { ok: true, users: members } : { ok: false, error: 'no_such_subteam' };
  },
};

function postMessage({ state }: StandinContext, a: Json): Json {
  const ch = memberChannel(state, a);
  if ('error' in ch) return ch;
  const bad = checkContent(a);
  if (bad) return { ok: false, error: bad };
  const thread = typeof a.thread_ts === 'string' && a.thread_ts ? a.thread_ts : undefined;
  if (thread && !state.message(ch.id, thread)) return { ok: false, error: 'thread_not_found' };
  const message: StandinMessage = {
    channel: ch.id,
    ts: state.nextTs(),
    user: state.bot.userId,
    bot: true,
    text: String(a.text ?? ''),
    history: [],
    ...(thread ? { thread_ts: thread } : {}),
    ...(Array.isArray(a.blocks) ? { blocks: a.blocks } : {}),
    ...(a.metadata && typeof a.metadata === 'object' ? { metadata: a.metadata } : {}),
  };
  state.messages.push(message);
  state.emitEvent({ type: 'message', message });
  return { ok: true, channel: ch.id, ts: message.ts, message: { ...message, history: undefined } };
}

function history(
  state: StandinState,
  a: Json,
  method: 'conversations.history' | 'conversations.replies',
): Json {
  const ch = memberChannel(state, a);
  if ('error' in ch) return ch;
  const oldest = Number(a.oldest ?? 0);
  const withMeta = a.include_all_metadata === true || a.include_all_metadata === 'true';
  let list: StandinMessage[];
  if (method === 'conversations.replies') {
    const parent = state.message(ch.id, String(a.ts ?? ''));
    if (!parent) return { ok: false, error: 'thread_not_found' };
    list = [parent, ...state.thread(ch.id, parent.ts)]; // oldest first, parent first, as Slack
  } else {
    list = [...state.channelMessages(ch.id)].reverse(); // newest first, as Slack
  }
  const messages = list
    .filter((m) => Number(m.ts) >= oldest)
    .map((m) => ({
      type: 'message',
      ts: m.ts,
      text: m.text,
      user: m.user,
      ...(m.bot ? { bot_id: state.bot.botId } : {}),
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(withMeta && m.metadata ? { metadata: m.metadata } : {}),
    }));
  return { ok: true, messages, has_more: false, response_metadata: { next_cursor: '' } };
}

function updateMessage({ state }: StandinContext, a: Json): Json {
  const ch = state.channel(String(a.channel ?? ''));
  const m = ch && state.message(ch.id, String(a.ts ?? ''));
  if (!m) return { ok: false, error: 'message_not_found' };
  if (!m.bot) return { ok: false, error: 'cant_update_message' };
  const bad = checkContent(a);
  if (bad) return { ok: false, error: bad };
  m.history.push({ text: m.text, ...(m.blocks ? { blocks: m.blocks } : {}) });
  if (a.text !== undefined) m.text = String(a.text);
  if (Array.isArray(a.blocks)) m.blocks = a.blocks;
  state.emitEvent({ type: 'update', message: m });
  return { ok: true, channel: m.channel, ts: m.ts, text: m.text };
}

function postEphemeral({ state }: StandinContext, a: Json): Json {
  const ch = memberChannel(state, a);
  if ('error' in ch) return ch;
  const bad = checkContent(a);
  if (bad) return { ok: false, error: bad };
  const thread = typeof a.thread_ts === 'string' && a.thread_ts ? a.thread_ts : undefined;
  const e: StandinEphemeral = {
    seq: state.nextSeq(),
    at: Date.now(),
    ts: state.nextTs(),
    channel: ch.id,
    user: String(a.user ?? ''),
    text: String(a.text ?? ''),
    via: 'chat.postEphemeral',
    ...(thread ? { thread_ts: thread } : {}),
    ...(Array.isArray(a.blocks) ? { blocks: a.blocks } : {}),
  };
  state.ephemerals.push(e);
  state.emitEvent({ type: 'ephemeral', ephemeral: e });
  return { ok: true, message_ts: e.ts };
}

function completeUpload({ state }: StandinContext, a: Json): Json {
  const files = (typeof a.files === 'string' ? JSON.parse(a.files) : a.files) as {
    id: string;
    title?: string;
  }[];
  if (!Array.isArray(files) || files.length === 0) return { ok: false, error: 'invalid_arguments' };
  const channelId = typeof a.channel_id === 'string' ? a.channel_id : undefined;
  const ch = channelId ? state.channel(channelId) : undefined;
  if (channelId && !ch) return { ok: false, error: 'channel_not_found' };
  if (ch && !ch.botMember) return { ok: false, error: 'not_in_channel' };
  const thread = typeof a.thread_ts === 'string' && a.thread_ts ? a.thread_ts : undefined;
  const done = [];
  for (const f of files) {
    const file = state.files.get(f.id);
    if (!file || file.content === undefined) return { ok: false, error: 'file_not_found' };
    file.complete = true;
    if (f.title) file.title = f.title;
    if (ch) file.channel = ch.id;
    if (thread) file.thread_ts = thread;
    if (typeof a.initial_comment === 'string') file.initial_comment = a.initial_comment;
    done.push({ id: file.id, name: file.name, title: file.title ?? file.name, size: file.length });
    state.emitEvent({ type: 'file', file });
  }
  if (ch) {
    const message: StandinMessage = {
      channel: ch.id,
      ts: state.nextTs(),
      user: state.bot.userId,
      bot: true,
      text: typeof a.initial_comment === 'string' ? a.initial_comment : '',
      files: done.map((f) => f.id),
      history: [],
      ...(thread ? { thread_ts: thread } : {}),
    };
    state.messages.push(message);
    state.emitEvent({ type: 'message', message });
  }
  return { ok: true, files: done };
}

/** The channel named by `a.channel`, or Slack's error when it is unknown or the bot was not invited. */
function memberChannel(state: StandinState, a: Json): StandinChannel | { ok: false; error: string } {
  const ch = state.channel(String(a.channel ?? ''));
  if (!ch) return { ok: false, error: 'channel_not_found' };
  if (!ch.botMember) return { ok: false, error: 'not_in_channel' };
  return ch;
}

/** The few content rules Slack enforces that a bot can trip over (checked independently of the bot's own checker). */
function checkContent(a: Json): string | undefined {
  const blocks = a.blocks;
  if ((a.text === undefined || a.text === '') && !Array.isArray(blocks)) return 'no_text';
  if (typeof a.text === 'string' && a.text.length > 40_000) return 'msg_too_long';
  if (Array.isArray(blocks)) {
    if (blocks.length > 50) return 'invalid_blocks';
    for (const b of blocks as Json[]) {
      const text = (b.text as Json | undefined)?.text;
      if (b.type === 'header' && (typeof text !== 'string' || text.length > 150)) return 'invalid_blocks';
      if (b.type === 'section' && typeof text === 'string' && text.length > 3000) return 'invalid_blocks';
    }
  }
  return undefined;
}
