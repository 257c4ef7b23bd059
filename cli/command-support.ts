/**
 * What the analysis commands (summarize, scan, digest) share: how a bad argument or an unreadable input
 * ends (usage on stderr and exit 2, or the path named and exit 1), and the options they all parse.
 */
import type { StageOptions } from '../compose/stages.ts';
import { loadStageSettings } from '../config/stage-settings.ts';
import { errorCode } from '../engine/errors.ts';
import { type ResolvedSource, resolveSource, type SourceOptionValues } from './source-options.ts';

export interface CommandErrors {
  /** Prints `cartographer <name>: <message>` and the usage; returns exit code 2. */
  usageError(message: string): number;
  /** The source for these options and paths, or the exit code to return (2 bad arguments, 1 unreadable input). */
  resolve(values: SourceOptionValues, paths: string[]): Promise<ResolvedSource | number>;
}

export function commandErrors(name: string, usage: string): CommandErrors {
  const usageError = (message: string): number => {
    process.stderr.write(`cartographer ${name}: ${message}\n\n${usage}\n`);
    return 2;
  };
  return {
    usageError,
    async resolve(values, paths) {
      try {
        return await resolveSource(values, paths);
      } catch (e) {
        const code = errorCode(e);
        if (code === 'usage' || code === 'config') return usageError((e as Error).message);
        if (code === 'input') {
          process.stderr.write(`cartographer ${name}: ${(e as Error).message}\n`);
          return 1;
        }
        throw e;
      }
    },
  };
}

/** `--format text|json`; the error message when it is neither. */
export function parseFormat(raw: string | undefined): 'text' | 'json' | { error: string } {
  const format = raw ?? 'text';
  return format === 'text' || format === 'json'
    ? format
    : { error: `--format must be text or json (got '${format}')` };
}

/** `--idle-gap MINUTES` (default 30); the error message when it is not a positive number. */
export function parseIdleGap(raw: string | undefined): number | { error: string } {
  if (raw === undefined) return 30;
  const minutes = Number(raw);
  return Number.isFinite(minutes) && minutes > 0
    ? minutes
    : { error: `--idle-gap must be a positive number of minutes (got '${raw}')` };
}

/** The stages' settings from the environment (allow-list file, `rulesDirs`), plus `scan --rules` folders. */
export function stageOptions(extraRuleDirs: readonly string[] = []): StageOptions {
  const settings = loadStageSettings(process.env);
  return { ...settings, ruleDirs: [...settings.ruleDirs, ...extraRuleDirs] };
}
