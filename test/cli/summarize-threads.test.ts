/**
 * `summarize --format json --threads N` gives the one-thread output byte for byte: real CLI runs over the
 * Invictus folder (its cross-session thresholds count other sessions) and over the same records in one file,
 * jittered the way CloudTrail delivers, beside a bad record; and analyzeWith, fed by a finisher that answers
 * late and out of order and a stage that fails on some events, keeps report order and error positions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postWithSharedParts, sameClone } from '../../cli/parallel/shared-parts.ts';
import { loadDefaultStages } from '../../compose/stages.ts';
import { EventDeduper } from '../../engine/dedupe.ts';
import {
  analyze,
  analyzeWith,
  type Finished,
  finishJob,
  type SessionJob,
  type SessionReport,
} from '../../engine/pipeline.ts';
import { createLocalSource } from '../../engine/sources/local-source.ts';
import type { PipelineStages } from '../../engine/stages.ts';

const DEMO = 'demo/invictus';
const tmp = mkdtempSync(join(tmpdir(), 'cartographer-threads-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function summarize(args: string[]): string {
  const env = { ...process.env, CARTOGRAPHER_LOCAL_PATH: '', CARTOGRAPHER_SOURCE: '' };
  const res = spawnSync(process.execPath, ['bin/cartographer.js', 'summarize', ...args], {
    encoding: 'utf8',
    env,
    maxBuffer: 256 * 2 ** 20,
  });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  return res.stdout;
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const records = readdirSync(DEMO)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(readFileSync(join(DEMO, f), 'utf8')).Records as Record<string, unknown>[]);

describe('summarize --threads: the same bytes as one thread', () => {
  it('the Invictus folder, with its cross-session findings, on 1, 2 and 3 threads', () => {
    const one = summarize([DEMO, '--format', 'json', '--events', '--threads', '1']);
    const doc = JSON.parse(one) as { sessions: { findings: { explanation: string }[] }[] };
    const explanations = doc.sessions.flatMap((s) => s.findings.map((f) => f.explanation));
    expect(explanations.some((e) => e.includes('counting earlier sessions'))).toBe(true);
    expect(doc.sessions.length).toBeGreaterThan(20);
    expect(summarize([DEMO, '--format', 'json', '--events', '--threads', '2'])).toBe(one);
    expect(summarize([DEMO, '--format', 'json', '--events', '--threads', '3'])).toBe(one);
  }, 120_000);

  it('one jittered file beside a file with a bad record, with and without events', () => {
    const next = random(5);
    const jittered = records
      .map((r) => ({ r, at: Date.parse(String(r.eventTime)) + next() * 14 * 60_000 }))
      .sort((a, b) => a.at - b.at)
      .map((x) => x.r);
    writeFileSync(join(tmp, 'a-jittered.json'), JSON.stringify({ Records: jittered }));
    writeFileSync(
      join(tmp, 'b-bad.json'),
      JSON.stringify({ Records: [{ eventName: 42 }, records[0], 'not a record'] }),
    );
    for (const extra of [['--events'], []]) {
      const one = summarize([tmp, '--format', 'json', '--threads', '1', ...extra]);
      expect(JSON.parse(one).inputs.rejected.length).toBe(2);
      expect(summarize([tmp, '--format', 'json', '--threads', '2', ...extra])).toBe(one);
    }
  }, 120_000);

  it('rejects a bad --threads value', () => {
    const res = spawnSync(process.execPath, ['bin/cartographer.js', 'summarize', DEMO, '--threads', '0'], {
      encoding: 'utf8',
    });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('--threads must be a whole number from 1 to 64');
  });
});

describe('analyzeWith: results that come back late and out of order', () => {
  let stages: PipelineStages;
  beforeAll(async () => {
    stages = await loadDefaultStages();
  }, 60_000);

  /** Enrichment fails on about one event in seven: each error goes where a one-thread run reports it. */
  const failing = (s: PipelineStages): PipelineStages => {
    const enricher = s.enricher!;
    const fail = (id: string) => id.charCodeAt(id.length - 1) % 7 === 0;
    return {
      ...s,
      enricher: {
        ...enricher,
        enrich: (e) => {
          if (fail(e.id)) throw new Error('boom');
          enricher.enrich(e);
        },
        enrichWith: (e, l) => {
          if (fail(e.id)) throw new Error('boom');
          enricher.enrichWith!(e, l);
        },
      },
    };
  };

  it('gives the reports and inputs of analyze(), in the same order', async () => {
    const read = () => createLocalSource([DEMO, join(tmp, 'b-bad.json')]).read({});
    writeFileSync(join(tmp, 'b-bad.json'), JSON.stringify({ Records: [{ eventName: 42 }] }));
    const plain = analyze(read(), failing(stages), { keepEvents: false });
    const want: string[] = [];
    for await (const s of plain.sessions) want.push(JSON.stringify(s));
    expect(plain.inputs.rejected.some((r) => r.reason.includes('boom'))).toBe(true);

    const next = random(9);
    const remoteStages = failing(stages);
    const local = (job: SessionJob): Finished<string> => {
      const done = finishJob(job, remoteStages, false);
      return { value: JSON.stringify(done.value as SessionReport), errors: done.errors };
    };
    const delayed = analyzeWith(
      read(),
      remoteStages,
      {},
      {
        local,
        // Two in three jobs go "elsewhere": a clone of the job, answered after a random delay.
        remote: (job) =>
          next() < 0.33
            ? undefined
            : new Promise((resolve) => {
                const copy = structuredClone(job);
                setTimeout(() => resolve(local(copy)), Math.floor(next() * 20));
              }),
      },
    );
    const got: string[] = [];
    for await (const s of delayed.sessions) got.push(s);
    expect(got).toEqual(want);
    expect(delayed.inputs).toEqual(plain.inputs);
  }, 60_000);
});

describe('EventDeduper', () => {
  it('counts each id once, UUIDs or not, exactly as a set of strings would', () => {
    const next = random(3);
    const hex = (n: number) =>
      Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(next() * 16)]).join('');
    const ids: string[] = [];
    for (let i = 0; i < 20_000; i++) ids.push(`${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`);
    ids.push('00000000-0000-0000-0000-000000000000', 'synthetic-abc', ids[5]!.toUpperCase(), '');
    const stream = [...ids, ...ids.filter((_, i) => i % 3 === 0), ids[0]!];
    const d = new EventDeduper();
    const seen = new Set<string>();
    for (const id of stream) {
      const expected = !seen.has(id);
      seen.add(id);
      expect(d.firstSighting(id)).toBe(expected);
    }
    expect(d.duplicates).toBe(stream.length - seen.size);
  });
});

describe('a job posted with its repeated parts written once', () => {
  const job = (recs: Record<string, unknown>[]): SessionJob =>
    ({
      ctx: { key: 'k' },
      events: recs.map((record, seq) => ({ record, time: seq, id: String(seq), seq, enrichment: undefined })),
    }) as unknown as SessionJob;

  it('clones to the same records, repeated parts as one object, and leaves this side as it was', () => {
    const recs = records.slice(0, 400).map((r) => structuredClone(r));
    const before = recs.map((r) => [r.userIdentity, r.tlsDetails]);
    const message = { id: 1, job: job(recs) };
    let got: { id: number; job: SessionJob } | undefined;
    postWithSharedParts({ postMessage: (m) => (got = structuredClone(m)) }, message);
    expect(recs.map((r) => [r.userIdentity, r.tlsDetails])).toEqual(before);
    for (const [i, r] of recs.entries()) {
      expect(r.userIdentity).toBe(before[i]![0]);
      expect(Object.keys(r)).toEqual(Object.keys(records[i]!));
    }
    const plain = structuredClone(message);
    expect(JSON.stringify(got)).toBe(JSON.stringify(plain));
    expect(got).toStrictEqual(plain);
    const identities = new Set(got!.job.events.map((e) => e.record.userIdentity));
    // One object per run of equal identities (each written once), here 110 for 400 records.
    const runs = recs.filter(
      (r, i) => i === 0 || JSON.stringify(r.userIdentity) !== JSON.stringify(recs[i - 1]!.userIdentity),
    ).length;
    expect(identities.size).toBe(runs);
    expect(runs).toBeLessThan(recs.length / 2);
  });

  it('shares only what clones alike: key order, absent and undefined keys, holes, -0, dates differ', () => {
    const alike: [unknown, unknown][] = [
      [
        { a: 1, b: { c: [1, 'x'] } },
        { a: 1, b: { c: [1, 'x'] } },
      ],
      [{ n: Number.NaN }, { n: Number.NaN }],
    ];
    const unlike: [unknown, unknown][] = [
      [
        { a: 1, b: 2 },
        { b: 2, a: 1 },
      ],
      [{ a: 1, b: undefined }, { a: 1 }],
      // A hole: `new Array(3)` with two slots filled (a literal with a hole is a lint error).
      [Object.assign(new Array(3), { 0: 1, 2: 3 }), [1, undefined, 3]],
      [{ z: -0 }, { z: 0 }],
      [{ d: new Date(0) }, { d: new Date(0) }],
      [{ a: [1] }, { a: { 0: 1 } }],
      [Object.assign(Object.create(null), { a: 1 }), { a: 1 }],
    ];
    for (const [a, b] of alike) expect(sameClone(a, b)).toBe(true);
    for (const [a, b] of unlike) expect([a, b, sameClone(a, b)]).toEqual([a, b, false]);
  });
});
