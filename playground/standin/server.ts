/**
 * A local stand-in for the part of Slack the Cartographer bot uses, on 127.0.0.1:
 *
 *   Web API (`POST /api/<method>`): auth.test, chat.postMessage, chat.update, chat.postEphemeral,
 *     conversations.history, conversations.replies (with message metadata),
 *     files.getUploadURLExternal + the upload POST (`/upload/<file id>`) + files.completeUploadExternal,
 *     views.open, views.publish (App Home), usergroups.users.list. Bearer token checked, 429 + Retry-After on demand.
 *   response_url endpoints (`POST /response/<id>`), as given to the bot in commands and clicks.
 *   Outbound: slash commands, clicks and picks (buttons, users_select, static_select), modal
 *     submissions and the App Home's `app_home_opened` event, sent to the bot's request URL and signed
 *     exactly like Slack (v0 HMAC-SHA256).
 *   Playground JSON API: `GET /api/state`, `POST /api/command`, `POST /api/click`, `POST /api/submit`,
 *     `POST /api/home`,
 *     `GET /api/events` (server-sent events), `GET /files/<id>` (uploaded content).
 *
 * Local only: requests whose Host header is not this server's loopback address get 403 (a page on
 * another site reached through DNS rebinding cannot read the workspace), and the playground POSTs
 * need `content-type: application/json` (which a cross-site form or text/plain POST cannot send
 * without a CORS preflight, and the stand-in answers no preflight).
 *
 * The bot cannot tell it from Slack: it is pointed here with SLACK_API_URL and receives signed
 * requests on its normal `/slack/events` endpoint. The end-to-end tests and the playground page
 * both drive it through this module.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isWebPath, serveWeb } from '../web/serve.ts';
import { actionPayload, findElement, homeOpenedEvent } from './interactions.ts';
import { signedHeaders } from './signing.ts';
import {
  type ApiCall,
  type Delivery,
  type StandinChannel,
  type StandinEphemeral,
  type StandinMessage,
  StandinState,
} from './state.ts';

export interface StandinOptions {
  signingSecret: string;
  botToken: string;
  /** The bot's request URL (`http://127.0.0.1:3000/slack/events`); can be set later with setBotUrl. */
  botUrl?: string;
  host?: string;
  port?: number;
}

export interface SendResult {
  status: number;
  body: string;
}

export interface SlackStandin {
  url: string;
  /** What the bot's SLACK_API_URL must be. */
  apiUrl: string;
  state: StandinState;
  calls: ApiCall[];
  setBotUrl(url: string): void;
  sendSlashCommand(
    text: string,
    options?: { user?: string; channel?: string; command?: string },
  ): Promise<SendResult>;
  /**
   * Clicks a button on a message or on an ephemeral message (by its `ts`), as `user` (default alice);
   * for a users_select or static_select, `selected` is the user or option value picked.
   */
  clickButton(
    messageTs: string,
    actionId: string,
    value?: string,
    options?: { user?: string; selected?: string },
  ): Promise<SendResult>;
  /** Opens the app's Home tab as `user`: the app gets `app_home_opened` and answers with views.publish. */
  openHome(options?: { user?: string }): Promise<SendResult>;
  submitView(
    viewId: string,
    values: Record<string, Record<string, string>>,
    options?: { user?: string },
  ): Promise<SendResult>;
  /** The next `count` calls of `method` get HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit(method: string, count?: number, retryAfterSeconds?: number): void;
  /** Sends a request with arbitrary headers (tests of signature checking). */
  sendRaw(body: string, headers: Record<string, string>): Promise<SendResult>;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

export async function startSlackStandin(options: StandinOptions): Promise<SlackStandin> {
  const state = new StandinState();
  let botUrl = options.botUrl;
  const rateLimits = new Map<string, { count: number; retryAfter: number }>();
  // Where a response_url posts: the channel and user of the command or click, and a click's thread.
  const responseUrls = new Map<string, { channel: string; user: string; thread_ts?: string }>();
  const triggers = new Map<string, string>(); // trigger_id → user
  let base = '';

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'internal_error', detail: String(err) }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedHost(req.headers.host)) {
      return json(res, 403, {
        ok: false,
        error: 'forbidden_host',
        detail: `the stand-in answers only requests to itself on loopback (${base}, localhost or [::1] on the same port); Host header was ${req.headers.host ?? 'missing'}`,
      });
    }
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    if (req.method === 'GET' && isWebPath(path)) return serveWeb(path, res);
    if (req.method === 'GET' && path === '/api/state') return json(res, 200, state.snapshot());
    if (req.method === 'GET' && path === '/api/events') return eventStream(req, res);
    if (req.method === 'GET' && path.startsWith('/files/')) {
      const file = state.files.get(path.slice('/files/'.length));
      if (!file || file.content === undefined) return json(res, 404, { ok: false, error: 'file_not_found' });
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(file.content);
      return;
    }
    if (req.method !== 'POST') return json(res, 405, { ok: false, error: 'method_not_allowed' });
    const raw = await readBody(req);
    if (path === '/api/command' || path === '/api/click' || path === '/api/submit' || path === '/api/home') {
      if (!isJson(req)) {
        return json(res, 415, {
          ok: false,
          error: 'unsupported_media_type',
          detail: `${path} takes a JSON body: send the header 'content-type: application/json'`,
        });
      }
      let body: Json;
      try {
        const parsed: unknown = JSON.parse(raw.toString('utf8') || '{}');
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Json;
      } catch (err) {
        return json(res, 400, {
          ok: false,
          error: 'invalid_json',
          detail: `${path}: the body is not a JSON object (${err instanceof Error ? err.message : String(err)})`,
        });
      }
      let result: SendResult;
      if (path === '/api/command') {
        result = await sendSlashCommand(String(body.text ?? ''), {
          ...(typeof body.user === 'string' ? { user: body.user } : {}),
          ...(typeof body.channel === 'string' ? { channel: body.channel } : {}),
        });
      } else if (path === '/api/click') {
        result = await clickButton(
          String(body.messageTs ?? ''),
          String(body.actionId ?? ''),
          typeof body.value === 'string' ? body.value : undefined,
          {
            ...(typeof body.user === 'string' ? { user: body.user } : {}),
            ...(typeof body.selected === 'string' ? { selected: body.selected } : {}),
          },
        );
      } else if (path === '/api/home') {
        result = await openHome(typeof body.user === 'string' ? { user: body.user } : {});
      } else {
        result = await submitView(
          String(body.viewId ?? ''),
          (body.values ?? {}) as Record<string, Record<string, string>>,
          typeof body.user === 'string' ? { user: body.user } : {},
        );
      }
      return json(res, 200, result);
    }
    if (path.startsWith('/upload/')) return upload(path.slice('/upload/'.length), req, raw, res);
    if (path.startsWith('/response/')) return responseUrl(path.slice('/response/'.length), raw, res);
    if (path.startsWith('/api/')) return webApi(path.slice('/api/'.length), req, raw, res);
    return json(res, 404, { ok: false, error: 'not_found' });
  }

  // ---------------------------------------------------------------- Web API

  async function webApi(
    method: string,
    req: IncomingMessage,
    raw: Buffer,
    res: ServerResponse,
  ): Promise<void> {
    const args = parseArgs(req, raw);
    const token = bearer(req) ?? (typeof args.token === 'string' ? args.token : undefined);
    delete args.token;
    const limited = rateLimits.get(method);
    if (limited && limited.count > 0) {
      limited.count -= 1;
      state.calls.push({ seq: state.nextSeq(), method, args, ok: false, error: 'ratelimited', status: 429 });
      res.writeHead(429, { 'retry-after': String(limited.retryAfter), 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    let result: Json;
    if (token !== options.botToken) result = { ok: false, error: token ? 'invalid_auth' : 'not_authed' };
    else result = apiMethod(method, args);
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

  function apiMethod(method: string, a: Json): Json {
    switch (method) {
      case 'auth.test':
        return {
          ok: true,
          url: `${base}/`,
          team: state.team.name,
          user: state.bot.name,
          team_id: state.team.id,
          user_id: state.bot.userId,
          bot_id: state.bot.botId,
          is_enterprise_install: false,
        };
      case 'chat.postMessage': {
        const ch = memberChannel(a);
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
      case 'conversations.history':
      case 'conversations.replies': {
        const ch = memberChannel(a);
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
      case 'chat.update': {
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
      case 'chat.postEphemeral': {
        const ch = memberChannel(a);
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
      case 'files.getUploadURLExternal': {
        const filename = String(a.filename ?? '');
        const length = Number(a.length);
        if (!filename) return { ok: false, error: 'invalid_arguments' };
        if (!Number.isFinite(length) || length <= 0) return { ok: false, error: 'invalid_arguments' };
        const id = state.nextId('F');
        state.files.set(id, { id, name: filename, length, complete: false });
        return { ok: true, upload_url: `${base}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
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
      case 'views.open': {
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
      }
      case 'views.publish': {
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
      }
      case 'usergroups.users.list': {
        const members = state.usergroups.get(String(a.usergroup ?? ''));
        return members ? { ok: true, users: members } : { ok: false, error: 'no_such_subteam' };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  /** The few content rules Slack enforces that a bot can trip over (checked independently of the bot's own checker). */
  /** The channel named by `a.channel`, or Slack's error when it is unknown or the bot was not invited. */
  function memberChannel(a: Json): StandinChannel | { ok: false; error: string } {
    const ch = state.channel(String(a.channel ?? ''));
    if (!ch) return { ok: false, error: 'channel_not_found' };
    if (!ch.botMember) return { ok: false, error: 'not_in_channel' };
    return ch;
  }

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

  function upload(id: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const file = state.files.get(id);
    if (!file) {
      json(res, 404, { ok: false, error: 'file_not_found' });
      return Promise.resolve();
    }
    return extractUpload(req, raw).then((content) => {
      file.content = content;
      file.length = Buffer.byteLength(content);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${file.length}`);
    });
  }

  function responseUrl(id: string, raw: Buffer, res: ServerResponse): void {
    const target = responseUrls.get(id);
    if (!target) {
      json(res, 404, { ok: false, error: 'expired_url' });
      return;
    }
    const body = JSON.parse(raw.toString('utf8') || '{}') as Json;
    if (body.response_type === 'in_channel') {
      const message: StandinMessage = {
        channel: target.channel,
        ts: state.nextTs(),
        user: state.bot.userId,
        bot: true,
        text: String(body.text ?? ''),
        history: [],
        ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
      };
      state.messages.push(message);
      state.emitEvent({ type: 'message', message });
    } else {
      const e: StandinEphemeral = {
        seq: state.nextSeq(),
        at: Date.now(),
        ts: state.nextTs(),
        channel: target.channel,
        user: target.user,
        text: String(body.text ?? ''),
        via: 'response_url',
        ...(target.thread_ts ? { thread_ts: target.thread_ts } : {}),
        ...(Array.isArray(body.blocks) ? { blocks: body.blocks } : {}),
      };
      state.ephemerals.push(e);
      state.emitEvent({ type: 'ephemeral', ephemeral: e });
    }
    json(res, 200, { ok: true });
  }

  function eventStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    const send = (event: unknown) => res.write(`data: ${JSON.stringify(event)}\n\n`);
    state.on('event', send);
    req.on('close', () => state.off('event', send));
  }

  // ---------------------------------------------------------------- requests to the bot

  function newResponseUrl(channel: string, user: string, threadTs?: string): string {
    const id = state.nextId('R');
    responseUrls.set(id, { channel, user, ...(threadTs ? { thread_ts: threadTs } : {}) });
    return `${base}/response/${id}`;
  }

  function newTrigger(user: string): string {
    const id = `${state.nextSeq()}.${Date.now()}.${Math.random().toString(16).slice(2, 10)}`;
    triggers.set(id, user);
    return id;
  }

  async function deliver(
    kind: Delivery['kind'],
    user: string,
    channel: string | undefined,
    summary: string,
    body: string,
  ): Promise<SendResult> {
    if (!botUrl) throw new Error('the stand-in has no bot URL yet (setBotUrl)');
    const type = kind === 'event' ? 'application/json' : 'application/x-www-form-urlencoded';
    const res = await fetch(botUrl, {
      method: 'POST',
      headers: signedHeaders(options.signingSecret, body, undefined, type),
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

  function resolveUser(u: string | undefined) {
    const user = state.user(u ?? 'alice');
    if (!user) throw new Error(`no user '${u}' in the stand-in workspace`);
    return user;
  }

  async function sendSlashCommand(
    text: string,
    opts: { user?: string; channel?: string; command?: string } = {},
  ): Promise<SendResult> {
    const user = resolveUser(opts.user);
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
      response_url: newResponseUrl(channel.id, user.id),
      trigger_id: newTrigger(user.id),
    });
    return deliver('command', user.id, channel.id, `${command} ${text}`, form.toString());
  }

  async function openHome(opts: { user?: string } = {}): Promise<SendResult> {
    const user = resolveUser(opts.user);
    const event = homeOpenedEvent(state.team, state.bot.appId, user.id, state.homes.get(user.id)?.view);
    return deliver('event', user.id, undefined, 'app_home_opened', JSON.stringify(event));
  }

  async function clickButton(
    messageTs: string,
    actionId: string,
    value?: string,
    opts: { user?: string; selected?: string } = {},
  ): Promise<SendResult> {
    const user = resolveUser(opts.user);
    const message = state.findMessage(messageTs);
    const ephemeral = message ? undefined : state.findEphemeral(messageTs);
    const target = message ?? ephemeral;
    if (!target) throw new Error(`no message with ts ${messageTs}`);
    // An ephemeral message is shown to one user only; nobody else has its buttons to click.
    if (ephemeral && ephemeral.user !== user.id)
      throw new Error(`message ${messageTs} is only visible to ${ephemeral.user}, not ${user.id}`);
    const found = findElement(target.blocks, actionId, value);
    if (!found)
      throw new Error(
        `message ${messageTs} has no button '${actionId}'${value ? ` with value ${value}` : ''}`,
      );
    const action = actionPayload(found.element, found.blockId, opts.selected);
    const channel = state.channel(target.channel);
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
      trigger_id: newTrigger(user.id),
      team: { id: state.team.id, domain: state.team.domain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: target.channel, name: channel?.name ?? '' },
      // Slack sends the message itself for ordinary messages only, not for ephemeral ones.
      ...(message
        ? {
            message: {
              type: 'message',
              user: message.user,
              bot_id: state.bot.botId,
              text: message.text,
              ts: message.ts,
              ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}),
              ...(message.blocks ? { blocks: message.blocks } : {}),
            },
          }
        : {}),
      state: { values: {} },
      response_url: newResponseUrl(target.channel, user.id, target.thread_ts),
      actions: [action],
    };
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const what = `${actionId}${opts.selected ? `=${opts.selected}` : ''} on ${messageTs}`;
    return deliver('click', user.id, target.channel, what, body);
  }

  async function submitView(
    viewId: string,
    values: Record<string, Record<string, string>>,
    opts: { user?: string } = {},
  ): Promise<SendResult> {
    const v = state.views.get(viewId);
    if (!v?.open) throw new Error(`no open view ${viewId}`);
    const user = resolveUser(opts.user ?? v.user);
    const stateValues: Record<string, Record<string, Json>> = {};
    for (const block of (v.view.blocks ?? []) as Json[]) {
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
    const payload = {
      type: 'view_submission',
      team: { id: state.team.id, domain: state.team.domain },
      user: { id: user.id, username: user.name, name: user.name, team_id: state.team.id },
      api_app_id: state.bot.appId,
      token: 'standin-verification-token',
      trigger_id: newTrigger(user.id),
      view: {
        ...v.view,
        id: v.id,
        team_id: state.team.id,
        state: { values: stateValues },
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
    const result = await deliver('view_submission', user.id, undefined, `submit ${viewId}`, body);
    // An empty 200 closes the modal; `response_action: errors` keeps it open.
    if (result.status === 200 && !/"response_action"\s*:\s*"errors"/.test(result.body)) v.open = false;
    return result;
  }

  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const address = server.address() as AddressInfo;
  base = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const hosts = new Set(
    [
      new URL(base).host,
      `127.0.0.1:${address.port}`,
      `localhost:${address.port}`,
      `[::1]:${address.port}`,
    ].map((h) => h.toLowerCase()),
  );
  function allowedHost(host: string | undefined): boolean {
    return host !== undefined && hosts.has(host.toLowerCase());
  }

  return {
    url: base,
    apiUrl: `${base}/api/`,
    state,
    calls: state.calls,
    setBotUrl(url) {
      botUrl = url;
    },
    sendSlashCommand,
    clickButton,
    openHome,
    submitView,
    rateLimit(method, count = 1, retryAfterSeconds = 1) {
      rateLimits.set(method, { count, retryAfter: retryAfterSeconds });
    },
    async sendRaw(body, headers) {
      if (!botUrl) throw new Error('the stand-in has no bot URL yet (setBotUrl)');
      const res = await fetch(botUrl, { method: 'POST', headers, body });
      return { status: res.status, body: await res.text() };
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function isJson(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json';
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7) : undefined;
}

function parseArgs(req: IncomingMessage, raw: Buffer): Json {
  const type = req.headers['content-type'] ?? '';
  const text = raw.toString('utf8');
  if (type.includes('application/json')) return text ? (JSON.parse(text) as Json) : {};
  const out: Json = {};
  for (const [k, v] of new URLSearchParams(text)) {
    // The Web API client JSON-encodes objects and arrays (blocks, files, view) into form fields.
    out[k] = /^[[{]/.test(v) ? safeJson(v) : v;
  }
  return out;
}

function safeJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** The upload POST is multipart (the Web API client sends the bytes as a form file) or a raw body. */
async function extractUpload(req: IncomingMessage, raw: Buffer): Promise<string> {
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': type } }).formData();
    for (const [, value] of form) {
      return typeof value === 'string' ? value : await value.text();
    }
    return '';
  }
  return raw.toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
