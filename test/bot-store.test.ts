import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../adapters/store/sqlite-store.ts';

describe('SQLite bot store', () => {
  it('keeps sessions, button references and benign marks across a reopen, and prunes old analyses', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cartographer-store-')), 'nested', 'bot.db');
    const store = openSqliteStore(file);
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
    await store.recordBenign({
      sessionId: 'sess2',
      ruleId: 'rule-a',
      reason: 'red team',
      by: 'U1',
      at: '2026-11-22T01:00:00Z',
    });
    await store.close();

    const reopened = openSqliteStore(file);
    expect((await reopened.getSession('sess1'))?.records[0]?.record).toEqual(record);
    expect(await reopened.getRef('r1')).toMatchObject({
      action: 'raw',
      sessionId: 'sess1',
      eventIds: ['e1'],
    });
    expect((await reopened.getRef('r2'))?.extra).toEqual({ findingId: 'f1' });
    expect(await reopened.listBenign()).toEqual([
      { sessionId: 'sess2', ruleId: 'rule-a', reason: 'red team', by: 'U1', at: '2026-11-22T01:00:00Z' },
    ]);
    expect(await reopened.getRef('missing')).toBeUndefined();
    expect(await reopened.prune(new Date('2026-11-21T00:00:00Z'))).toBe(1);
    expect(await reopened.getSession('sess1')).toBeUndefined();
    expect(await reopened.getRef('r1')).toBeUndefined();
    expect((await reopened.getSession('sess2'))?.query.since).toBe('2026-11-21T00:00:00.000Z');
    await reopened.close();
  });
});
