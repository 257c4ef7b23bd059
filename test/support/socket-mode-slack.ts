/**
 * Just enough of Slack for a bot in Socket Mode, on 127.0.0.1: the Web API answers auth.test and
 * apps.connections.open (with this server's WebSocket URL), and the WebSocket greets each connection with Slack's
 * `hello`. Tests can drop every connection and hold new ones back, to see what the bot reports meanwhile.
 */
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface SocketModeSlack {
  apiUrl: string;
  /** WebSocket connections opened so far. */
  readonly connections: number;
  /** Closes every open WebSocket (as a Slack-side restart or network cut would). */
  drop(): void;
  /** While held, new WebSocket connections wait unanswered; `release` lets them through. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

const API_ANSWERS: Record<string, (wsUrl: string) => Record<string, unknown>> = {
  'auth.test': () => ({
    ok: true,
    team_id: 'T0TEST',
    user_id: 'U0BOT',
    bot_id: 'B0BOT',
    user: 'cartographer',
  }),
  'apps.connections.open': (wsUrl) => ({ ok: true, url: wsUrl }),
};

export async function startSocketModeSlack(): Promise<SocketModeSlack> {
  const wss = new WebSocketServer({ noServer: true });
  const open = new Set<WebSocket>();
  let held: (() => void)[] | undefined;
  let connections = 0;
  const server = createServer((req, res) => {
    const method = /^\/api\/([\w.]+)/.exec(req.url ?? '')?.[1] ?? '';
    req.resume();
    req.on('end', () => {
      const answer = API_ANSWERS[method]?.(`ws://127.0.0.1:${port}/link/?ticket=t${connections + 1}`) ?? {
        ok: false,
        error: 'unknown_method',
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  const accept = (req: Parameters<typeof wss.handleUpgrade>[0], socket: Socket, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      connections++;
      open.add(ws);
      ws.on('close', () => open.delete(ws));
      ws.send(
        JSON.stringify({
          type: 'hello',
          num_connections: 1,
          debug_info: { host: 'socket-mode-test', approximate_connection_time: 3600 },
          connection_info: { app_id: 'A0TEST' },
        }),
      );
    });
  };
  server.on('upgrade', (req, socket, head) => {
    if (held) held.push(() => accept(req, socket as Socket, head));
    else accept(req, socket as Socket, head);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    get connections() {
      return connections;
    },
    drop() {
      for (const ws of open) ws.terminate();
    },
    hold() {
      held ??= [];
    },
    release() {
      const waiting = held ?? [];
      held = undefined;
      for (const go of waiting) go();
    },
    async close() {
      for (const ws of open) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
