/**
 * The default analysis stages used by the CLI and the bot. Each stage module plugs itself in here,
 * one line each, so the pipeline itself never imports a concrete stage.
 */
import type { PipelineStages } from '../engine/stages.ts';

/** Builds the stages once (tables and rules are loaded here, not per event). */
export async function loadDefaultStages(): Promise<PipelineStages> {
  const stages: PipelineStages = {};
  stages.enricher = await (await import('../enrichment/index.ts')).createEnricher();
  stages.signalMapper = await (await import('../engine/signals/index.ts')).createSignalMapper({
    warnOnRuleErrors: true,
  });
  stages.detector = await (await import('../engine/detections/index.ts')).createDetector();
  return stages;
}
