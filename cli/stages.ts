/**
 * The default analysis stages used by the CLI and the bot. Each stage module plugs itself in here,
 * one line each, so the pipeline itself never imports a concrete stage.
 */
import type { AllowListStore } from '../adapters/rules/allowlist-store.ts';
import type { PipelineStages } from '../engine/stages.ts';

export interface StageOptions {
  /** The live allow-list shared by every consumer (the bot passes its one store). */
  allowlist?: AllowListStore;
  /** Extra rule folders (`scan --rules DIR`); the `rulesDirs` setting is added to them. */
  ruleDirs?: readonly string[];
}

/** Builds the stages once (tables and rules are loaded here, not per event). */
export async function loadDefaultStages(options: StageOptions = {}): Promise<PipelineStages> {
  return (await loadStageFactory(options))();
}

/**
 * Tables and rules loaded once; each call of the result gives stages with fresh per-analysis state (the
 * enricher's credential lineage, the detector's cross-session thresholds), so an analysis depends on its own
 * input only: the SQS consumer analyses each object this way, whatever a replica analysed before.
 */
export async function loadStageFactory(options: StageOptions = {}): Promise<() => PipelineStages> {
  const enrichers = await (await import('../enrichment/index.ts')).createEnricherFactory();
  const signalMapper = await (await import('../engine/signals/index.ts')).createSignalMapper({
    warnOnRuleErrors: true,
  });
  const { createDetectorFactory } = await import('../adapters/rules/detection-rules.ts');
  const allowlistFile = process.env.CARTOGRAPHER_ALLOWLIST;
  const detectors = await createDetectorFactory({
    ...(options.allowlist ? { allowlist: options.allowlist } : allowlistFile ? { allowlistFile } : {}),
    extraRuleDirs: [...(await configuredRuleDirs()), ...(options.ruleDirs ?? [])],
  });
  return () => ({ enricher: enrichers(), signalMapper, detector: detectors() });
}

/** The `rulesDirs` setting (CARTOGRAPHER_RULES_DIRS or the config file); read only when one of them is set. */
async function configuredRuleDirs(): Promise<string[]> {
  if (!process.env.CARTOGRAPHER_RULES_DIRS && !process.env.CARTOGRAPHER_CONFIG) return [];
  const { loadConfig } = await import('../config/config.ts');
  return loadConfig(process.env).rulesDirs;
}
