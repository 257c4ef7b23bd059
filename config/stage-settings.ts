/**
 * The settings the analysis stages need, for one-shot commands: the user allow-list file
 * (`CARTOGRAPHER_ALLOWLIST`) and the extra rule folders (`rulesDirs`: CARTOGRAPHER_RULES_DIRS or the config
 * file). The configuration is only loaded when one of its variables is set, so a summary of local files never
 * fails on an unrelated AWS setting.
 */
import { loadConfig } from './config.ts';

export interface StageSettings {
  allowlistFile?: string;
  ruleDirs: string[];
}

export function loadStageSettings(env: NodeJS.ProcessEnv): StageSettings {
  const ruleDirs = env.CARTOGRAPHER_RULES_DIRS || env.CARTOGRAPHER_CONFIG ? loadConfig(env).rulesDirs : [];
  return { ...(env.CARTOGRAPHER_ALLOWLIST ? { allowlistFile: env.CARTOGRAPHER_ALLOWLIST } : {}), ruleDirs };
}
