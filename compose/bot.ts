/**
 * Builds the Slack bot from one configuration: the composition (sources, stages, allow-list, queue, commands),
 * the stores (SQLite file, or one PostgreSQL database shared by replicas), then `createBot` with all of it.
 * `cartographer start` and the tests' Slack harness call this; nothing else calls `createBot`.
 */
import type { Logger } from 'pino';
import { openSchedulerState } from '../adapters/state/sqlite-scheduler-state.ts';
import { openTriageStore } from '../adapters/state/sqlite-triage-store.ts';
import type { TriageStore } from '../adapters/state/triage-store.ts';
import type { BotStore } from '../adapters/store/bot-store.ts';
import { openStores } from '../adapters/store/open-stores.ts';
import { sqliteWriteProbe } from '../adapters/store/sqlite-probe.ts';
import { type Bot, createBot } from '../bot/app.ts';
import type { SessionAnalyzer, SourceProvider } from '../bot/lookup/analyzer.ts';
import type { Clock } from '../bot/scheduler/clock.ts';
import { BotConfigError } from '../config/bot.ts';
import type { Settings } from '../config/settings.ts';
import { errorCode } from '../engine/errors.ts';
import { type Composition, compose } from './root.ts';

export interface ComposeBotOptions {
  logger?: Logger;
  /** Replace where records come from (tests wrap the real local source). */
  sources?: SourceProvider;
  analyzer?: SessionAnalyzer;
  store?: BotStore;
  triage?: TriageStore;
  storeProbe?: () => void | Promise<void>;
  openAccessExpected?: boolean;
  /** The scheduled scans' clock (tests, the playground's replay). */
  clock?: Clock;
}

export interface ComposedBot extends Bot {
  composition: Composition;
}

export function composeBot(settings: Settings, options: ComposeBotOptions = {}): ComposedBot {
  const config = settings.bot;
  const composition = compose(settings, options.sources ? { sources: options.sources } : {});
  // SQLite file by default; with CARTOGRAPHER_DATABASE_URL one PostgreSQL database shared by replicas.
  const stores = options.store
    ? undefined
    : openStores({
        dbFile: config.dbFile,
        ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
      });
  const triage = options.triage ?? stores?.triage ?? openTriageStore(config.dbFile);
  if (options.triage && stores) void stores.triage.close();
  const scheduler = settings.scheduler;
  const bot = createBot({
    config,
    ...(options.logger ? { logger: options.logger } : {}),
    sources: composition.sources,
    stages: composition.stages,
    allowlist: composition.allowlist,
    ...(options.analyzer ? { analyzer: options.analyzer } : {}),
    store: options.store ?? stores!.bot,
    triage,
    storeProbe: options.storeProbe ?? stores?.probe ?? sqliteWriteProbe(config.dbFile),
    ...(stores ? { storesReady: stores.ready } : {}),
    commands: composition.commands,
    ...(options.openAccessExpected ? { openAccessExpected: true } : {}),
    scheduler: {
      config: scheduler,
      state: stores?.scheduler ?? openSchedulerState(config.dbFile),
      ...(stores?.shared ? { shared: true } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      queue: () =>
        composition.queue().catch((err) => {
          // A missing or bad CARTOGRAPHER_SQS_* setting ends `cartographer start` like the bot's own settings.
          throw errorCode(err) === 'config' ? new BotConfigError((err as Error).message) : err;
        }),
    },
  });
  return Object.assign(bot, { composition });
}
