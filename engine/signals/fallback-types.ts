/** What the page-level fallback and the programmatic summaries produce (rendered by index.ts). */
import type { EngineEvent } from '../model.ts';

export interface FallbackSignal {
  id: string;
  suppressed: boolean;
  name: string;
  summary: string;
  url?: string;
  service: string;
  members: EngineEvent[];
  details: Record<string, unknown>;
}
