/**
 * The stages scans and digests run: the defaults (cli/stages.ts), with the detector added here if
 * the defaults do not carry one yet — a scan without detections would alert on nothing.
 */

import { loadDefaultStages } from '../../cli/stages.ts';
import type { PipelineStages } from '../../engine/stages.ts';

export async function loadScanStages(): Promise<PipelineStages> {
  const stages = await loadDefaultStages();
  if (!stages.detector) {
    const { createDetector } = await import('../../engine/detections/index.ts');
    stages.detector = await createDetector();
  }
  return stages;
}
