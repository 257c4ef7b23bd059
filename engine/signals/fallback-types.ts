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

/** Every fallback signal is made here, fields in one order (one object shape for index.ts to read). */
export function fallbackSignal(
  id: string,
  name: string,
  summary: string,
  url: string | undefined,
  service: string,
  suppressed: boolean,
  members: EngineEvent[],
  details: Record<string, unknown>,
): FallbackSignal {
  return { id, suppressed, name, summary, url, service, members, details };
}
