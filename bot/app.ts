/**
 * The Slack app: Bolt with the fast-acknowledging HTTP receiver on `PORT` at `/slack/events` by default, Socket Mode
 * when SLACK_APP_TOKEN is set. Every command and click is acknowledged first (Slack's 3-second
 * window), then re-authorised, handled in the background and audited.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from 'pino';
import { metrics } from '../adapters/observability/metrics.ts';
import { newRequestId, type RequestKind, withRequest } from '../adapters/observability/request-context.ts';
import { openAllowListStore } from '../adapters/rules/allowlist-store.ts';
import { DEFAULT_RULES_ROOT } from '../adapters/rules/rule-files.ts';
import { openTriageStore } from '../adapters/state/sqlite-triage-store.ts';
import type { TriageStore } from '../adapters/state/triage-store.ts';
import type { BotStore } from '../adapters/store/bot-store.ts';
import { openStores } from '../adapters/store/open-stores.ts';
import { sqliteWriteProbe } from '../adapters/store/sqlite-probe.ts';
import { loadDefaultStages } from '../cli/stages.ts';
import type { PipelineStages } from '../engine/stages.ts';
import { createAccountNames } from './account-names.ts';
import {
  type BenignScope,
  type ClickContext,
  openBenignModal,
  openSession,
  showAllActions,
  showRawEvents,
  submitBenign,
  turnPage,
} from './actions/handlers.ts';
import { publishHome } from './actions/home.ts';
import {
  ACTION_ALL_ACTIONS,
  ACTION_MARK_BENIGN,
  ACTION_OPEN,
  ACTION_PAGE_NEXT,
  ACTION_PAGE_PREV,
  ACTION_SHOW_RAW,
  BENIGN_REASON_BLOCK,
  BENIGN_REASON_INPUT,
  BENIGN_SCOPE_BLOCK,
  BENIGN_SCOPE_INPUT,
  VIEW_MARK_BENIGN,
} from './actions/ids.ts';
import { StaleReference } from './actions/resolve.ts';
import { type AuditLog, createAuditLog, createLogger } from './audit.ts';
import { type Authorizer, createAuthorizer } from './authz.ts';
import { tokenize, UsageError } from './commands/parse.ts';
import { type CommandResult, commands, findCommand } from './commands/registry.ts';
import { type BotConfig, BotConfigError } from './config.ts';
import {
  createHealth,
  type Health,
  type HealthCheck,
  healthRoutes,
  schedulerCheck,
  throwingCheck,
} from './health.ts';
import { createPipelineAnalyzer, type SessionAnalyzer, type SourceProvider } from './lookup/analyzer.ts';
import { collectExamples } from './lookup/examples.ts';
import { createLimiter } from './lookup/limiter.ts';
import { meteredSources } from './lookup/metered-sources.ts';
import { runLookup } from './lookup/run-lookup.ts';
import { defaultSourceProvider } from './lookup/sources.ts';
import type { BenignModalMeta } from './messages/benign-modal.ts';
import type { SlackMessage } from './messages/limits.ts';
import { failureMessage, refusalMessage, usageMessage } from './messages/notices.ts';
import { startOpsServer } from './ops-server.ts';
import { createPoster, prepare, slackErrorCode } from './poster.ts';
import { dedupeRequests } from './receiver/dedupe.ts';
import { FastAckReceiver } from './receiver/fast-ack-receiver.ts';
import { socketModeReceiver } from './receiver/socket-mode.ts';
import { type AttachedScheduler, attachScheduler } from './scheduler/attach.ts';
import type { Clock } from './scheduler/clock.ts';
import { HEARTBEAT_EVERY_MS } from './scheduler/scheduler.ts';
import type { BotServices } from './services.ts';
import { instrumentedSlackFetch } from './slack-telemetry.ts';

export interface BotOptions {
  config: BotConfig;
  logger?: Logger;
  /** Replace where records come from (tests wrap the real local source); default: local files / AWS. */
  sources?: SourceProvider;
  analyzer?: SessionAnalyzer;
  store?: BotStore;
  triage?: TriageStore;
  /** Throws when the state store cannot be written (health check); default: the stores' own probe. */
  storeProbe?: () => void | Promise<void>;
  /**
   * Open access is the point of the local playground: say so at info there instead of warning
   * (a workspace without CARTOGRAPHER_ALLOWED_* still gets the warning).
   */
  openAccessExpected?: boolean;
  /** Scheduled scans: their settings (default process.env) and clock (tests). */
  scheduler?: { env?: NodeJS.ProcessEnv; clock?: Clock };
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

const COMMAND = '/cartographer';

export function createBot(options: BotOptions): Bot {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const sources = meteredSources(options.sources ?? defaultSourceProvider(config.localPaths));
  // One allow-list and one set of stages for commands and scheduled scans: "Mark benign" counts for both at once.
  const allowlist = openAllowListStore({
    globalFile: `${DEFAULT_RULES_ROOT}detections/allowlist.yaml`,
    userFile: config.allowlistFile,
  });
  let shared: Promise<PipelineStages> | undefined;
  const stages = () => {
    shared ??= loadDefaultStages({ allowlist }).catch((err) => {
      shared = undefined; // a broken rule file must not poison every later load
      throw err;
    });
    return shared;
  };
  const analyzer = options.analyzer ?? createPipelineAnalyzer({ sources, stages });
  // SQLite file by default; with CARTOGRAPHER_DATABASE_URL one PostgreSQL database shared by replicas.
  const stores = options.store
    ? undefined
    : openStores({
        dbFile: config.dbFile,
        ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      });
  const store = options.store ?? stores!.bot;
  const triage = options.triage ?? stores?.triage ?? openTriageStore(config.dbFile);
  if (options.triage && stores) void stores.triage.close();
  const audit = createAuditLog(logger);

  const clientOptions = {
    ...(config.slackApiUrl ? { slackApiUrl: config.slackApiUrl } : {}),
    // 429s are retried after Retry-After; other failures a few times with backoff, then surfaced.
    retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 30_000, randomize: true },
  };
  const socket = config.socketMode ? socketModeReceiver(config, boltLogger(logger)) : undefined;
  const health = createHealth([
    { name: 'slack', run: () => slackCheck.run() },
    throwingCheck(
      'store',
      'writable',
      options.storeProbe ?? stores?.probe ?? sqliteWriteProbe(config.dbFile),
    ),
    schedulerCheck(
      () => scheduled.scheduler.heartbeat(),
      () => scheduled.scheduler.clock.now(),
      HEARTBEAT_EVERY_MS,
    ),
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
  const slackCheck: HealthCheck = socket
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
    clientOptions: { ...clientOptions, fetch: instrumentedSlackFetch(logger) },
    logger: boltLogger(logger),
    deferInitialization: true,
  });
  const authz = createAuthorizer(config, app.client);
  if (authz.open) {
    const note = 'no CARTOGRAPHER_ALLOWED_* setting: everyone in the workspace may use the bot';
    if (options.openAccessExpected) logger.info(note);
    else logger.warn(note);
  }

  let examples: Promise<Awaited<ReturnType<BotServices['examples']>>> | undefined;
  const services: BotServices = {
    config,
    store,
    triage,
    poster: createPoster(app.client),
    accountNames: createAccountNames(config, logger),
    analyzer,
    allowlist,
    limiter: createLimiter(config.maxConcurrentLookups),
    audit,
    logger,
    examples: () => {
      examples ??= sources('local')
        .then(collectExamples)
        .catch(() => ({}));
      return examples;
    },
    lookup: (request, target) => runLookup(request, target, services),
  };

  // Work continues after ack(); tracked so shutdown can wait for it and failures are logged, never thrown.
  const inFlight = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    const p = work.catch((err) => logger.error({ err: errorSummary(err) }, 'background task failed'));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  // Retries, replays and double clicks reach the listeners once (across replicas: the claim is in the store).
  app.use(dedupeRequests((key, expiresAt) => store.claimOnce(key, expiresAt), logger));

  /** Runs a command's, click's or submission's work as one request (request-context.ts: one reqId in its logs). */
  const asRequest = <T>(kind: RequestKind, work: () => T): T =>
    withRequest({ id: newRequestId(kind), logger }, work);

  app.command(COMMAND, async ({ command, ack, respond }) => {
    await ack();
    asRequest('command', () => runCommand(command, respond));
  });

  function runCommand(
    command: { text?: string; user_id: string; channel_id: string; team_id: string },
    // biome-ignore lint/suspicious/noExplicitAny: Bolt's respond takes its own message union
    respond: (message: any) => Promise<unknown>,
  ): void {
    const started = Date.now();
    const name = commandLabel(command.text ?? '');
    const reply = async (m: SlackMessage) => {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        ...prepare(m, 'ephemeral reply'),
      });
    };
    track(
      handleCommand(command.text ?? '', command.user_id, command.channel_id, reply)
        // Whatever happens, the command is audited.
        .catch((err): CommandResult => ({ outcome: 'error', detail: errorSummary(err).message }))
        .then((result) => {
          metrics.commands.inc({ command: name, outcome: result.outcome });
          audit.record({
            who: command.user_id,
            team: command.team_id,
            where: command.channel_id,
            what: `${COMMAND} ${command.text ?? ''}`.trim(),
            outcome: result.outcome,
            durationMs: Date.now() - started,
            ...(result.detail ? { detail: result.detail } : {}),
          });
        }),
    );
  }

  async function handleCommand(
    text: string,
    userId: string,
    channelId: string,
    reply: (m: SlackMessage) => Promise<void>,
  ): Promise<CommandResult> {
    const decision = await authz.check(userId, channelId);
    if (!decision.allowed) {
      await reply(refusalMessage(decision.reason)).catch(() => {});
      return { outcome: 'denied', detail: decision.reason };
    }
    const [name = 'help', ...args] = tokenize(text);
    const spec = findCommand(name);
    try {
      if (!spec) {
        throw new UsageError(
          `unknown command '${name}'`,
          `${COMMAND} ${commands.map((c) => c.name).join('|')} …  (try ${COMMAND} help)`,
        );
      }
      return await spec.handle(args, { userId, channelId, respond: reply, services });
    } catch (err) {
      if (err instanceof UsageError) {
        await reply(usageMessage(err.message, err.usage)).catch((e) =>
          logger.warn({ err: errorSummary(e) }, 'could not send the usage message'),
        );
        return { outcome: 'bad-args', detail: err.message };
      }
      logger.error({ err: errorSummary(err), command: name }, 'command failed');
      await reply(
        failureMessage(
          'Something went wrong running that command',
          'Try again; the bot log has the details.',
        ),
      ).catch(() => {});
      return { outcome: 'error', detail: errorSummary(err).message };
    }
  }

  const clickHandler =
    (name: string, run: (ctx: ClickContext, body: ClickBody) => Promise<CommandResult>) =>
    // biome-ignore lint/suspicious/noExplicitAny: Bolt's action argument union is wider than we need
    async ({ ack, body, action, respond }: any) => {
      await ack();
      const started = Date.now();
      const b = body as ClickBody;
      const userId = b.user?.id ?? 'unknown';
      const channelId = b.channel?.id ?? b.container?.channel_id ?? '';
      // An ephemeral message is no thread parent (Slack sends no `message` for it): answer in its
      // thread if it was shown in one, else in the channel.
      const threadTs = b.container?.is_ephemeral
        ? (b.container.thread_ts ?? '')
        : (b.message?.thread_ts ?? b.container?.message_ts ?? b.message?.ts ?? '');
      const reply = async (m: SlackMessage) => {
        await respond({
          response_type: 'ephemeral',
          replace_original: false,
          ...prepare(m, 'ephemeral reply'),
        });
      };
      const work = asRequest('action', async (): Promise<CommandResult> => {
        const decision = await authz.check(userId, channelId);
        if (!decision.allowed) {
          await reply(refusalMessage(decision.reason)).catch(() => {});
          return { outcome: 'denied', detail: decision.reason };
        }
        try {
          return await run(clickContext(b, action, { userId, channelId, threadTs, svc: services, reply }), b);
        } catch (err) {
          if (err instanceof StaleReference) {
            await reply(failureMessage(err.message)).catch(() => {});
            return { outcome: 'error', detail: err.message };
          }
          logger.error({ err: errorSummary(err), action: name }, 'button failed');
          await reply(failureMessage(`"${name}" failed`, 'Try again; the bot log has the details.')).catch(
            () => {},
          );
          return { outcome: 'error', detail: errorSummary(err).message };
        }
      });
      const audited = work.then((result) => {
        metrics.commands.inc({ command: `button:${name}`, outcome: result.outcome });
        audit.record({
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
      else track(audited);
    };

  app.action(
    ACTION_SHOW_RAW,
    clickHandler('show raw events', (ctx) => showRawEvents(ctx)),
  );
  app.action(
    ACTION_ALL_ACTIONS,
    clickHandler('all actions', (ctx) => showAllActions(ctx)),
  );
  app.action(
    ACTION_OPEN,
    clickHandler('open session', (ctx) => openSession(ctx)),
  );
  for (const id of [ACTION_PAGE_NEXT, ACTION_PAGE_PREV]) {
    app.action(
      id,
      clickHandler('page', (ctx) => turnPage(ctx)),
    );
  }
  // App Home: the alerts I hold, the open ones, the latest digest (published when the tab opens).
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    asRequest('event', () => track(publishHome(event.user, services)));
  });
  app.action(
    ACTION_MARK_BENIGN,
    clickHandler('mark benign', (ctx, body) =>
      openBenignModal(ctx, body.trigger_id ?? '', (view) =>
        // biome-ignore lint/suspicious/noExplicitAny: the modal is built and limit-checked in messages/benign-modal.ts
        app.client.views.open({ trigger_id: body.trigger_id ?? '', view: view as any }),
      ),
    ),
  );

  app.view(VIEW_MARK_BENIGN, async ({ ack, body, view }) => {
    const started = Date.now();
    const userId = body.user.id;
    const values = view.state.values;
    const reason = (values[BENIGN_REASON_BLOCK]?.[BENIGN_REASON_INPUT]?.value ?? '').trim();
    const scope = (values[BENIGN_SCOPE_BLOCK]?.[BENIGN_SCOPE_INPUT]?.selected_option?.value ??
      'rule-principal') as BenignScope;
    let meta: BenignModalMeta | undefined;
    try {
      meta = JSON.parse(view.private_metadata) as BenignModalMeta;
    } catch {
      meta = undefined;
    }
    if (reason.length < 5) {
      await ack({
        response_action: 'errors',
        errors: { [BENIGN_REASON_BLOCK]: 'Say why, in at least 5 characters.' },
      });
      return;
    }
    await ack();
    const work = asRequest('view', async (): Promise<CommandResult> => {
      if (!meta) return { outcome: 'error', detail: 'modal without metadata' };
      const decision = await authz.check(userId, meta.channel);
      if (!decision.allowed) {
        await services.poster
          .post(meta.channel, refusalMessage(`<@${userId}>: ${decision.reason}`), meta.threadTs)
          .catch(() => {});
        return { outcome: 'denied', detail: decision.reason };
      }
      try {
        return await submitBenign(meta, reason, scope, userId, services);
      } catch (err) {
        logger.error({ err: errorSummary(err) }, 'mark benign failed');
        await services.poster
          .post(
            meta.channel,
            failureMessage('Could not record the benign mark', errorSummary(err).message),
            meta.threadTs,
          )
          .catch(() => {});
        return { outcome: 'error', detail: errorSummary(err).message };
      }
    });
    track(
      work.then((result) => {
        metrics.commands.inc({ command: 'modal:mark benign', outcome: result.outcome });
        audit.record({
          who: userId,
          team: body.team?.id,
          where: meta?.channel ?? '',
          what: `submit mark benign: ${reason}`,
          outcome: result.outcome,
          durationMs: Date.now() - started,
          ...(result.detail ? { detail: result.detail } : {}),
        });
      }),
    );
  });

  // Scheduled digest and alerts: the `digest` command, Open session / Snooze buttons, cron jobs.
  const scheduled: AttachedScheduler = attachScheduler({
    app,
    services,
    sources,
    stages,
    allowlist,
    click: clickHandler,
    ...(options.scheduler?.env ? { env: options.scheduler.env } : {}),
    ...(options.scheduler?.clock ? { clock: options.scheduler.clock } : {}),
    ...(stores ? { state: stores.scheduler, shared: stores.shared } : {}),
  });

  app.error(async (err) => {
    logger.error({ err: errorSummary(err) }, 'bolt error');
  });

  // Buttons stay valid for the retention period; older analyses are dropped once a day.
  const prune = async () => {
    try {
      const dropped = await store.prune(new Date(Date.now() - config.retentionDays * 86_400_000));
      if (dropped > 0) logger.info({ dropped, retentionDays: config.retentionDays }, 'pruned old analyses');
    } catch (err) {
      logger.warn({ err: errorSummary(err) }, 'pruning old analyses failed');
    }
  };
  let pruneTimer: NodeJS.Timeout | undefined;

  let stopped = false;
  let opsServer: Server | undefined;
  return {
    app,
    services,
    health,
    async start() {
      // Fail at start, with a clear message, when Slack rejects the token (not at the first command):
      // initialisation is deferred to here so Bolt's auth.test cannot reject unobserved.
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
      // Rule loading takes a few hundred ms of CPU: done before listening, no burst of commands meets it.
      // A broken rule file is reported here and again by each lookup (which retries the load).
      await analyzer
        .warm?.()
        .catch((err) =>
          logger.warn({ err: errorSummary(err) }, 'loading the rules failed; lookups will retry'),
        );
      await stores?.ready.catch((err) => {
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
        opsServer = await startOpsServer(routes, config.port, config.host);
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
      if (inFlight.size > 0) {
        await Promise.race([
          Promise.allSettled([...inFlight]),
          new Promise((r) => setTimeout(r, graceMs).unref()),
        ]);
      }
      await store.close();
      await triage.close();
    },
  };
}

interface ClickBody {
  user?: { id: string };
  team?: { id: string };
  channel?: { id: string };
  trigger_id?: string;
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string; is_ephemeral?: boolean };
  message?: { ts?: string; thread_ts?: string; text?: string; blocks?: Record<string, unknown>[] };
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

/** The metrics label of a slash command: its sub-command when known, else `unknown`. */
function commandLabel(text: string): string {
  const first = text.trim().split(/\s+/)[0] || 'help';
  return findCommand(first)?.name ?? 'unknown';
}

function errorSummary(err: unknown): { name?: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { message: String(err) };
}

/** Bolt logs through its own small interface; route it into pino. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level: LogLevel = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => child.debug(msg.map(String).join(' ')),
    info: (...msg: unknown[]) => child.info(msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export type { AuditLog, Authorizer };
