/**
 * Socket Mode: Bolt's SocketModeReceiver, plus what the health check needs to know about its WebSocket. The
 * connection counts as up from Slack's `hello` until the client reports it lost (it then reconnects by itself).
 */
import { type Logger, SocketModeReceiver } from '@slack/bolt';
import type { BotConfig } from '../../config/bot.ts';
import type { HealthCheck } from '../health.ts';

export function socketModeReceiver(
  config: BotConfig,
  logger: Logger,
): { receiver: SocketModeReceiver; check: HealthCheck } {
  const receiver = new SocketModeReceiver({
    appToken: config.appToken!,
    logger,
    // apps.connections.open goes to the same Web API as every other call (SLACK_API_URL).
    ...(config.slackApiUrl
      ? { installerOptions: { clientOptions: { slackApiUrl: config.slackApiUrl } } }
      : {}),
  });
  let state = 'not connected yet';
  for (const s of ['connecting', 'connected', 'reconnecting', 'disconnecting', 'disconnected']) {
    receiver.client.on(s, () => {
      state = s;
    });
  }
  const check: HealthCheck = {
    name: 'slack',
    run() {
      const open = receiver.client.websocket?.isActive() ?? false;
      if (state === 'connected' && open) return { ok: true, detail: 'Socket Mode connected' };
      return { ok: false, detail: `Socket Mode ${state === 'connected' ? 'socket closed' : state}` };
    },
  };
  return { receiver, check };
}
