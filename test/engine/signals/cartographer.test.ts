/**
 * Match rate against Cloud Console Cartographer's recorded sessions (test/fixtures/cartographer).
 * An expected signal matches when we produce a signal with the same id AND exactly the same member
 * event ids (AllEventIdArr). Per-session and total rates are printed and written to
 * test-artifacts/signal-match.json together with every miss and its closest candidate.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../../engine/model.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { TEST_DIR } from '../../support/paths.ts';
import { readEvents, readExpected, session } from '../../support/signals-support.ts';

/** 1,036 of 1,040 today; the four misses are same-second ties Cartographer decided by random eventIDs. */
const FLOOR = 0.995;

const root = join(TEST_DIR, 'fixtures/cartographer/Tests/Sessions');

interface Miss {
  session: string;
  id: string;
  firstEventTime: string;
  expectedEvents: number;
  cause: string;
  /** Matched when same-second events are taken in Cartographer's eventID order. */
  tieBreakOnly: boolean;
}

function explain(
  expectedId: string,
  ids: Set<string>,
  produced: Signal[],
  eventSignal: Map<string, Signal>,
): string {
  const sameId = produced.filter((s) => s.id === expectedId);
  // Which of our signals hold the expected events?
  const holders = new Map<string, number>();
  let unmapped = 0;
  for (const e of ids) {
    const s = eventSignal.get(e);
    if (!s) unmapped++;
    else holders.set(`${s.id}@${s.start}`, (holders.get(`${s.id}@${s.start}`) ?? 0) + 1);
  }
  const parts = [...holders.entries()].map(([k, n]) => `${n} in ${k}`);
  if (unmapped) parts.push(`${unmapped} unmapped`);
  const best = sameId
    .map((s) => {
      const mine = new Set(s.eventIds);
      const missing = [...ids].filter((e) => !mine.has(e)).length;
      const extra = s.eventIds.filter((e) => !ids.has(e)).length;
      return { s, missing, extra };
    })
    .sort((a, b) => a.missing + a.extra - (b.missing + b.extra))[0];
  const idPart = best
    ? `same id at ${best.s.start} differs (−${best.missing} +${best.extra})`
    : 'no signal with this id';
  return `${idPart}; expected events: ${parts.join(', ')}`;
}

describe('signal engine vs Cloud Console Cartographer sessions', async () => {
  const mapper = await createSignalMapper({ fallback: false });
  // Cartographer visits same-second events by eventID (random); replaying that order tells which misses
  // come only from the tie-break, not from a wrong rule.
  const byEventId = await createSignalMapper({
    fallback: false,
    sameSecondOrder: (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  });
  const sessions = readdirSync(root).sort();

  it('matches the expected signals (id and exact member events)', () => {
    const rows: { session: string; expected: number; matched: number; rate: number; produced: number }[] = [];
    const misses: Miss[] = [];
    let expectedTotal = 0;
    let matchedTotal = 0;
    for (const name of sessions) {
      const events = readEvents(join(root, name, 'InputEvents.json'));
      const expected = readExpected(join(root, name, 'ExpectedSignals.json'));
      const { signals } = mapper.map(session, events);
      const key = (s: Signal) => `${s.id}|${[...s.eventIds].sort().join(',')}`;
      const produced = new Set(signals.map(key));
      const producedById = new Set(byEventId.map(session, events).signals.map(key));
      const eventSignal = new Map<string, Signal>();
      for (const s of signals) for (const e of s.eventIds) eventSignal.set(e, s);
      let matched = 0;
      for (const x of expected) {
        const ids = x.AllEventIdArr.split(',').filter(Boolean);
        const want = `${x.Label}|${[...ids].sort().join(',')}`;
        if (produced.has(want)) matched++;
        else {
          misses.push({
            session: name.slice(0, 8),
            id: x.Label,
            firstEventTime: x.FirstEventTime,
            expectedEvents: ids.length,
            cause: explain(x.Label, new Set(ids), signals, eventSignal),
            tieBreakOnly: producedById.has(want),
          });
        }
      }
      expectedTotal += expected.length;
      matchedTotal += matched;
      rows.push({
        session: name.slice(0, 8),
        expected: expected.length,
        matched,
        rate: expected.length ? matched / expected.length : 1,
        produced: signals.length,
      });
    }
    const total = expectedTotal ? matchedTotal / expectedTotal : 1;
    console.log(
      [
        'session   expected matched  rate    produced',
        ...rows.map(
          (r) =>
            `${r.session}  ${String(r.expected).padStart(8)} ${String(r.matched).padStart(7)}  ${(r.rate * 100).toFixed(1).padStart(5)}%  ${String(r.produced).padStart(8)}`,
        ),
        `TOTAL     ${String(expectedTotal).padStart(8)} ${String(matchedTotal).padStart(7)}  ${(total * 100).toFixed(2).padStart(5)}%`,
        `misses: ${misses.length}, of which ${misses.filter((m) => m.tieBreakOnly).length} only from the same-second tie-break (details: test-artifacts/signal-match.json)`,
      ].join('\n'),
    );
    mkdirSync(join(TEST_DIR, '../test-artifacts'), { recursive: true });
    writeFileSync(
      join(TEST_DIR, '../test-artifacts/signal-match.json'),
      `${JSON.stringify({ total: { expected: expectedTotal, matched: matchedTotal, rate: total }, sessions: rows, misses }, null, 2)}\n`,
    );
    expect(sessions.length).toBe(23);
    expect(total).toBeGreaterThanOrEqual(FLOOR);
    // Every miss must be explained: today each one is a same-second tie-break where Cartographer's random
    // eventID order and our specificity rule pick different pages. A miss from a rule shows up here.
    expect(
      misses
        .filter((m) => !m.tieBreakOnly)
        .map((m) => `${m.session} ${m.id} ${m.firstEventTime}: ${m.cause}`),
    ).toEqual([]);
  });

  it('gives the same actions whatever the input order and whatever the event IDs are', () => {
    // Shuffle every session and give every event a new random ID: same actions, same member events.
    let seed = 11;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (const name of sessions) {
      const events = readEvents(join(root, name, 'InputEvents.json'));
      const key = (s: Signal, id: (x: string) => string) => `${s.id}|${s.eventIds.map(id).sort().join(',')}`;
      const want = mapper.map(session, events).signals.map((s) => key(s, (x) => x));
      const original = new Map<string, string>();
      const renamed = events.map((e) => {
        const id = `${next().toString(36)}-${e.seq}`;
        original.set(id, e.id);
        return { ...e, id, record: { ...e.record, eventID: id } };
      });
      for (let i = renamed.length - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [renamed[i], renamed[j]] = [renamed[j]!, renamed[i]!];
      }
      const got = mapper.map(session, renamed).signals;
      expect(got.map((s) => key(s, (x) => original.get(x) ?? x)).sort(), name).toEqual([...want].sort());
    }
  });
});
