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
 * Parts: routes.ts (HTTP routes and the playground API), slack-api.ts (Web API emulation), to-bot.ts (signed
 * requests to the bot), state.ts (the workspace), context.ts (what they share).
 *
 * The bot cannot tell it from Slack: it is pointed here with SLACK_API_URL and receives signed
 * requests on its normal `/slack/events` endpoint. The end-to-end tests and the playground page
 * both drive it through this module.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SendResult, StandinContext, StandinOptions } from './context.ts';
import { route } from './routes.ts';
import { type ApiCall, StandinState } from './state.ts';
import { clickButton, openHome, sendSlashCommand, submitView } from './to-bot.ts';

export type { SendResult, StandinOptions } from './context.ts';

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

export async function startSlackStandin(options: StandinOptions): Promise<SlackStandin> {
  const ctx: StandinContext = {
    state: new StandinState(),
    options,
    base: '',
    botUrl: options.botUrl,
    rateLimits: new Map(),
    responseUrls: new Map(),
    triggers: new Map(),
  };
  let hosts = new Set<string>();
  const allowedHost = (host: string | undefined) => host !== undefined && hosts.has(host.toLowerCase());
  const server: Server = createServer((req, res) => {
    route(ctx, allowedHost, req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: false, error: 'internal_error', detail: String(err) }));
    });
  });
  await new Promise<void>((resolve) =>
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
  );
  const address = server.address() as AddressInfo;
  ctx.base = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  hosts = new Set(
    [
      new URL(ctx.base).host,
      `127.0.0.1:${address.port}`,
      `localhost:${address.port}`,
      `[::1]:${address.port}`,
    ].map((h) => h.toLowerCase()),
  );
  return {
    url: ctx.base,
    apiUrl: `${ctx.base}/api/`,
    state: ctx.state,
    calls: ctx.state.calls,
    setBotUrl(url) {
      ctx.botUrl = url;
    },
    sendSlashCommand: (text, opts) => sendSlashCommand(ctx, text, opts),
    clickButton: (messageTs, actionId, value, opts) => clickButton(ctx, messageTs, actionId, value, opts),
    openHome: (opts) => openHome(ctx, opts),
    submitView: (viewId, values, opts) => submitView(ctx, viewId, values, opts),
    rateLimit(method, count = 1, retryAfterSeconds = 1) {
      ctx.rateLimits.set(method, { count, retryAfter: retryAfterSeconds });
    },
    async sendRaw(body, headers) {
      if (!ctx.botUrl) throw new Error('the stand-in has no bot URL yet (setBotUrl)');
      const res = await fetch(ctx.botUrl, { method: 'POST', headers, body });
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
