/**
 * How the app meets Slack: the fast-acknowledging HTTP receiver on `/slack/events` (with the health and metrics
 * routes), or Socket Mode when SLACK_APP_TOKEN is set (health and metrics then on their own listener); the Bolt
 * App on top, with the instrumented, retrying Web API client; and the health checks of both.
 */
import { App } from '@slack/bolt';
import type { Logger } from 'pino';
import type { BotConfig } from '../config/bot.ts';
import {
  createHealth,
  type Health,
  type HealthCheck,
  healthRoutes,
  schedulerCheck,
  throwingCheck,
} from './health.ts';
import { boltLogger } from './listeners/context.ts';
import { FastAckReceiver } from './receiver/fast-ack-receiver.ts';
import { socketModeReceiver } from './receiver/socket-mode.ts';
import { HEARTBEAT_EVERY_MS } from './scheduler/scheduler.ts';
import { instrumentedSlackFetch } from './slack-telemetry.ts';

export interface Transport {
  app: App;
  health: Health;
  routes: ReturnType<typeof healthRoutes>;
}

export interface TransportChecks {
  /** Throws when the state store cannot be written. */
  storeProbe: () => void | Promise<void>;
  /** The scheduler's last heartbeat and clock (read late: the scheduler is attached after the app exists). */
  heartbeat: Parameters<typeof schedulerCheck>[0];
  now: () => number;
}

export function createTransport(config: BotConfig, logger: Logger, checks: TransportChecks): Transport {
  const socket = config.socketMode ? socketModeReceiver(config, boltLogger(logger)) : undefined;
  let slackCheck: HealthCheck | undefined;
  const health = createHealth([
    { name: 'slack', run: () => slackCheck!.run() },
    throwingCheck('store', 'writable', checks.storeProbe),
    schedulerCheck(checks.heartbeat, checks.now, HEARTBEAT_EVERY_MS),
  ]);
  const routes = healthRoutes(health);
  // Answers slash commands and clicks before Bolt runs (p99 acknowledgement under a burst);
  // serves /slack/events and the health and metrics routes.
  const http = socket
    ? undefined
    : new FastAckReceiver({
        signingSecret: config.signingSecret!,
        path: '/slack/events',
        logger: boltLogger(logger),
        routes,
      });
  slackCheck = socket
    ? socket.check
    : {
        name: 'slack',
        run: () =>
          http!.listening
            ? { ok: true, detail: 'HTTP receiver listening' }
            : { ok: false, detail: 'HTTP receiver not listening' },
      };
  const app = new App({
    token: config.botToken,
    receiver: socket?.receiver ?? http!,
    clientOptions: {
      ...(config.slackApiUrl ? { slackApiUrl: config.slackApiUrl } : {}),
      // 429s are retried after Retry-After; other failures a few times with backoff, then surfaced.
      retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
      fetch: instrumentedSlackFetch(logger),
    },
    logger: boltLogger(logger),
    deferInitialization: true,
  });
  return { app, health, routes };
}
