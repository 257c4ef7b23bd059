import type { EngineEvent } from '../model.ts';

/**
 * Whether a call changes something (so Slack can stress it): the enrichment's access level when the
 * event was enriched, else CloudTrail's own readOnly flag. Unknown counts as not a change.
 */
export function changesSomething(e: EngineEvent): boolean {
  const level = e.enrichment?.accessLevel;
  if (level) return level !== 'List' && level !== 'Read';
  return e.record.readOnly === false;
}
