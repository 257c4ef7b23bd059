/**
 * Sessions follow event time, whatever the arrival order, and a store's identity buckets rebuild exactly the sessions
 * the pipeline forms from the events themselves (the SQL of the buckets runs for real, in DuckDB).
 */
import { describe, expect, it } from 'vitest';
import { readBucket } from '../../../adapters/aws/athena-scan.ts';
import { scanStatement } from '../../../adapters/aws/athena-scan-sql.ts';
import { sqlString } from '../../../adapters/aws/athena-sql.ts';
import { analyze, type SessionReport } from '../../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { sessionsFromBuckets } from '../../../engine/sessions/buckets.ts';
import type { IdentityBucket, SourceItem } from '../../../engine/source.ts';
import { DuckAthena } from '../../support/athena-duckdb.ts';
import { loadCloudTrailDir } from '../../support/aws-endpoint.ts';
import { fixtureRecords } from '../../support/aws-fixtures.ts';

async function* itemsOf(recs: readonly CloudTrailRecord[], file = 'mem.json'): AsyncGenerator<SourceItem> {
  for (let i = 0; i < recs.length; i++)
    yield { kind: 'record', record: recs[i]!, origin: { file, position: i } };
}

async function sessionsOf(recs: readonly CloudTrailRecord[]): Promise<SessionReport[]> {
  const out: SessionReport[] = [];
  for await (const s of analyze(itemsOf(recs), {}, { keepEvents: true }).sessions) out.push(s);
  return out;
}

const shape = (sessions: SessionReport[]) =>
  sessions
    .map(
      (s) =>
        `${s.key} ${s.start} ${s.end} ${s.eventCount} ${(s.events ?? [])
          .map((e) => e.id)
          .sort()
          .join(',')}`,
    )
    .sort();

function call(key: string, time: string, id: string): CloudTrailRecord {
  return {
    eventTime: time,
    eventID: id,
    eventSource: 'sts.amazonaws.com',
    eventName: 'AssumeRole',
    userIdentity: { type: 'AWSService', invokedBy: key },
  } as CloudTrailRecord;
}

describe('sessions follow event time, not arrival', () => {
  // 10:00:46 and 10:29:58 are 29 min 12 s apart: one session. Delivered interleaved (two accounts' files), the
  // 10:31:19 event arrives before the 10:29:58 one.
  const a = call('rolesanywhere.amazonaws.com', '2026-01-05T10:00:46Z', 'a');
  const b = call('rolesanywhere.amazonaws.com', '2026-01-05T10:29:58Z', 'b');
  const c = call('rolesanywhere.amazonaws.com', '2026-01-05T10:31:19Z', 'c');
  const d = call('rolesanywhere.amazonaws.com', '2026-01-05T11:30:00Z', 'd');

  it('interleaved, reversed and in order give the same sessions, numbered in time order', async () => {
    const inOrder = shape(await sessionsOf([a, b, c, d]));
    expect(inOrder).toEqual([
      'service:rolesanywhere.amazonaws.com 2026-01-05T10:00:46Z 2026-01-05T10:31:19Z 3 a,b,c',
      'service:rolesanywhere.amazonaws.com#2 2026-01-05T11:30:00Z 2026-01-05T11:30:00Z 1 d',
    ]);
    expect(shape(await sessionsOf([a, c, b, d]))).toEqual(inOrder);
    expect(shape(await sessionsOf([d, c, b, a]))).toEqual(inOrder);
  });
});

describe('identity buckets rebuild the pipeline sessions', () => {
  const table = { catalog: 'AwsDataCatalog', database: 'security', table: 'cloudtrail_logs' };

  it.each([
    ['Invictus (attacks, Terraform, console users, AWS services)', () => loadCloudTrailDir('demo/invictus')],
    ['AWS-source fixtures', () => fixtureRecords],
  ])(
    '%s',
    async (_name, load) => {
      const records = load();
      const duck = await DuckAthena.create(records, table);
      try {
        const times = records.map((r) => Date.parse(r.eventTime));
        const { statement } = scanStatement({
          table: { ...table, style: 'projection' },
          scope: {
            since: new Date(Math.min(...times)),
            until: new Date(Math.max(...times)),
            accounts: [],
            regions: [],
          },
          bucketSeconds: 900,
          idleGapSeconds: 1800,
        });
        const out = await duck.run(statement.sql, statement.params.map(sqlString));
        const col = (name: string) => out.columns.indexOf(name);
        const buckets: IdentityBucket[] = out.rows.map((row) => bucketOf(out.columns, row));
        // Buckets chained into runs: fewer rows than events.
        expect(out.rows.length).toBeLessThan(records.length);
        expect(col('r_first')).toBeGreaterThan(0);
        const fromBuckets = sessionsFromBuckets(buckets, 30 * 60_000)
          .map((s) => `${s.key} ${iso(s.start)} ${iso(s.end)} ${s.eventCount} ${s.errorCount}`)
          .sort();
        const fromEvents = (await sessionsOf(records))
          // Identity-less records are keyed by their file, which a store does not have.
          .filter((s) => !s.key.startsWith('input:'))
          .map((s) => `${s.key} ${s.start} ${s.end} ${s.eventCount} ${s.errorCount}`)
          .sort();
        expect(fromBuckets.filter((k) => !k.startsWith('input:'))).toEqual(fromEvents);
      } finally {
        duck.close();
      }
    },
    60_000,
  );
});

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

/** The adapter's reading of a bucket row (athena-scan.ts), through its exported entry point. */
function bucketOf(columns: string[], row: (string | null)[]): IdentityBucket {
  const r: Record<string, string | undefined> = {};
  columns.forEach((c, i) => {
    r[c] = row[i] ?? undefined;
  });
  return readBucket(r);
}
