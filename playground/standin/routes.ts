/**
 * The stand-in's HTTP routes: the playground page and its JSON API (`GET /api/state`, `GET /api/events`,
 * `POST /api/command|click|submit|home`, `GET /files/<id>`), the upload POST, response_url endpoints and the Web
 * API (slack-api.ts). Local only: requests whose Host header is not this server's loopback address get 403, and
 * the playground POSTs need `content-type: application/json`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isWebPath, serveWeb } from '../web/serve.ts';
import type { Json, SendResult, StandinContext } from './context.ts';
import { extractUpload, isJson, json, readBody } from './http.ts';
import { webApi } from './slack-api.ts';
import type { StandinEphemeral, StandinMessage } from './state.ts';
import { clickButton, openHome, sendSlashCommand, submitView } from './to-bot.ts';

const PLAYGROUND_POSTS = new Set(['/api/command', '/api/click', '/api/submit', '/api/home']);

export async function route(
  ctx: StandinContext,
  allowedHost: (host: string | undefined) => boolean,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { state } = ctx;
  if (!allowedHost(req.headers.host)) {
    return json(res, 403, {
      ok: false,
      error: 'forbidden_host',
      detail: `the stand-in answers only requests to itself on loopback (${ctx.base}, localhost or [::1] on the same port); Host header was ${req.headers.host ?? 'missing'}`,
    });
  }
  const url = new URL(req.url ?? '/', ctx.base);
  const path = url.pathname;
  if (req.method === 'GET' && isWebPath(path)) return serveWeb(path, res);
  if (req.method === 'GET' && path === '/api/state') return json(res, 200, state.snapshot());
  if (req.method === 'GET' && path === '/api/events') return eventStream(ctx, req, res);
  if (req.method === 'GET' && path.startsWith('/files/')) {
    const file = state.files.get(path.slice('/files/'.length));
    if (!file || file.content === undefined) return json(res, 404, { ok: false, error: 'file_not_found' });
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(file.content);
    return;
  }
  if (req.method !== 'POST') return json(res, 405, { ok: false, error: 'method_not_allowed' });
  const raw = await readBody(req);
  if (PLAYGROUND_POSTS.has(path)) return playgroundPost(ctx, path, req, raw, res);
  if (path.startsWith('/upload/')) return upload(ctx, path.slice('/upload/'.length), req, raw, res);
  if (path.startsWith('/response/')) return responseUrl(ctx, path.slice('/response/'.length), raw, res);
  if (path.startsWith('/api/')) return webApi(ctx, path.slice('/api/'.length), req, raw, res);
  return json(res, 404, { ok: false, error: 'not_found' });
}

/** The playground page's actions: a slash command, a click, a modal submission, opening App Home. */
async function playgroundPost(
  ctx: StandinContext,
  path: string,
  req: IncomingMessage,
  raw: Buffer,
  res: ServerResponse,
): Promise<void> {
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
  const user = typeof body.user === 'string' ? { user: body.user } : {};
  let result: SendResult;
  if (path === '/api/command') {
    result = await sendSlashCommand(ctx, String(body.text ?? ''), {
      ...user,
      ...(typeof body.channel === 'string' ? { channel: body.channel } : {}),
    });
  } else if (path === '/api/click') {
    result = await clickButton(
      ctx,
      String(body.messageTs ?? ''),
      String(body.actionId ?? ''),
      typeof body.value === 'string' ? body.value : undefined,
      { ...user, ...(typeof body.selected === 'string' ? { selected: body.selected } : {}) },
    );
  } else if (path === '/api/home') {
    result = await openHome(ctx, user);
  } else {
    result = await submitView(
      ctx,
      String(body.viewId ?? ''),
      (body.values ?? {}) as Record<string, Record<string, string>>,
      user,
    );
  }
  return json(res, 200, result);
}

function upload(
  ctx: StandinContext,
  id: string,
  req: IncomingMessage,
  raw: Buffer,
  res: ServerResponse,
): Promise<void> {
  const file = ctx.state.files.get(id);
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

function responseUrl(ctx: StandinContext, id: string, raw: Buffer, res: ServerResponse): void {
  const { state } = ctx;
  const target = ctx.responseUrls.get(id);
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

function eventStream(ctx: StandinContext, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.write(': connected\n\n');
  const send = (event: unknown) => res.write(`data: ${JSON.stringify(event)}\n\n`);
  ctx.state.on('event', send);
  req.on('close', () => ctx.state.off('event', send));
}
