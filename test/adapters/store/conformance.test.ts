/**
 * One conformance suite for both store back-ends: the embedded SQLite file and a real PostgreSQL server
 * (Debian's postgresql, started by test/support/postgres.ts; without it this file FAILS, it does not skip).
 * Every BotStore and SchedulerState method is exercised with the same expectations, plus what replicas
 * rely on: two independent openings of one database racing for the same ledger keys and the same lease.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStores, type Stores } from '../../../adapters/store/open-stores.ts';
import { emptyFacts } from '../../../engine/digest/facts.ts';
import { startPostgres, type TestPostgres } from '../../support/postgres.ts';

let server: TestPostgres | undefined;
let serverError: unknown;
let databases = 0;

beforeAll(async () => {
  try {
    server = await startPostgres();
  } catch (err) {
    serverError = err;
  }
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

interface Backend {
  name: string;
  /** A fresh, empty database; the returned function opens it (again and again, like another process). */
  fresh(): Promise<() => Stores>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    async fresh() {
      const file = join(mkdtempSync(join(tmpdir(), 'cartographer-conformance-')), 'nested', 'bot.db');
      return () => openStores({ dbFile: file });
    },
  },
  {
    name: 'PostgreSQL',
    async fresh() {
      if (!server) throw serverError;
      const url = await server.createDatabase(`conformance_${++databases}`);
      return () => openStores({ dbFile: '', databaseUrl: url });
    },
  },
];

async function closeAll(s: Stores): Promise<void> {
  await s.bot.close();
  await s.scheduler.close();
  await s.triage.close();
}

const aCase = (key: string, eventAt: number) => ({
  key,
  channel: 'C1',
  ts: `${eventAt}.000100`,
  ruleId: 'rule-a',
  title: 'Trail deleted',
  severity: 'high',
  principal: 'alice',
  eventAt,
  lastAt: eventAt,
});

const alertRow = (key: string, createdAt = 1_000) => ({
  key,
  ruleId: 'rule-a',
  principal: 'arn:aws:iam::111122223333:user/alice',
  resource: 'bucketName=logs',
  severity: 'high',
  channel: 'C1',
  threadKey: `thread-${key}`,
  eventAt: 500,
  createdAt,
});

describe.each(backends)('$name stores', (backend) => {
  it('bot store: sessions, button references and benign marks survive a reopen; old analyses are pruned', async () => {
    const open = await backend.fresh();
    const stores = open();
    await stores.ready;
    const store = stores.bot;
    const record = {
      eventID: 'e1',
      eventName: 'AssumeRole',
      responseElements: { credentials: { accessKeyId: 'ASIA1' } },
    };
    await store.saveSession({
      id: 'sess1',
      query: { kind: 'session', value: 'AKIA1', source: 'local' },
      summary: { key: 'AKIA1', findings: [] },
      records: [{ id: 'e1', record }],
      createdAt: '2026-11-20T00:00:00.000Z',
    });
    await store.saveSession({
      id: 'sess2',
      query: { kind: 'ip', value: '192.0.2.1', source: 'lookup', since: '2026-11-21T00:00:00.000Z' },
      summary: { key: 'k2' },
      records: [],
      createdAt: '2026-11-22T00:00:00.000Z',
    });
    await store.saveRef({
      id: 'r1',
      action: 'raw',
      sessionId: 'sess1',
      eventIds: ['e1'],
      createdAt: '2026-11-20T00:00:00.000Z',
    });
    await store.saveRef({
      id: 'r2',
      action: 'benign',
      sessionId: 'sess2',
      eventIds: [],
      extra: { findingId: 'f1' },
      createdAt: '2026-11-22T00:00:00.000Z',
    });
    // Saving again replaces (a re-posted analysis keeps its id).
    await store.saveRef({
      id: 'r2',
      action: 'benign',
      sessionId: 'sess2',
      eventIds: ['e9'],
      extra: { findingId: 'f1' },
      createdAt: '2026-11-22T00:00:00.000Z',
    });
    await store.recordBenign({
      sessionId: 'sess2',
      ruleId: 'rule-a',
      reason: 'red team',
      by: 'U1',
      at: '2026-11-22T01:00:00Z',
    });
    await store.recordBenign({
      sessionId: 'sess2',
      principal: 'bob',
      ip: '192.0.2.7',
      reason: 'vpn',
      by: 'U2',
      at: '2026-11-22T02:00:00Z',
    });
    await closeAll(stores);

    const again = open();
    const reopened = again.bot;
    expect((await reopened.getSession('sess1'))?.records[0]?.record).toEqual(record);
    expect(await reopened.getRef('r1')).toEqual({
      id: 'r1',
      action: 'raw',
      sessionId: 'sess1',
      eventIds: ['e1'],
      createdAt: '2026-11-20T00:00:00.000Z',
    });
    expect(await reopened.getRef('r2')).toMatchObject({ eventIds: ['e9'], extra: { findingId: 'f1' } });
    expect(await reopened.listBenign()).toEqual([
      { sessionId: 'sess2', ruleId: 'rule-a', reason: 'red team', by: 'U1', at: '2026-11-22T01:00:00Z' },
      {
        sessionId: 'sess2',
        principal: 'bob',
        ip: '192.0.2.7',
        reason: 'vpn',
        by: 'U2',
        at: '2026-11-22T02:00:00Z',
      },
    ]);
    expect(await reopened.getRef('missing')).toBeUndefined();
    expect(await reopened.getSession('missing')).toBeUndefined();
    expect(await reopened.prune(new Date('2026-11-21T00:00:00Z'))).toBe(1);
    expect(await reopened.getSession('sess1')).toBeUndefined();
    expect(await reopened.getRef('r1')).toBeUndefined();
    expect((await reopened.getSession('sess2'))?.query.since).toBe('2026-11-21T00:00:00.000Z');
    await closeAll(again);
  });

  it('scheduler state: watermarks, the alert ledger, threads, snoozes, digests, baseline and pruning', async () => {
    const open = await backend.fresh();
    const stores = open();
    const s = stores.scheduler;
    expect(await s.getWatermark('local/*/*')).toBeUndefined();
    await s.setWatermark('local/*/*', 1_700_000_000_123);
    await s.setWatermark('local/*/*', 1_700_000_000_456);
    expect(await s.getWatermark('local/*/*')).toBe(1_700_000_000_456);

    expect(await s.beginAlert({ ...alertRow('k1'), state: 'pending' })).toBe(true);
    expect(await s.beginAlert({ ...alertRow('k1'), state: 'pending' })).toBe(false);
    expect(await s.beginAlert({ ...alertRow('k2', 2_000), threadTs: '111.000', state: 'pending' })).toBe(
      true,
    );
    expect(await s.beginAlert({ ...alertRow('k3'), state: 'snoozed' })).toBe(true);
    expect((await s.pendingAlerts()).map((r) => r.key)).toEqual(['k1', 'k2']);
    await s.markAlertPosted('k1', '123.456');
    expect(await s.getAlert('k1')).toEqual({ ...alertRow('k1'), state: 'posted', ts: '123.456' });
    expect(await s.getAlert('k2')).toEqual({
      ...alertRow('k2', 2_000),
      threadTs: '111.000',
      state: 'pending',
    });
    await s.dropAlert('k2');
    expect(await s.getAlert('k2')).toBeUndefined();
    expect((await s.pendingAlerts()).map((r) => r.key)).toEqual([]);

    // The takeover of a pending row is a compare-and-delete on its creation time.
    expect(await s.beginAlert({ ...alertRow('k4', 4_000), state: 'pending' })).toBe(true);
    expect(await s.dropPendingAlert('k4', 3_999)).toBe(false);
    expect(await s.dropPendingAlert('k1', 1_000)).toBe(false); // posted: not pending any more
    expect(await s.dropPendingAlert('k4', 4_000)).toBe(true);
    expect(await s.dropPendingAlert('k4', 4_000)).toBe(false);

    expect(await s.getThread('t')).toBeUndefined();
    await s.touchThread('t', { channel: 'C1', ts: '1.000', lastAt: 10 });
    await s.touchThread('t', { channel: 'C1', ts: '1.000', lastAt: 20 });
    expect(await s.getThread('t')).toEqual({ channel: 'C1', ts: '1.000', lastAt: 20 });

    await s.snooze('rule-a', 'alice', 5_000, 'U1');
    expect(await s.snoozedUntil('rule-a', 'alice', 4_999)).toBe(5_000);
    expect(await s.snoozedUntil('rule-a', 'alice', 5_000)).toBeUndefined();
    expect(await s.snoozedUntil('rule-a', 'bob', 0)).toBeUndefined();
    await s.snooze('rule-a', 'alice', 9_000, 'U2');
    expect(await s.snoozedUntil('rule-a', 'alice', 5_000)).toBe(9_000);

    expect(await s.getDigest('2023-07-10')).toBeUndefined();
    await s.beginDigest('2023-07-10', 'C2', 77);
    expect(await s.getDigest('2023-07-10')).toEqual({
      date: '2023-07-10',
      channel: 'C2',
      state: 'pending',
      createdAt: 77,
    });
    await s.markDigestPosted('2023-07-10', '9.9');
    expect(await s.getDigest('2023-07-10')).toMatchObject({ state: 'posted', ts: '9.9' });
    await s.dropDigest('2023-07-10');
    expect(await s.getDigest('2023-07-10')).toBeUndefined();

    const facts = emptyFacts();
    facts.principals.add('alice').add('bob');
    facts.regions.add('eu-west-1');
    await s.addBaseline('2023-07-09', facts);
    await s.addBaseline('2023-07-09', facts); // idempotent
    const other = emptyFacts();
    other.principals.add('carol');
    await s.addBaseline('2023-07-10', other);
    await s.addBaseline('2023-07-11', emptyFacts());
    const base = await s.baseline('2023-07-01', '2023-07-11');
    expect(base.days).toBe(2);
    expect([...base.facts.principals].sort()).toEqual(['alice', 'bob', 'carol']);
    expect([...base.facts.regions]).toEqual(['eu-west-1']);
    expect((await s.baseline('2023-07-10', '2023-07-11')).days).toBe(1);

    await s.prune({ ledgerBefore: 1_500, threadsBefore: 15, snoozesBefore: 10_000 });
    expect(await s.getAlert('k1')).toBeUndefined(); // settled and old
    expect(await s.getAlert('k3')).toBeUndefined();
    expect(await s.getThread('t')).toEqual({ channel: 'C1', ts: '1.000', lastAt: 20 });
    expect(await s.snoozedUntil('rule-a', 'alice', 0)).toBeUndefined();
    await closeAll(stores);

    const again = open();
    expect(await again.scheduler.getWatermark('local/*/*')).toBe(1_700_000_000_456);
    await closeAll(again);
  });

  it('claims: true once per key until it expires, then claimable again; prune drops only expired ones', async () => {
    const open = await backend.fresh();
    const stores = open();
    const store = stores.bot;
    const soon = new Date(Date.now() + 60_000);
    expect(await store.claimOnce('k1', soon)).toBe(true);
    expect(await store.claimOnce('k1', soon)).toBe(false);
    expect(await store.claimOnce('k2', soon)).toBe(true);
    expect(await store.claimOnce('old', new Date(Date.now() - 1))).toBe(true);
    expect(await store.claimOnce('old', soon)).toBe(true); // the earlier claim had expired
    expect(await store.claimOnce('old', soon)).toBe(false);
    await store.prune(new Date(0));
    expect(await store.claimOnce('k1', soon)).toBe(false);
    await closeAll(stores);
  });

  it('triage: cases open once, change only from their version, list by state/holder/time, keep history and the digest headline', async () => {
    const open = await backend.fresh();
    const stores = open();
    const t = stores.triage;
    expect(await t.openCase(aCase('a1', 1_000))).toBe(true);
    expect(await t.openCase(aCase('a1', 1_000))).toBe(false);
    expect(await t.openCase(aCase('a2', 2_000))).toBe(true);
    expect(await t.openCase(aCase('a3', 3_000))).toBe(true);
    const a1 = (await t.getCase('a1'))!;
    expect(a1).toMatchObject({ state: 'open', lastAction: 'opened', version: 1, eventAt: 1_000 });
    const acked = await t.changeCase(
      {
        ...a1,
        state: 'acknowledged',
        acknowledgedBy: 'U1',
        acknowledgedAt: 5_000,
        assignee: 'U1',
        lastAction: 'acknowledged',
        lastBy: 'U1',
        lastAt: 5_000,
      },
      1,
    );
    expect(acked).toMatchObject({ state: 'acknowledged', assignee: 'U1', acknowledgedAt: 5_000, version: 2 });
    // A change made from a stale version loses.
    expect(
      await t.changeCase(
        { ...a1, state: 'resolved', outcome: 'benign', lastAction: 'resolved', lastAt: 6_000 },
        1,
      ),
    ).toBeUndefined();
    const resolved = await t.changeCase(
      {
        ...acked!,
        state: 'resolved',
        outcome: 'benign',
        lastAction: 'resolved',
        lastBy: 'U2',
        lastAt: 7_000,
      },
      2,
    );
    expect(resolved).toMatchObject({ state: 'resolved', outcome: 'benign', version: 3, lastBy: 'U2' });
    expect(await t.changeCase({ ...a1, key: 'missing' }, 1)).toBeUndefined();
    expect((await t.listCases({ states: ['open'], limit: 10 })).map((c) => c.key)).toEqual(['a3', 'a2']);
    expect((await t.listCases({ states: ['open'], limit: 1 })).map((c) => c.key)).toEqual(['a3']);
    expect(
      (
        await t.listCases({ states: ['open', 'resolved'], eventFrom: 1_000, eventBefore: 3_000, limit: 10 })
      ).map((c) => c.key),
    ).toEqual(['a2', 'a1']);
    expect(
      (await t.listCases({ states: ['resolved'], assignee: 'U1', limit: 10 })).map((c) => c.key),
    ).toEqual(['a1']);
    expect((await t.listCases({ states: [], limit: 10 })).map((c) => c.key)).toEqual([]);
    expect((await t.caseHistory('a1')).map((h) => [h.version, h.action, h.by, h.state, h.outcome])).toEqual([
      [1, 'opened', undefined, 'open', undefined],
      [2, 'acknowledged', 'U1', 'acknowledged', undefined],
      [3, 'resolved', 'U2', 'resolved', 'benign'],
    ]);
    expect(await t.latestDigest()).toBeUndefined();
    await t.recordDigest({
      date: '2023-07-10',
      channel: 'C2',
      ts: '1.1',
      text: 'Digest 2023-07-10',
      postedAt: 10,
    });
    await t.recordDigest({
      date: '2023-07-11',
      channel: 'C2',
      ts: '2.2',
      text: 'Digest 2023-07-11',
      postedAt: 20,
    });
    expect(await t.latestDigest()).toEqual({
      date: '2023-07-11',
      channel: 'C2',
      ts: '2.2',
      text: 'Digest 2023-07-11',
      postedAt: 20,
    });
    await closeAll(stores);
    const again = open();
    expect((await again.triage.getCase('a1'))?.version).toBe(3);
    await closeAll(again);
  });

  it('leases: one holder at a time, renewable, released, and free again once expired', async () => {
    const open = await backend.fresh();
    const a = open();
    const b = open();
    expect(await a.scheduler.acquireLease('digest', 'replica-a', 60_000)).toBe(true);
    expect(await b.scheduler.acquireLease('digest', 'replica-b', 60_000)).toBe(false);
    expect(await a.scheduler.acquireLease('digest', 'replica-a', 60_000)).toBe(true); // renewal
    expect(await b.scheduler.acquireLease('other', 'replica-b', 60_000)).toBe(true); // another lease
    await b.scheduler.releaseLease('digest', 'replica-b'); // not the holder: no effect
    expect(await b.scheduler.acquireLease('digest', 'replica-b', 60_000)).toBe(false);
    await a.scheduler.releaseLease('digest', 'replica-a');
    expect(await b.scheduler.acquireLease('digest', 'replica-b', 50)).toBe(true);
    await new Promise((r) => setTimeout(r, 120)); // b stopped renewing: its lease lapses
    expect(await a.scheduler.acquireLease('digest', 'replica-a', 60_000)).toBe(true);
    expect(await b.scheduler.acquireLease('digest', 'replica-b', 60_000)).toBe(false);
    await closeAll(a);
    await closeAll(b);
  });

  it('two openings of one database (two replicas) racing: every ledger key, a request claim, a case change and the lease are won exactly once', async () => {
    const open = await backend.fresh();
    const replicas = [open(), open(), open()];
    const keys = Array.from({ length: 40 }, (_, i) => `race-${i}`);
    const wins = await Promise.all(
      replicas.map((r) =>
        Promise.all(keys.map((k) => r.scheduler.beginAlert({ ...alertRow(k), state: 'pending' }))),
      ),
    );
    for (let i = 0; i < keys.length; i++) expect(wins.filter((w) => w[i]).length).toBe(1);
    // Taking over one stale row: only one of the replicas' compare-and-deletes succeeds.
    const drops = await Promise.all(replicas.map((r) => r.scheduler.dropPendingAlert('race-0', 1_000)));
    expect(drops.filter(Boolean)).toHaveLength(1);
    await replicas[0]!.triage.openCase(aCase('race-case', 1));
    const base = (await replicas[0]!.triage.getCase('race-case'))!;
    const changes = await Promise.all(
      replicas.map((r, i) =>
        r.triage.changeCase(
          { ...base, state: 'acknowledged', assignee: `U${i}`, lastAction: 'acknowledged', lastAt: 2 },
          1,
        ),
      ),
    );
    expect(changes.filter(Boolean)).toHaveLength(1);
    const claims = await Promise.all(
      replicas.map((r) => r.bot.claimOnce('request-1', new Date(Date.now() + 60_000))),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    const leases = await Promise.all(
      replicas.flatMap((r, i) =>
        [0, 1, 2].map(() => r.scheduler.acquireLease('race-lease', `replica-${i}`, 60_000)),
      ),
    );
    const holders = new Set(
      replicas.flatMap((_, i) => ([0, 1, 2].some((j) => leases[i * 3 + j]) ? [i] : [])),
    );
    expect(holders.size).toBe(1);
    for (const r of replicas) await closeAll(r);
  });
});
