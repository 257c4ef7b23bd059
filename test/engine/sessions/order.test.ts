/**
 * Sessions depend on the set of records, not on the order they arrive in: an idle gap cuts a session only once no
 * record that may still come within the lateness allowance can bridge it, and the parts are numbered by time
 * (`KEY`, `KEY#2`, … oldest first). Records later than the allowance are placed deterministically and reported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InputsSummary } from '../../../engine/model.ts';
import { type AnalyzeOptions, analyze, type SessionReport } from '../../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SourceItem } from '../../../engine/source.ts';

const MINUTE = 60_000;
const T0 = Date.parse('2025-05-01T08:00:00Z');
const KEYS = ['AKIAEXAMPLEAAAAAAAAA', 'AKIAEXAMPLEBBBBBBBBB', 'AKIAEXAMPLECCCCCCCCC', 'AKIAEXAMPLEDDDDDDDDD'];

/**
 * A call made with a long-term key, `second` seconds after T0. Variants change what the session's facts are made
 * of: 1 has no ARN (a less complete principal), 2 another principal ID (as complete, so a tie), 3 another address
 * and region, and fails.
 */
function call(id: string, second: number, key = KEYS[0]!, variant = 0): CloudTrailRecord {
  const user = `u-${key.slice(-4)}`;
  const r = {
    eventVersion: '1.08',
    eventTime: new Date(T0 + second * 1000).toISOString().replace('.000Z', 'Z'),
    eventID: id,
    eventSource: 'ec2.amazonaws.com',
    eventName: 'DescribeInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.15.0',
    recipientAccountId: '111122223333',
    userIdentity: {
      type: 'IAMUser',
      principalId: `AIDA${user}`,
      arn: `arn:aws:iam::111122223333:user/${user}`,
      accountId: '111122223333',
      accessKeyId: key,
      userName: user,
    },
  } as CloudTrailRecord;
  if (variant === 1) delete r.userIdentity!.arn;
  if (variant === 2) r.userIdentity!.principalId = `AIDA${user}-other`;
  if (variant === 3)
    Object.assign(r, { sourceIPAddress: '203.0.113.9', awsRegion: 'eu-west-1', errorCode: 'AccessDenied' });
  return r;
}

async function* itemsOf(records: CloudTrailRecord[]): AsyncGenerator<SourceItem> {
  yield { kind: 'file', origin: { file: 'mem.json' } };
  for (let i = 0; i < records.length; i++)
    yield { kind: 'record', record: records[i]!, origin: { file: 'mem.json', position: i + 1 } };
}

async function run(
  records: CloudTrailRecord[],
  options: AnalyzeOptions = {},
): Promise<{ sessions: SessionReport[]; inputs: InputsSummary; view: string[] }> {
  const analysis = analyze(itemsOf(records), {}, { keepEvents: true, ...options });
  const sessions: SessionReport[] = [];
  for await (const s of analysis.sessions) sessions.push(s);
  // Everything a report says, its events by id (their arrival number differs by construction).
  const view = sessions.map((s) => JSON.stringify({ ...s, events: s.events!.map((e) => e.id) }));
  return { sessions, inputs: analysis.inputs, view };
}

const keysOf = (ss: SessionReport[]) => ss.map((s) => s.key);
const idsOf = (ss: SessionReport[]) => ss.map((s) => s.events!.map((e) => e.id));

describe('idle-gap splits wait for the lateness allowance', () => {
  it('events at minute 0, 20 and 31 (gap 30) are one session, also when the minute-20 one comes 11 minutes late', async () => {
    const a = call('a', 0);
    const b = call('b', 20 * 60);
    const c = call('c', 31 * 60);
    const inOrder = await run([a, b, c]);
    const late = await run([a, c, b]);
    expect(keysOf(inOrder.sessions)).toEqual([KEYS[0]]);
    expect(idsOf(inOrder.sessions)).toEqual([['a', 'b', 'c']]);
    expect(late.view).toEqual(inOrder.view);
    expect(late.inputs.skipped).toBeUndefined();
  });

  it('split parts are numbered by time whatever arrives first: KEY is the oldest', async () => {
    // Gap 5: minute 0 and minute 10 are two sessions; the minute-0 record arrives 10 minutes late.
    const older = call('older', 0);
    const newer = call('newer', 10 * 60);
    const options = { idleGapMinutes: 5 };
    const inOrder = await run([older, newer], options);
    const reversed = await run([newer, older], options);
    expect(keysOf(inOrder.sessions)).toEqual([KEYS[0], `${KEYS[0]}#2`]);
    expect(idsOf(inOrder.sessions)).toEqual([['older'], ['newer']]);
    expect(reversed.view).toEqual(inOrder.view);
  });

  it('a late record that bridges two parts merges them', async () => {
    // Gap 5: minutes 0 and 8 are apart until minute 4 arrives (4 minutes late, behind minute 8).
    const records = [call('m0', 0), call('m8', 8 * 60), call('m4', 4 * 60)];
    const got = await run(records, { idleGapMinutes: 5 });
    expect(keysOf(got.sessions)).toEqual([KEYS[0]]);
    expect(idsOf(got.sessions)).toEqual([['m0', 'm4', 'm8']]);
  });
});

describe('records later than the allowance', () => {
  it('join their session while it is still open (newest-first input), and the run says so', async () => {
    const times = [0, 3, 4, 20, 22, 40]; // gap 5: [0 3 4] [20 22] [40]
    const records = times.map((m) => call(`m${m}`, m * 60));
    const options = { idleGapMinutes: 5, latenessMinutes: 5 };
    const inOrder = await run(records, options);
    const newestFirst = await run([...records].reverse(), options);
    expect(keysOf(inOrder.sessions)).toEqual([KEYS[0], `${KEYS[0]}#2`, `${KEYS[0]}#3`]);
    expect(newestFirst.view).toEqual(inOrder.view);
    expect(inOrder.inputs.skipped).toBeUndefined();
    // m22 .. m0 arrive more than 5 minutes behind m40: 5 records, up to 40 minutes behind.
    expect(newestFirst.inputs.skipped).toEqual([
      {
        where: 'sessions',
        reason: expect.stringMatching(
          /^5 record\(s\) arrived more than 5 min \(the lateness allowance\) behind the newest record seen, up to 40 min .*; 5 still joined their sessions/,
        ),
      },
    ]);
  });

  it('go to <key>#late once their own session was closed, never into a later one', async () => {
    // KEY closes when another key's record at minute 60 passes 5 + 30 + 15. Then, beyond the allowance (55),
    // minute 50 still joins the open part at 70, while minutes 6 and 7 belong with the part already closed.
    const records = [
      call('k0', 0),
      call('k5', 5 * 60),
      call('other60', 60 * 60, KEYS[1]),
      call('k70', 70 * 60),
      call('k6', 6 * 60),
      call('k50', 50 * 60),
      call('k7', 7 * 60),
      call('k61', 61 * 60),
    ];
    const got = await run(records);
    const byKey = Object.fromEntries(got.sessions.map((s) => [s.key, s.events!.map((e) => e.id)]));
    expect(byKey).toEqual({
      [KEYS[0]!]: ['k0', 'k5'],
      [`${KEYS[0]}#2`]: ['k50', 'k61', 'k70'],
      [`${KEYS[0]}#late`]: ['k6', 'k7'],
      [KEYS[1]!]: ['other60'],
    });
    const note = got.inputs.skipped?.find((s) => s.where === 'sessions')?.reason ?? '';
    expect(note).toMatch(/^3 record\(s\) arrived more than 15 min .* up to 64 min/);
    expect(note).toContain(`1 still joined their sessions`);
    expect(note).toContain(
      `2 belonged to sessions already closed and were analysed as separate sessions named <key>#late (${KEYS[0]}#late)`,
    );
    // The same input twice: the same result.
    expect((await run(records)).view).toEqual(got.view);
  });

  it('newest-first input far past the open-event bound: closed early to bound memory, and said', async () => {
    // Ten bursts of ten calls, 20 minutes apart, newest first, with at most 20 events waiting in open sessions.
    const minutes = Array.from({ length: 100 }, (_, i) => Math.floor(i / 10) * 20 + (i % 10)).reverse();
    const records = minutes.map((m) => call(`m${m}`, m * 60));
    const got = await run(records, { idleGapMinutes: 5, maxHeldEvents: 20 });
    expect(got.sessions.reduce((n, s) => n + s.eventCount, 0)).toBe(100);
    expect(keysOf(got.sessions)).toContain(`${KEYS[0]}#late`);
    const note = got.inputs.skipped?.find((s) => s.where === 'sessions')?.reason ?? '';
    expect(note).toMatch(
      /more than 20 events were waiting in open sessions, so sessions no record within the allowance could reach were closed to bound memory/,
    );
    // Without the bound, the same input gives the time-order session.
    const unbounded = await run(records, { idleGapMinutes: 5 });
    expect(keysOf(unbounded.sessions)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i === 0 ? KEYS[0] : `${KEYS[0]}#${i + 1}`)),
    );
    expect(idsOf(unbounded.sessions)[0]).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });
});

/** The sessions time order gives: per key, events sorted by time, cut where two are more than `gap` apart. */
function reference(records: CloudTrailRecord[], gapMs: number): Map<string, string[]> {
  const byKey = new Map<string, CloudTrailRecord[]>();
  for (const r of records) {
    const key = r.userIdentity!.accessKeyId!;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  const out = new Map<string, string[]>();
  for (const [key, list] of byKey) {
    const sorted = list
      .map((r) => ({ id: r.eventID!, t: Date.parse(r.eventTime) }))
      .sort((a, b) => a.t - b.t || (a.id < b.id ? -1 : 1));
    let n = 1;
    let part: string[] = [];
    sorted.forEach((e, i) => {
      if (i > 0 && e.t - sorted[i - 1]!.t > gapMs) {
        out.set(n === 1 ? key : `${key}#${n}`, part);
        n++;
        part = [];
      }
      part.push(e.id);
    });
    out.set(n === 1 ? key : `${key}#${n}`, part);
  }
  return out;
}

describe('any arrival order (property)', () => {
  // Per key, each call comes 0 to 3 or 0 to 40 minutes after that key's previous one, so close calls and pauses
  // near the idle gap (5 or 30 minutes) are both common; delays in thousandths of the allowance. Unbiased, so
  // values spread over their whole range (in this seed's 300 runs the old arrival-order cut differs in 93).
  const spec = fc.array(
    fc.record({
      key: fc.integer({ min: 0, max: 3 }),
      step: fc.oneof(
        fc.noBias(fc.integer({ min: 0, max: 3 * 60 })),
        fc.noBias(fc.integer({ min: 0, max: 40 * 60 })),
      ),
      delay: fc.noBias(fc.integer({ min: 0, max: 1000 })),
      variant: fc.integer({ min: 0, max: 3 }),
    }),
    { minLength: 1, maxLength: 100, size: 'max' },
  );
  const build = (s: { key: number; step: number; variant: number }[]) => {
    const last = [0, 0, 0, 0];
    return s.map((x, i) => {
      last[x.key]! += x.step;
      return call(`e${i}`, last[x.key]!, KEYS[x.key], x.variant);
    });
  };
  const timeOf = (r: CloudTrailRecord) => Date.parse(r.eventTime);

  it('within the allowance: the same sessions, numbered and ordered as time order gives them', async () => {
    await fc.assert(
      fc.asyncProperty(spec, fc.constantFrom(5, 30), fc.constantFrom(5, 15), async (s, gap, lateness) => {
        const records = build(s);
        const options = { idleGapMinutes: gap, latenessMinutes: lateness };
        const inOrder = await run(
          [...records].sort((a, b) => timeOf(a) - timeOf(b)),
          options,
        );
        // Each record arrives up to `lateness` behind its own time, in any mix.
        const arrival = records
          .map((r, i) => ({ r, at: timeOf(r) + (s[i]!.delay / 1000) * lateness * MINUTE }))
          .sort((a, b) => a.at - b.at)
          .map((x) => x.r);
        const got = await run(arrival, options);
        expect(got.view).toEqual(inOrder.view);
        expect(got.inputs.skipped).toBeUndefined();
        const expected = reference(records, gap * MINUTE);
        expect(new Map(got.sessions.map((x) => [x.key, x.events!.map((e) => e.id)]))).toEqual(expected);
      }),
      { numRuns: 300, seed: 20250501 },
    );
  });

  // Any order at all: the calls and a permutation of them.
  const shuffled = spec.chain((s) =>
    fc.tuple(
      fc.constant(s),
      fc.shuffledSubarray(
        s.map((_, i) => i),
        { minLength: s.length },
      ),
    ),
  );

  it('beyond it: every record once, no session across an idle gap, numbered parts in time order, late ones counted', async () => {
    await fc.assert(
      fc.asyncProperty(shuffled, async ([s, order]) => {
        const built = build(s);
        const records = order.map((i) => built[i]!);
        let newest = Number.NEGATIVE_INFINITY;
        let late = 0;
        for (const r of records) {
          if (timeOf(r) < newest - 15 * MINUTE) late++;
          newest = Math.max(newest, timeOf(r));
        }
        const got = await run(records);
        expect((await run(records)).view).toEqual(got.view);
        expect(idsOf(got.sessions).flat().sort()).toEqual(records.map((r) => r.eventID).sort());
        for (const x of got.sessions) {
          const times = x.events!.map((e) => e.time);
          for (let i = 1; i < times.length; i++)
            expect(times[i]! - times[i - 1]!).toBeLessThanOrEqual(30 * MINUTE);
        }
        for (const key of KEYS) {
          const parts = got.sessions
            .filter((x) => x.key === key || new RegExp(`^${key}#\\d+$`).test(x.key))
            .sort((a, b) => Number(a.key.split('#')[1] ?? 1) - Number(b.key.split('#')[1] ?? 1));
          for (let i = 1; i < parts.length; i++)
            expect(Date.parse(parts[i]!.start) - Date.parse(parts[i - 1]!.end)).toBeGreaterThan(30 * MINUTE);
        }
        const note = got.inputs.skipped?.[0]?.reason;
        if (late === 0) expect(note).toBeUndefined();
        else expect(note).toMatch(new RegExp(`^${late} record\\(s\\) arrived more than 15 min`));
      }),
      { numRuns: 150, seed: 20250502 },
    );
  });
});
