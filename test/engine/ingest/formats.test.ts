import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sortByDelivery, walkDirectory } from '../../../engine/ingest/file-walk.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SourceItem } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

const FIX = 'test/fixtures/invictus';
const TREE = `${FIX}/AWSLogs`;
const DAY = `${TREE}/123837392027/CloudTrail/us-east-1/2023/07/10`;
const GZ_1145 = `${DAY}/218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz`;
const GZ_1230 = `${DAY}/218007301253_CloudTrail_us-east-1_20230710T1230Z_AvIajGd5rkz6vTy4.json.gz`;

async function collect(paths: string[], query = {}): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of createLocalSource(paths).read(query)) out.push(item);
  return out;
}
const recordsOf = (items: SourceItem[]) =>
  items.flatMap((i) => (i.kind === 'record' ? [i.record] : [])) as CloudTrailRecord[];
const ids = (records: { eventID?: string }[]) => records.map((r) => r.eventID).sort();
/** The expected records, read with plain JSON.parse (independent of the code under test). */
const s3Records = (text: string) => JSON.parse(text).Records as CloudTrailRecord[];

describe('input formats, detected by content', () => {
  it('reads a gzipped S3 delivery file and keeps every field verbatim', async () => {
    const expected = s3Records(gunzipSync(readFileSync(GZ_1230)).toString('utf8'));
    const items = await collect([GZ_1230]);
    const got = recordsOf(items);
    expect(got).toEqual(expected);
    expect(items.filter((i) => i.kind === 'rejected')).toEqual([]);
    // Unknown fields (tlsDetails, …) survive.
    expect(got.some((r) => 'tlsDetails' in r)).toBe(true);
  });

  it('walks an AWSLogs tree in delivery order and skips digests and hidden files with a note', async () => {
    const items = await collect([TREE]);
    const files = items.flatMap((i) => (i.kind === 'file' ? [i.origin.file] : []));
    expect(files).toEqual([GZ_1145, GZ_1230]); // 11:45 before 12:30, whatever the directory order
    const skipped = items.flatMap((i) => (i.kind === 'skipped' ? [i.origin.file] : []));
    expect(skipped.some((f) => f.includes('CloudTrail-Digest'))).toBe(true);
    expect(skipped.some((f) => f.endsWith('.DS_Store'))).toBe(true);
    expect(items.filter((i) => i.kind === 'rejected')).toEqual([]);
    expect(recordsOf(items)).toHaveLength(29 + 63);
  });

  it('orders delivery files by the stamp in their names across regions and accounts', () => {
    const paths = [
      'AWSLogs/2/CloudTrail/us-west-2/2023/07/10/2_CloudTrail_us-west-2_20230710T1210Z_a.json.gz',
      'AWSLogs/1/CloudTrail/us-east-1/2023/07/10/1_CloudTrail_us-east-1_20230710T1215Z_b.json.gz',
      'AWSLogs/1/CloudTrail/eu-west-1/2023/07/10/1_CloudTrail_eu-west-1_20230710T1205Z_c.json.gz',
      'notes/export.jsonl',
    ];
    expect(sortByDelivery(paths)).toEqual([paths[3], paths[2], paths[0], paths[1]]);
  });

  it('lists the directory without reading contents', async () => {
    const walk = await walkDirectory(TREE);
    expect(walk.files).toHaveLength(2);
    expect(walk.skipped.map((s) => s.reason).sort()).toEqual(['CloudTrail digest files', 'hidden file']);
  });

  it('reads JSON Lines', async () => {
    const expected = readFileSync(`${FIX}/bert-jan-console.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const items = await collect([`${FIX}/bert-jan-console.jsonl`]);
    expect(recordsOf(items)).toEqual(expected);
  });

  it('reads a pretty-printed JSON array', async () => {
    const expected = JSON.parse(readFileSync(`${FIX}/get-password-data-role.array.json`, 'utf8'));
    expect(recordsOf(await collect([`${FIX}/get-password-data-role.array.json`]))).toEqual(expected);
  });

  it('reads `aws cloudtrail lookup-events` output (CloudTrailEvent is a JSON string)', async () => {
    const doc = JSON.parse(readFileSync(`${FIX}/benjamin-boto3.lookup-events.json`, 'utf8'));
    const expected = doc.Events.map((e: { CloudTrailEvent: string }) => JSON.parse(e.CloudTrailEvent));
    const got = recordsOf(await collect([`${FIX}/benjamin-boto3.lookup-events.json`]));
    expect(got).toEqual(expected);
    expect(new Set(got.map((r) => r.userIdentity?.accessKeyId))).toEqual(new Set(['AKIATFQR7NSCUXC3DDDP']));
  });

  it('reads a raw LookupEvents response whatever the key order (NextToken first)', async () => {
    const doc = JSON.parse(readFileSync(`${FIX}/steal-credentials.lookup-response.json`, 'utf8'));
    expect(Object.keys(doc)[0]).toBe('NextToken');
    const expected = doc.Events.map((e: { CloudTrailEvent: string }) => JSON.parse(e.CloudTrailEvent));
    expect(recordsOf(await collect([`${FIX}/steal-credentials.lookup-response.json`]))).toEqual(expected);
  });

  it("reads Cartographer's minimized events (no identity, null errorCode)", async () => {
    const path = 'demo/cartographer-console-session/InputEvents.json';
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>[];
    const items = await collect([path]);
    const got = recordsOf(items);
    expect(items.filter((i) => i.kind === 'rejected')).toEqual([]);
    expect(ids(got)).toEqual(ids(raw as { eventID?: string }[]));
    // null errorCode means "no error"; real error codes are kept.
    const withError = raw.filter((r) => typeof r.errorCode === 'string').length;
    expect(got.filter((r) => r.errorCode !== undefined)).toHaveLength(withError);
  });

  it('accepts OTRF exports with @timestamp instead of eventTime', async () => {
    const path = 'test/fixtures/otrf-security-datasets-aws/ec2_proxy_s3_exfiltration_2020-09-14011940.jsonl';
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    const got = recordsOf(await collect([path]));
    expect(got).toHaveLength(lines.length);
    for (const r of got) expect(r.eventTime).toBe((r as Record<string, unknown>)['@timestamp']);
  });

  it('reads standard input (-) through the CLI', () => {
    const input = readFileSync(`${FIX}/bert-jan-console.jsonl`);
    const res = spawnSync(
      process.execPath,
      ['bin/cartographer.js', 'summarize', '-', '--format', 'json', '--no-events'],
      {
        input,
        encoding: 'utf8',
      },
    );
    expect(res.status).toBe(0);
    const doc = JSON.parse(res.stdout);
    expect(doc.inputs.records).toBe(40);
    expect(doc.inputs.files).toBe(1);
    expect(doc.sessions.reduce((n: number, s: { eventCount: number }) => n + s.eventCount, 0)).toBe(40);
  });

  it('counts records seen twice (overlapping files) once', async () => {
    const plain = `${FIX}/218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json`;
    const { analyze } = await import('../../../engine/pipeline.ts');
    const analysis = analyze(createLocalSource([plain, GZ_1145, plain]).read({}), {});
    let events = 0;
    for await (const s of analysis.sessions) events += s.eventCount;
    expect(analysis.inputs.records).toBe(29 * 3);
    expect(analysis.inputs.duplicates).toBe(29 * 2);
    expect(events).toBe(29);
  });

  it('applies query filters and the event cap', async () => {
    const key = 'AKIATFQR7NSCUXC3DDDP';
    const inTree = [GZ_1145, GZ_1230]
      .flatMap((f) => s3Records(gunzipSync(readFileSync(f)).toString('utf8')))
      .filter((r) => r.userIdentity?.accessKeyId === key).length;
    const byKey = recordsOf(
      await collect([`${FIX}/benjamin-boto3.lookup-events.json`, TREE], { accessKeyId: key }),
    );
    expect(byKey.length).toBe(43 + inTree);
    expect(byKey.every((r) => r.userIdentity?.accessKeyId === key)).toBe(true);
    const capped = await collect([TREE], { maxEvents: 10 });
    expect(recordsOf(capped)).toHaveLength(10);
    expect(capped.at(-1)?.kind).toBe('truncated');
    const since = new Date('2023-07-10T12:00:00Z');
    const late = recordsOf(await collect([TREE], { since }));
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((r) => Date.parse(r.eventTime) >= since.getTime())).toBe(true);
    const byUser = recordsOf(await collect([TREE], { user: 'bert-jan' }));
    expect(byUser.every((r) => r.userIdentity?.userName === 'bert-jan')).toBe(true);
  });

  it('names a missing path instead of failing the whole read', async () => {
    const items = await collect([join(FIX, 'no-such-file.json'), `${FIX}/bert-jan-console.jsonl`]);
    const rejected = items.filter((i) => i.kind === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ origin: { file: join(FIX, 'no-such-file.json') } });
    expect(recordsOf(items)).toHaveLength(40);
  });
});
