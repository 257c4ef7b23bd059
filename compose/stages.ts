/**
 * The analysis stages, built once from tables and rules (enrichment, signals, detections with their allow-list).
 * Only the composition root and the CLI build them; everyone else is handed what is built here.
 */
import type { AllowListStore } from '../adapters/rules/allowlist-store.ts';
import type { PipelineStages } from '../engine/stages.ts';

export interface StageOptions {
  /** The live allow-list shared by every consumer (the bot passes its one store). */
  allowlist?: AllowListStore;
  /** Without a live store: the user allow-list file read once (the `CARTOGRAPHER_ALLOWLIST` setting). */
  allowlistFile?: string;
  /** Extra rule folders: `scan --rules DIR` and the `rulesDirs` setting. */
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
  const { allowlist, allowlistFile } = options;
  const detectors = await createDetectorFactory({
    ...(allowlist ? { allowlist } : allowlistFile ? { allowlistFile } : {}),
    extraRuleDirs: [...(options.ruleDirs ?? [])],
  });
  return () => ({ enricher: enrichers(), signalMapper, detector: detectors() });
}
