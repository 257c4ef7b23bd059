/**
 * The Slack app: Bolt with the fast-acknowledging HTTP receiver on `PORT` at `/slack/events` by default, Socket Mode
 * when SLACK_APP_TOKEN is set. Every command and click is acknowledged first (Slack's 3-second window), then
 * re-authorised, handled in the background and audited.
 *
 * The bot builds nothing it does not own: sources, stages, the allow-list, stores and the scheduler's settings
 * come from the composition root (compose/bot.ts), which is the only caller of `createBot`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '@slack/bolt';
import type { Logger } from 'pino';
import type { AllowListStore } from '../adapters/rules/allowlist-store.ts';
import type { SchedulerState } from '../adapters/state/scheduler-state.ts';
import type { TriageStore } from '../adapters/state/triage-store.ts';
import type { BotStore } from '../adapters/store/bot-store.ts';
import { type BotConfig, BotConfigError } from '../config/bot.ts';
import type { SchedulerConfig } from '../config/scheduler.ts';
import type { PipelineStages } from '../engine/stages.ts';
import { createAccountNames } from './account-names.ts';
import { type AuditLog, createAuditLog, createLogger } from './audit.ts';
import { type Authorizer, createAuthorizer } from './authz.ts';
import { createCommandRegistry } from './commands/registry.ts';
import type { Health } from './health.ts';
import { registerBenignModal } from './listeners/benign-modal.ts';
import { createClickHandler, registerClickActions } from './listeners/clicks.ts';
import { createRequestTracker, errorSummary, type ListenerContext } from './listeners/context.ts';
import { registerSlashCommand } from './listeners/slash-command.ts';
import { createPipelineAnalyzer, type SessionAnalyzer, type SourceProvider } from './lookup/analyzer.ts';
import { collectExamples } from './lookup/examples.ts';
import { createLimiter } from './lookup/limiter.ts';
import { meteredSources } from './lookup/metered-sources.ts';
import { runLookup } from './lookup/run-lookup.ts';
import { startOpsServer } from './ops-server.ts';
import { createPoster, slackErrorCode } from './poster.ts';
import type { QueueParts } from './queue/attach-queue.ts';
import { dedupeRequests } from './receiver/dedupe.ts';
import { type AttachedScheduler, attachScheduler } from './scheduler/attach.ts';
import type { Clock } from './scheduler/clock.ts';
import { createTransport, type Transport } from './transport.ts';
import type { BotServices, CommandRegistry } from './types.ts';

/** What the composition root hands the bot (compose/bot.ts builds it from one configuration). */
export interface BotOptions {
  config: BotConfig;
  logger?: Logger;
  /** Where records come from, by source name (tests wrap the real local source). */
  sources: SourceProvider;
  /** The app's one set of stages, shared by commands and scheduled scans. */
  stages: () => Promise<PipelineStages>;
  /** The one live allow-list every detector of this app reads ("Mark benign" writes here). */
  allowlist: AllowListStore;
  analyzer?: SessionAnalyzer;
  store: BotStore;
  triage: TriageStore;
  /** Throws when the state store cannot be written (health check). */
  storeProbe: () => void | Promise<void>;
  /** Settles when the stores are usable (a database connection), rejects when they are not. */
  storesReady?: Promise<unknown>;
  /** The app's sub-commands (default: the built-in ones); the scheduler adds `digest`. */
  commands?: CommandRegistry;
  /**
   * Open access is the point of the local playground: say so at info there instead of warning
   * (a workspace without CARTOGRAPHER_ALLOWED_* still gets the warning).
   */
  openAccessExpected?: boolean;
  /** Scheduled scans and the sqs alert source: settings, state and clock. */
  scheduler: {
    config: SchedulerConfig;
    state: SchedulerState;
    /** Replicas share the state's database. */
    shared?: boolean;
    clock?: Clock;
    /** The SQS queue and per-object stages (only with CARTOGRAPHER_ALERT_SOURCE=sqs). */
    queue?: () => Promise<QueueParts>;
  };
}

export interface Bot {
  app: App;
  services: BotServices;
  /** What /healthz, /readyz and Docker's HEALTHCHECK report. */
  health: Health;
  /** Starts listening; resolves with the bound port (HTTP: Slack's and the health routes; Socket Mode: health). */
  start(): Promise<{ port?: number }>;
  /** Stops accepting requests, lets running lookups finish (up to `graceMs`), closes the store. */
  stop(graceMs?: number): Promise<void>;
}

export function createBot(options: BotOptions): Bot {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const sources = meteredSources(options.sources);
  const analyzer = options.analyzer ?? createPipelineAnalyzer({ sources, stages: options.stages });
  let scheduled: AttachedScheduler | undefined;
  const transport = createTransport(config, logger, {
    storeProbe: options.storeProbe,
    heartbeat: () => scheduled!.scheduler.heartbeat(),
    now: () => scheduled!.scheduler.clock.now(),
  });
  const { app } = transport;
  const authz = createAuthorizer(config, app.client);
  if (authz.open) {
    const note = 'no CARTOGRAPHER_ALLOWED_* setting: everyone in the workspace may use the bot';
    if (options.openAccessExpected) logger.info(note);
    else logger.warn(note);
  }
  const services = createServices(options, { app, logger, analyzer, sources });
  const lc: ListenerContext = {
    services,
    authz,
    audit: services.audit,
    logger,
    commands: options.commands ?? createCommandRegistry(),
    requests: createRequestTracker(logger),
  };
  // Retries, replays and double clicks reach the listeners once (across replicas: the claim is in the store).
  app.use(dedupeRequests((key, expiresAt) => options.store.claimOnce(key, expiresAt), logger));
  registerSlashCommand(app, lc);
  const click = createClickHandler(lc);
  registerClickActions(app, lc, click);
  registerBenignModal(app, lc);
  // Scheduled digest and alerts: the `digest` command, Open session / Snooze buttons, cron jobs.
  scheduled = attachScheduler({
    app,
    services,
    commands: lc.commands,
    sources,
    stages: options.stages,
    click,
    ...options.scheduler,
  });
  app.error(async (err) => {
    logger.error({ err: errorSummary(err) }, 'bolt error');
  });
  return { app, services, health: transport.health, ...lifecycle(options, transport, lc, scheduled) };
}

function createServices(
  options: BotOptions,
  parts: { app: App; logger: Logger; analyzer: SessionAnalyzer; sources: SourceProvider },
): BotServices {
  const { config } = options;
  const { logger, sources } = parts;
  let examples: Promise<Awaited<ReturnType<BotServices['examples']>>> | undefined;
  const services: BotServices = {
    config,
    store: options.store,
    triage: options.triage,
    poster: createPoster(parts.app.client),
    accountNames: createAccountNames(config, logger),
    analyzer: parts.analyzer,
    allowlist: options.allowlist,
    limiter: createLimiter(config.maxConcurrentLookups),
    audit: createAuditLog(logger),
    logger,
    examples: () => {
      examples ??= sources('local')
        .then(collectExamples)
        .catch(() => ({}));
      return examples;
    },
    lookup: (request, target) => runLookup(request, target, services),
  };
  return services;
}

/** start() and stop(): Slack's token checked, rules warmed, stores ready, scheduler and listeners started. */
function lifecycle(
  options: BotOptions,
  transport: Transport,
  lc: ListenerContext,
  scheduled: AttachedScheduler,
): Pick<Bot, 'start' | 'stop'> {
  const { config } = options;
  const { app, health } = transport;
  const { logger, services } = lc;
  // Buttons stay valid for the retention period; older analyses are dropped once a day.
  const prune = async () => {
    try {
      const dropped = await options.store.prune(new Date(Date.now() - config.retentionDays * 86_400_000));
      if (dropped > 0) logger.info({ dropped, retentionDays: config.retentionDays }, 'pruned old analyses');
    } catch (err) {
      logger.warn({ err: errorSummary(err) }, 'pruning old analyses failed');
    }
  };
  let pruneTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let opsServer: Server | undefined;
  return {
    async start() {
      await initialise(app, config);
      // Rule loading takes a few hundred ms of CPU: done before listening, no burst of commands meets it.
      // A broken rule file is reported here and again by each lookup (which retries the load).
      await services.analyzer
        .warm?.()
        .catch((err) =>
          logger.warn({ err: errorSummary(err) }, 'loading the rules failed; lookups will retry'),
        );
      await options.storesReady?.catch((err) => {
        throw new BotConfigError(
          `CARTOGRAPHER_DATABASE_URL: cannot use the database (${errorSummary(err).message})`,
        );
      });
      await scheduled.start();
      void prune();
      pruneTimer = setInterval(prune, 86_400_000).unref();
      if (config.socketMode) {
        await app.start();
        logger.info('connected to Slack in Socket Mode');
        opsServer = await startOpsServer(transport.routes, config.port, config.host);
        const port = (opsServer.address() as AddressInfo).port;
        logger.info({ port, host: config.host }, 'serving /healthz, /readyz and /metrics');
        health.setReady(true);
        return { port };
      }
      const server = (await app.start({
        port: config.port,
        host: config.host,
      } as never)) as unknown as Server;
      const port = (server.address() as AddressInfo).port;
      logger.info({ port, host: config.host, path: '/slack/events' }, 'listening for Slack requests');
      health.setReady(true);
      return { port };
    },
    async stop(graceMs = 10_000) {
      if (stopped) return;
      stopped = true;
      health.setReady(false);
      if (opsServer) await new Promise((r) => opsServer!.close(r));
      await scheduled
        .stop()
        .catch((err) => logger.warn({ err: errorSummary(err) }, 'stopping the scheduler failed'));
      if (pruneTimer) clearInterval(pruneTimer);
      await app.stop().catch(() => {});
      const { inFlight } = lc.requests;
      if (inFlight.size > 0) {
        await Promise.race([
          Promise.allSettled([...inFlight]),
          new Promise((r) => setTimeout(r, graceMs).unref()),
        ]);
      }
      await options.store.close();
      await options.triage.close();
    },
  };
}

/**
 * Fails at start, with a clear message, when Slack rejects the token (not at the first command): initialisation
 * is deferred to here so Bolt's auth.test cannot reject unobserved.
 */
async function initialise(app: App, config: BotConfig): Promise<void> {
  try {
    await app.init();
  } catch (err) {
    const code = slackErrorCode(err);
    throw new BotConfigError(
      code
        ? `SLACK_BOT_TOKEN was not accepted by Slack (${code})`
        : `could not reach Slack at ${config.slackApiUrl ?? 'https://slack.com/api/'} (check SLACK_API_URL and the network): ${errorSummary(err).message}`,
    );
  }
}

export type { AuditLog, Authorizer };
