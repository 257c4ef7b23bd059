/**
 * The triage store on SQLite: a case's lifecycle survives closing and reopening the file, a change
 * made from a stale version is refused (two analysts clicking at once lose nothing), every change
 * has its history line, and the queries behind App Home and the digest filter as they claim.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openTriageStore } from '../../../adapters/state/sqlite-triage-store.ts';
import type { AlertCase, TriageStore } from '../../../adapters/state/triage-store.ts';
import { transition } from '../../../bot/actions/case-transitions.ts';

const dirs: string[] = [];
const stores: TriageStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(file: string): TriageStore {
  const s = openTriageStore(file);
  stores.push(s);
  return s;
}

const base = (key: string, eventAt: number) => ({
  key,
  channel: 'C0SOCALERTS',
  ts: `1700000000.00000${key.length}`,
  ruleId: 'cartographer.security-group-open-to-world',
  title: 'Security group opened to the whole internet',
  severity: 'high',
  principal: 'arn:aws:iam::123456789012:user/alice',
  eventAt,
  lastAt: eventAt,
});

function step(c: AlertCase, command: Parameters<typeof transition>[1], by: string, at: number): AlertCase {
  const t = transition(c, command, by, at);
  if ('refused' in t) throw new Error(t.refused);
  return t.next;
}

describe('SQLite triage store', () => {
  it('keeps each case and its history across a close and reopen of the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-triage-'));
    dirs.push(dir);
    const file = join(dir, 'bot.db');
    const first = open(file);
    expect(await first.openCase(base('k1', 1000))).toBe(true);
    expect(await first.openCase(base('k1', 1000))).toBe(false);
    let c = (await first.getCase('k1'))!;
    expect(c).toMatchObject({ state: 'open', version: 1, lastAction: 'opened' });
    c = (await first.changeCase(step(c, { kind: 'acknowledge' }, 'U1', 2000), c.version))!;
    c = (await first.changeCase(step(c, { kind: 'assign', assignee: 'U2' }, 'U1', 3000), c.version))!;
    c = (await first.changeCase(step(c, { kind: 'resolve', outcome: 'benign' }, 'U2', 4000), c.version))!;
    await first.recordDigest({
      date: '2023-07-10',
      channel: 'C1',
      ts: '1.1',
      text: 'Digest 2023-07-10',
      postedAt: 5,
    });
    await first.close();

    const again = open(file);
    const stored = await again.getCase('k1');
    expect(stored).toMatchObject({
      state: 'resolved',
      outcome: 'benign',
      assignee: 'U2',
      acknowledgedBy: 'U1',
      acknowledgedAt: 2000,
      lastAction: 'resolved',
      lastBy: 'U2',
      lastAt: 4000,
      version: 4,
    });
    expect((await again.caseHistory('k1')).map((h) => [h.version, h.action, h.by, h.state])).toEqual([
      [1, 'opened', undefined, 'open'],
      [2, 'acknowledged', 'U1', 'acknowledged'],
      [3, 'assigned', 'U1', 'acknowledged'],
      [4, 'resolved', 'U2', 'resolved'],
    ]);
    const reopened = await again.changeCase(step(stored!, { kind: 'reopen' }, 'U1', 6000), stored!.version);
    expect(reopened).toMatchObject({ state: 'open', assignee: 'U2', version: 5, lastAction: 'reopened' });
    expect(reopened?.outcome).toBeUndefined();
    expect(reopened?.acknowledgedBy).toBeUndefined();
    expect(await again.latestDigest()).toMatchObject({ date: '2023-07-10', text: 'Digest 2023-07-10' });
  });

  it('refuses a change made from a stale version, so a second click cannot overwrite the first', async () => {
    const s = open(':memory:');
    await s.openCase(base('k2', 1000));
    const seen = (await s.getCase('k2'))!;
    const alice = await s.changeCase(
      step(seen, { kind: 'resolve', outcome: 'duplicate' }, 'UA', 2000),
      seen.version,
    );
    const bob = await s.changeCase(step(seen, { kind: 'acknowledge' }, 'UB', 2001), seen.version);
    expect(alice?.state).toBe('resolved');
    expect(bob).toBeUndefined();
    expect((await s.getCase('k2'))?.outcome).toBe('duplicate');
    expect(await s.caseHistory('k2')).toHaveLength(2);
    expect(await s.changeCase({ ...seen, key: 'missing' }, 1)).toBeUndefined();
  });

  it('lists cases by state, holder and finding time, newest first, up to the limit', async () => {
    const s = open(':memory:');
    for (let i = 0; i < 6; i++) await s.openCase(base(`c${i}`, 1000 * i));
    const c1 = (await s.getCase('c1'))!;
    await s.changeCase(step(c1, { kind: 'assign', assignee: 'UB' }, 'UA', 9000), 1);
    const c2 = (await s.getCase('c2'))!;
    await s.changeCase(step(c2, { kind: 'resolve', outcome: 'true-positive' }, 'UA', 9000), 1);
    const keys = async (q: Parameters<TriageStore['listCases']>[0]) =>
      (await s.listCases(q)).map((c) => c.key);
    expect(await keys({ states: ['open', 'acknowledged'], limit: 10 })).toEqual([
      'c5',
      'c4',
      'c3',
      'c1',
      'c0',
    ]);
    expect(await keys({ states: ['open', 'acknowledged'], assignee: 'UB', limit: 10 })).toEqual(['c1']);
    expect(await keys({ states: ['resolved'], limit: 10 })).toEqual(['c2']);
    expect(
      await keys({ states: ['open', 'acknowledged'], eventFrom: 1000, eventBefore: 4000, limit: 10 }),
    ).toEqual(['c3', 'c1']);
    expect(await keys({ states: ['open'], limit: 2 })).toEqual(['c5', 'c4']);
    expect(await keys({ states: [], limit: 2 })).toEqual([]);
  });

  it('says why a button does nothing instead of changing the case', () => {
    const c: AlertCase = { ...base('k', 1), state: 'open', lastAction: 'opened', version: 1 };
    expect(transition(c, { kind: 'reopen' }, 'U1', 2)).toEqual({ refused: 'this alert is not resolved' });
    const acked = step(c, { kind: 'acknowledge' }, 'U1', 2);
    expect(transition(acked, { kind: 'acknowledge' }, 'U2', 3)).toEqual({
      refused: 'already acknowledged by <@U1>',
    });
    const resolved = step(acked, { kind: 'resolve', outcome: 'follow-up' }, 'U1', 4);
    expect(transition(resolved, { kind: 'assign', assignee: 'U3' }, 'U1', 5)).toMatchObject({
      refused: expect.stringMatching(/reopen it first/),
    });
    expect(transition(resolved, { kind: 'resolve', outcome: 'benign' }, 'U1', 5)).toEqual({
      refused: 'already resolved as needs follow-up',
    });
  });
});
