/**
 * The rows both bot stores keep (SQLite and PostgreSQL use the same columns), read back into the store's types in
 * one place.
 */
import type { BenignMark, ButtonRef } from './bot-store.ts';

export interface RefRow {
  id: string;
  action: string;
  session_id: string;
  event_ids: string;
  extra: string | null;
  created_at: string;
}

export function rowToRef(row: RefRow | undefined): ButtonRef | undefined {
  if (!row) return undefined;
  const ref: ButtonRef = {
    id: row.id,
    action: row.action,
    sessionId: row.session_id,
    eventIds: JSON.parse(row.event_ids),
    createdAt: row.created_at,
  };
  if (row.extra) ref.extra = JSON.parse(row.extra);
  return ref;
}

export function rowToBenign(r: Record<string, string | null>): BenignMark {
  const mark: BenignMark = {
    sessionId: r.session_id as string,
    reason: r.reason as string,
    by: r.by_user as string,
    at: r.at as string,
  };
  if (r.rule_id) mark.ruleId = r.rule_id;
  if (r.finding_id) mark.findingId = r.finding_id;
  if (r.principal) mark.principal = r.principal;
  if (r.ip) mark.ip = r.ip;
  return mark;
}
