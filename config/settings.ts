/**
 * The one configuration object the composition root builds from: the bot's settings, the scheduled scans'
 * settings, and the CloudTrail source settings (read when a source or the SQS queue is built, so a bot that only
 * reads local files never fails on an AWS setting). Each part is validated with zod in its own module here
 * (bot.ts, scheduler.ts, config.ts); a wrong value raises an error naming the setting to fix.
 */
import { type BotConfig, BotConfigError, loadBotConfig } from './bot.ts';
import { type CartographerConfig, loadConfig } from './config.ts';
import { loadSchedulerConfig, type SchedulerConfig, SchedulerConfigError } from './scheduler.ts';
import { loadStageSettings, type StageSettings } from './stage-settings.ts';

export interface Settings {
  bot: BotConfig;
  scheduler: SchedulerConfig;
  /** Sources, regions, accounts, Athena, SQS: loaded and validated on each call (errors are ConfigErrors). */
  sources(): CartographerConfig;
  /** The stages' settings: user allow-list file and extra rule folders (config/stage-settings.ts). */
  stages(): StageSettings;
}

/** Everything from one environment (and the CARTOGRAPHER_CONFIG file it names). */
export function loadSettings(env: NodeJS.ProcessEnv): Settings {
  return {
    bot: loadBotConfig(env),
    scheduler: loadSchedulerSettings(env),
    sources: () => loadConfig(env),
    stages: () => loadStageSettings(env),
  };
}

/** The scheduled scans' settings; a bad one is reported like the bot's own (`cartographer start` exits 2). */
export function loadSchedulerSettings(env: NodeJS.ProcessEnv): SchedulerConfig {
  try {
    const config = loadSchedulerConfig(env);
    if (config.alertSource === 'sqs' && !config.alertChannel) {
      throw new SchedulerConfigError(
        'CARTOGRAPHER_ALERT_SOURCE=sqs needs CARTOGRAPHER_ALERT_CHANNEL (where alerts go)',
      );
    }
    return config;
  } catch (err) {
    if (err instanceof SchedulerConfigError) throw new BotConfigError(err.message);
    throw err;
  }
}
