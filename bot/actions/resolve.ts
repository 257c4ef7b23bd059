/** Resolves a button value (an opaque id) to the stored session it points at. */
import type { ButtonRef, StoredSession } from '../../adapters/store/bot-store.ts';
import { CartographerError } from '../../engine/errors.ts';
import type { SessionSummary } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { BotServices } from '../types.ts';

export interface Resolved {
  ref: ButtonRef;
  session: StoredSession;
  summary: SessionSummary;
  records: Map<string, CloudTrailRecord>;
}

export class StaleReference extends CartographerError {
  readonly code = 'stale';
  override name = 'StaleReference';
}

export async function resolveRef(
  value: string | undefined,
  expected: string,
  svc: BotServices,
  channel?: string,
): Promise<Resolved> {
  if (!value || !/^[A-Za-z0-9_-]{6,64}$/.test(value))
    throw new StaleReference('this button carries no valid reference');
  const ref = await svc.store.getRef(value);
  if (!ref || ref.action !== expected) {
    throw new StaleReference(
      'this button is no longer known (its analysis was pruned); run the command again',
    );
  }
  const session = await svc.store.getSession(ref.sessionId);
  if (!session) throw new StaleReference('the analysis behind this button expired; run the command again');
  // Raw records must not leak into another channel through a copied or replayed button.
  if (channel && session.query.channel && session.query.channel !== channel) {
    throw new StaleReference('this button belongs to a message in another channel');
  }
  const records = new Map<string, CloudTrailRecord>();
  for (const r of session.records) records.set(r.id, r.record as CloudTrailRecord);
  return { ref, session, summary: session.summary as SessionSummary, records };
}
