/**
 * The composition root: the one place that builds Cartographer's parts from one validated configuration
 * (config/settings.ts): where records come from (sources), the analysis stages with their rules and tables, the
 * live allow-list, the SQS alert queue, and the bot's sub-command registry. The CLI, the bot and the scheduler take
 * what is built here; nothing below this folder reads or writes `process.env`.
 *
 * `reload()` takes rule and allow-list changes: the allow-list file is read again at once and the next analysis
 * loads the rules afresh (the running one keeps the stages it started with).
 */
import { type AllowListStore, openAllowListStore } from '../adapters/rules/allowlist-store.ts';
import { DEFAULT_RULES_ROOT } from '../adapters/rules/rule-files.ts';
import { createCommandRegistry } from '../bot/commands/registry.ts';
import type { SourceProvider } from '../bot/lookup/analyzer.ts';
import type { QueueParts } from '../bot/queue/attach-queue.ts';
import type { CommandRegistry } from '../bot/types.ts';
import type { Settings } from '../config/settings.ts';
import type { PipelineStages } from '../engine/stages.ts';
import { createQueueSource } from './queue.ts';
import { createSourceProvider } from './source-provider.ts';
import { loadStageFactory } from './stages.ts';

export interface Composition {
  settings: Settings;
  /** The one allow-list every detector reads ("Mark benign" writes here). */
  allowlist: AllowListStore;
  sources: SourceProvider;
  /** The shared stages (loaded once, again after reload(); a failed load is retried by the next call). */
  stages(): Promise<PipelineStages>;
  /** Rules and tables loaded once; each call of the result gives stages with fresh per-analysis state. */
  stageFactory(): Promise<() => PipelineStages>;
  /** The SQS queue of S3 notifications, its S3 reader and per-object stages (CARTOGRAPHER_SQS_*). */
  queue(): Promise<QueueParts>;
  /** The bot's sub-commands (the scheduler adds `digest` when it is attached). */
  commands: CommandRegistry;
  /** Rule files or the allow-list changed: read them again. */
  reload(): void;
}

export interface ComposeOptions {
  /** Replace where records come from (tests wrap the real local source). */
  sources?: SourceProvider;
}

export function compose(settings: Settings, options: ComposeOptions = {}): Composition {
  const allowlist = openAllowListStore({
    globalFile: `${DEFAULT_RULES_ROOT}detections/allowlist.yaml`,
    userFile: settings.bot.allowlistFile,
  });
  // The `rulesDirs` setting, read at each (re)load of the rules.
  const ruleDirs = () => settings.stages().ruleDirs;
  let factory: Promise<() => PipelineStages> | undefined;
  let shared: Promise<PipelineStages> | undefined;
  const stageFactory = () => {
    factory ??= loadStageFactory({ allowlist, ruleDirs: ruleDirs() }).catch((err) => {
      factory = undefined; // a broken rule file must not poison every later load
      throw err;
    });
    return factory;
  };
  const stages = () => {
    shared ??= stageFactory()
      .then((make) => make())
      .catch((err) => {
        shared = undefined;
        throw err;
      });
    return shared;
  };
  return {
    settings,
    allowlist,
    sources: options.sources ?? createSourceProvider(settings.bot.localPaths, settings.sources),
    stages,
    stageFactory,
    async queue() {
      const source = await createQueueSource(settings.sources());
      // Fresh stages per object: rules and tables loaded once, state per analysis.
      return { source, factory: await loadStageFactory({ allowlist, ruleDirs: ruleDirs() }) };
    },
    commands: createCommandRegistry(),
    reload() {
      allowlist.reload();
      factory = undefined;
      shared = undefined;
    },
  };
}
