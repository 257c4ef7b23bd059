/**
 * Sessions rebuilt from a store's identity buckets (engine/source.ts `IdentityBucket`), exactly as the sessionizer
 * would group the events themselves, without the events:
 *
 *   - each bucket's base key is sessionKeyOf() of a record holding only the bucket's identity fields, which are all
 *     the key reads (test/engine/sessions/buckets.test.ts checks this on real records);
 *   - buckets are shorter than the idle gap, so a gap longer than it can only fall between buckets: sorting a key's
 *     buckets by first event and splitting where the next starts more than the gap after everything before it ends
 *     reproduces the sessionizer's splits (`key`, `key#2`, …, numbered in time order);
 *   - the principal is the most complete one seen, first in time on ties, as SessionFacts keeps it.
 */
import type { Principal } from '../model.ts';
import type { CloudTrailRecord } from '../record.ts';
import type { IdentityBucket } from '../source.ts';
import { principalOf, principalScore, sessionKeyOf } from './session-key.ts';

export interface BucketSession {
  key: string;
  baseKey: string;
  principal: Principal;
  start: number;
  end: number;
  eventCount: number;
  errorCount: number;
  buckets: IdentityBucket[];
}

/** The file name identity-less records are keyed by (`input:<file>`); a store has no files. */
export const GROUPED_INPUT = 'athena';

/** The record sessionKeyOf() and principalOf() see for a bucket (only the fields they read). */
export function bucketRecord(b: IdentityBucket): CloudTrailRecord {
  const id = b.identity;
  const login = id.consoleLoginAt;
  const record: Record<string, unknown> = {
    eventTime: login ?? new Date(b.first).toISOString(),
    eventSource: login ? 'signin.amazonaws.com' : 'bucket',
    eventName: login ? 'ConsoleLogin' : 'bucket',
  };
  if (login) record.responseElements = { ConsoleLogin: 'Success' };
  if (id.userIdentity) record.userIdentity = id.userIdentity;
  if (id.sessionCredentialFromConsole !== undefined)
    record.sessionCredentialFromConsole = id.sessionCredentialFromConsole;
  if (id.serviceSource) record.sourceIPAddress = 'AWS Internal';
  return record as CloudTrailRecord;
}

export function sessionsFromBuckets(buckets: readonly IdentityBucket[], idleGapMs: number): BucketSession[] {
  const byBase = new Map<string, IdentityBucket[]>();
  for (const b of buckets) {
    const base = sessionKeyOf(bucketRecord(b), GROUPED_INPUT);
    const list = byBase.get(base);
    if (list) list.push(b);
    else byBase.set(base, [b]);
  }
  const out: BucketSession[] = [];
  for (const [base, list] of byBase) {
    list.sort((a, b) => a.first - b.first || a.last - b.last);
    let current: BucketSession | undefined;
    let n = 0;
    let bestScore = -1;
    for (const b of list) {
      if (!current || b.first - current.end > idleGapMs) {
        n++;
        current = {
          key: n === 1 ? base : `${base}#${n}`,
          baseKey: base,
          principal: {},
          start: b.first,
          end: b.last,
          eventCount: 0,
          errorCount: 0,
          buckets: [],
        };
        bestScore = -1;
        out.push(current);
      }
      current.end = Math.max(current.end, b.last);
      current.eventCount += b.events;
      current.errorCount += b.errors;
      current.buckets.push(b);
      const u = b.identity.userIdentity;
      if (u) {
        const score = principalScore(u);
        if (score > bestScore) {
          bestScore = score;
          current.principal = principalOf(u);
        }
      }
    }
  }
  return out.sort((a, b) => a.start - b.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The session (of `sessions`, by base key) an event at `time` with base key `base` belongs to. */
export function sessionIndex(
  sessions: readonly BucketSession[],
): (base: string, time: number) => BucketSession | undefined {
  const byBase = new Map<string, BucketSession[]>();
  for (const s of sessions) {
    const list = byBase.get(s.baseKey);
    if (list) list.push(s);
    else byBase.set(s.baseKey, [s]);
  }
  return (base, time) => byBase.get(base)?.find((s) => time >= s.start && time <= s.end);
}
