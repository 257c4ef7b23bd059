/**
 * Thresholds counted across sessions (acrossSessions, Sigma count() and correlations) depend only on the set of
 * events: the same records read as a folder, one file, jittered the way CloudTrail delivers, in reversed delivery
 * order or shuffled at random give the same sessions, signals and findings through the whole pipeline (and in
 * property tests: any arrival order, any session shapes, any close order the pipeline allows). Their history
 * stays one window deep, and a rule that needs enrichment (not there when events arrive) is refused by
 * `rules check` with file:line.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CartographerDetector,
  createDetector,
  loadDetectionRules,
} from '../../../adapters/rules/detection-rules.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { EMPTY_ALLOW_LIST } from '../../../engine/detections/allowlist.ts';
import { CrossSessionMemory, isCrossSession } from '../../../engine/detections/cross-session.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import { sortByDelivery } from '../../../engine/ingest/file-walk.ts';
import type { EngineEvent } from '../../../engine/model.ts';
import { compareEvents } from '../../../engine/order.ts';
import { type AnalyzeOptions, analyze, type SessionReport } from '../../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SourceItem } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import type { PipelineStages, StreamDetector } from '../../../engine/stages.ts';
import { writeAttackTable } from '../../support/attack-table.ts';

type Obj = Record<string, unknown>;
const DEMO = 'demo/invictus';
const MINUTE = 60_000;

/** A small deterministic PRNG (mulberry32), so every order is the same on every run. */
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

const tmp = mkdtempSync(join(tmpdir(), 'cartographer-cross-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Outcome {
  sessions: string[];
  findings: string[];
}

async function collect(items: AsyncIterable<SourceItem>, stages: PipelineStages, options?: AnalyzeOptions) {
  const analysis = analyze(items, stages, options);
  const sessions: SessionReport[] = [];
  for await (const s of analysis.sessions) sessions.push(s);
  expect(analysis.inputs.rejected).toEqual([]);
  // Every order here is within the allowance the run is given: nothing came too late.
  expect(analysis.inputs.skipped?.filter((n) => n.where === 'sessions') ?? []).toEqual([]);
  return {
    sessions: sessions.map((s) => JSON.stringify({ ...s, findings: undefined })),
    findings: sessions.flatMap((s) => s.findings.map((f) => JSON.stringify(f))).sort(),
  };
}

describe('the Invictus records in five orders give the same findings', () => {
  let stages: PipelineStages;
  let across: Set<string>;
  let baseline: Outcome;
  const files = sortByDelivery(readdirSync(DEMO).filter((f) => f.endsWith('.json'))).map((f) =>
    join(DEMO, f),
  );
  const recordsOf = (paths: string[]): Obj[] =>
    paths.flatMap((p) => JSON.parse(readFileSync(p, 'utf8')).Records as Obj[]);
  const write = (name: string, records: Obj[]) => {
    const path = join(tmp, name);
    writeFileSync(path, JSON.stringify({ Records: records }));
    return path;
  };
  const run = (path: string, options?: AnalyzeOptions) =>
    collect(createLocalSource([path]).read({}), stages, options);
  const crossFindings = (o: Outcome) => o.findings.filter((f) => across.has(JSON.parse(f).ruleId));

  beforeAll(async () => {
    stages = await loadDefaultStages();
    const rules = (stages.detector as CartographerDetector).rules;
    across = new Set(rules.filter(isCrossSession).map((r) => r.id));
    baseline = await run(DEMO);
  }, 60_000);

  it('the folder (files in CloudTrail delivery order) has cross-session findings that count other sessions', () => {
    const mine = crossFindings(baseline).map((f) => JSON.parse(f) as { explanation: string });
    expect(mine.length).toBeGreaterThanOrEqual(4);
    expect(mine.filter((f) => f.explanation.includes('counting earlier sessions')).length).toBeGreaterThan(0);
  });

  it('one file, the files concatenated by name (accounts one after the other)', async () => {
    const got = await run(write('by-name.json', recordsOf([...files].sort())));
    expect(got.sessions).toEqual(baseline.sessions);
    expect(crossFindings(got)).toEqual(crossFindings(baseline));
    expect(got.findings).toEqual(baseline.findings);
  });

  it('one file jittered as CloudTrail delivers: each record up to 14 minutes late', async () => {
    const next = random(7);
    const records = recordsOf(files)
      .map((r) => ({ r, at: Date.parse(String(r.eventTime)) + next() * 14 * MINUTE }))
      .sort((a, b) => a.at - b.at)
      .map((x) => x.r);
    const got = await run(write('jittered.json', records));
    expect(got.sessions).toEqual(baseline.sessions);
    expect(crossFindings(got)).toEqual(crossFindings(baseline));
    expect(got.findings).toEqual(baseline.findings);
  });

  it('one file with each record either on time or the full 15 minutes late, at random (three draws)', async () => {
    for (const seed of [11, 12, 13]) {
      const next = random(seed);
      const records = recordsOf(files)
        .map((r) => ({ r, at: Date.parse(String(r.eventTime)) + (next() < 0.5 ? 0 : 15 * MINUTE) }))
        .sort((a, b) => a.at - b.at)
        .map((x) => x.r);
      const got = await run(write(`late-${seed}.json`, records));
      expect(got.sessions).toEqual(baseline.sessions);
      expect(got.findings).toEqual(baseline.findings);
    }
  });

  // Beyond the lateness allowance the sessions themselves would close too early: these runs say how late
  // records may come (the whole log's span), as a user reading such an export would.
  it('reversed delivery order: the newest file first', async () => {
    const got = await run(write('reversed.json', recordsOf([...files].reverse())), {
      latenessMinutes: 24 * 60,
    });
    expect(got.sessions).toEqual(baseline.sessions);
    expect(crossFindings(got)).toEqual(crossFindings(baseline));
    expect(got.findings).toEqual(baseline.findings);
  });

  it('every record shuffled, through the whole pipeline: the same sessions, signals and findings', async () => {
    // A full shuffle moves records hours out of place: the run is told how late records may come (the log's span).
    for (const seed of [3, 5]) {
      const got = await run(write(`shuffled-${seed}.json`, shuffle(recordsOf(files), random(seed))), {
        latenessMinutes: 24 * 60,
      });
      expect(got.sessions).toEqual(baseline.sessions);
      expect(crossFindings(got)).toEqual(crossFindings(baseline));
      expect(got.findings).toEqual(baseline.findings);
    }
  });

  it('asking for one session gives its cross-session findings exactly as the whole run does', async () => {
    const burst = crossFindings(baseline)
      .map((f) => JSON.parse(f) as { sessionKey: string; explanation: string })
      .find((f) => f.explanation.includes('counting earlier sessions'))!;
    const got = await collect(createLocalSource([DEMO]).read({}), stages, { sessionKey: burst.sessionKey });
    expect(got.sessions).toHaveLength(1);
    expect(got.findings).toEqual(
      baseline.findings.filter((f) => JSON.parse(f).sessionKey === burst.sessionKey),
    );
    expect(got.findings).toContain(JSON.stringify(burst));
  });
});

/** Failed sign-ins and bucket reads by a few users from a few addresses: the stuff of cross-session bursts. */
function syntheticRecord(
  i: number,
  minute: number,
  user: number,
  ip: number,
  kind: number,
): CloudTrailRecord {
  const t = new Date(Date.parse('2025-05-01T08:00:00Z') + minute * MINUTE + (i % 60) * 1000).toISOString();
  const who = { type: 'IAMUser', userName: `u${user}`, arn: `arn:aws:iam::111122223333:user/u${user}` };
  const common = {
    eventVersion: '1.08',
    eventTime: `${t.slice(0, 19)}Z`,
    eventID: `ev-${i}`,
    awsRegion: 'us-east-1',
    sourceIPAddress: `198.51.100.${ip}`,
    recipientAccountId: '111122223333',
    userIdentity: { ...who, accountId: '111122223333' },
  };
  if (kind === 0)
    return {
      ...common,
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      errorMessage: 'Failed authentication',
      responseElements: { ConsoleLogin: 'Failure' },
    } as CloudTrailRecord;
  return {
    ...common,
    eventSource: 's3.amazonaws.com',
    eventName: kind === 1 ? 'ListBuckets' : 'GetBucketPolicy',
    requestParameters: { bucketName: `b${i % 7}` },
  } as CloudTrailRecord;
}

interface ClosingSession {
  key: string;
  events: EngineEvent[];
}

function shuffle<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Feeds a stream detector as the pipeline does, whatever the arrival order: every event observed on arrival, and a
 * session closed (detect) only once every event at or before its last one has arrived, which is what the pipeline
 * guarantees within the lateness allowance. Sessions that may close together close in an order `next` picks.
 */
function runStream(
  detector: StreamDetector,
  sessions: readonly ClosingSession[],
  arrival: readonly EngineEvent[],
  next: () => number,
): string[] {
  const byTime = [...arrival].sort((a, b) => a.time - b.time);
  const seen = new Set<EngineEvent>();
  let firstMissing = 0;
  let waiting = sessions.map((x) => ({ ...x, end: Math.max(...x.events.map((e) => e.time)) }));
  const findings: string[] = [];
  const closeReady = (all: boolean) => {
    while (firstMissing < byTime.length && seen.has(byTime[firstMissing]!)) firstMissing++;
    const horizon =
      all || firstMissing === byTime.length ? Number.POSITIVE_INFINITY : byTime[firstMissing]!.time;
    const ready = shuffle(
      waiting.filter((x) => x.end < horizon),
      next,
    );
    waiting = waiting.filter((x) => x.end >= horizon);
    for (const x of ready) {
      const context = {
        key: x.key,
        kind: 'unknown' as const,
        principal: {},
        accessKeyIds: [],
        sourceIps: [],
        userAgents: [],
        regions: [],
      };
      for (const f of detector.detect(context, [...x.events].sort(compareEvents), []))
        findings.push(JSON.stringify(f));
    }
  };
  for (const e of arrival) {
    detector.observe(e);
    seen.add(e);
    closeReady(false);
  }
  closeReady(true);
  return findings.sort();
}

describe('any arrival and close order the pipeline allows gives the same findings (property)', () => {
  let detector: CartographerDetector;
  beforeAll(async () => {
    detector = await createDetector();
  }, 60_000);

  // Dense enough that bursts happen: up to 200 events in 90 minutes from two addresses. A session is a user's
  // events in one slot of 3, 10, 30 or 90 minutes, so short and long sessions interleave.
  const event = fc.record({
    minute: fc.integer({ min: 0, max: 90 }),
    user: fc.integer({ min: 0, max: 5 }),
    ip: fc.integer({ min: 1, max: 2 }),
    kind: fc.integer({ min: 0, max: 2 }),
    span: fc.constantFrom(3, 10, 30, 90),
    lateMinutes: fc.double({ min: 0, max: 14.9, noNaN: true }),
  });
  type Spec = { minute: number; user: number; ip: number; kind: number; span: number; lateMinutes: number };
  const DAY = 24 * 60 * MINUTE;

  function build(spec: Spec[]) {
    const events = spec.map((s, i) => toEngineEvent(syntheticRecord(i, s.minute, s.user, s.ip, s.kind), i));
    const byKey = new Map<string, EngineEvent[]>();
    spec.forEach((s, i) => {
      const key = `u${s.user}/${s.span}m/${Math.floor(s.minute / s.span)}`;
      byKey.set(key, [...(byKey.get(key) ?? []), events[i]!]);
    });
    const sessions = [...byKey].map(([key, list]) => ({ key, events: list }));
    // The reference: time order, nothing ever trimmed.
    const reference = runStream(
      detector.begin!({ latenessMs: DAY }),
      sessions,
      [...events].sort(compareEvents),
      () => 0,
    );
    return { events, sessions, reference };
  }

  it('records up to 15 minutes late (the default allowance), sessions closing in any order once complete', () => {
    let bursts = 0;
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 20, maxLength: 200, size: 'max' }),
        fc.integer(),
        (spec, seed) => {
          const { events, sessions, reference } = build(spec);
          const arrival = events
            .map((e, i) => ({ e, at: e.time + spec[i]!.lateMinutes * MINUTE }))
            .sort((a, b) => a.at - b.at)
            .map((x) => x.e);
          const late = runStream(
            detector.begin!({ latenessMs: 15 * MINUTE }),
            sessions,
            arrival,
            random(seed),
          );
          expect(late).toEqual(reference);
          bursts += late.filter((f) => f.includes('counting earlier sessions')).length;
        },
      ),
      { numRuns: 60, seed: 20250501 },
    );
    expect(bursts).toBeGreaterThan(60);
  });

  it('records in any order, with an allowance that covers it', () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 20, maxLength: 200, size: 'max' }),
        fc.integer(),
        (spec, seed) => {
          const { events, sessions, reference } = build(spec);
          const next = random(seed);
          expect(
            runStream(detector.begin!({ latenessMs: DAY }), sessions, shuffle(events, next), next),
          ).toEqual(reference);
        },
      ),
      { numRuns: 60, seed: 20250502 },
    );
  });
});

describe('history stays one window deep', () => {
  it('twelve hours of failed sign-ins keep at most the last window + lateness + close delay of them', async () => {
    const detector = await createDetector();
    const rules = detector.rules.filter(isCrossSession);
    const latenessMs = 15 * MINUTE;
    const memory = new CrossSessionMemory(rules, () => EMPTY_ALLOW_LIST, { latenessMs, observed: true });
    const closeAfter = 30 * MINUTE + latenessMs; // idle gap + lateness, as the pipeline closes sessions
    const longest = Math.max(...rules.map((r) => r.threshold!.windowMs));
    const open: EngineEvent[] = [];
    let matchesPerEvent = 0;
    const perMinute = 12;
    const hours = 12;
    const most = new Array<number>(hours).fill(0);
    for (let i = 0; i < hours * 60 * perMinute; i++) {
      const record = syntheticRecord(i, 0, i % 40, 1 + (i % 200), 0);
      record.eventTime = new Date(Date.parse('2025-05-01T08:00:00Z') + i * 5000).toISOString();
      const e = toEngineEvent(record, i);
      const before = memory.size;
      memory.observe(e);
      if (i === 0) matchesPerEvent = memory.size - before;
      open.push(e);
      // Each failed sign-in is a session of its own, closed as the pipeline would.
      while (open.length && e.time - open[0]!.time > closeAfter)
        memory.sessionFindings(open[0]!.id, [open.shift()!]);
      const hour = Math.floor(i / (60 * perMinute));
      most[hour] = Math.max(most[hour]!, memory.size);
    }
    expect(matchesPerEvent).toBeGreaterThanOrEqual(3);
    // Needed: open sessions' matches and one window around them, and one window + lateness behind the newest
    // event; groups still holding open matches are compacted when they double, so up to twice that.
    const needed = ((closeAfter + longest + MINUTE) / MINUTE) * perMinute * matchesPerEvent;
    expect(Math.max(...most)).toBeLessThanOrEqual(2 * needed);
    // Flat: hour after hour it holds about what it held in the third.
    expect(Math.max(...most.slice(3))).toBeLessThanOrEqual(most[2]! * 1.15);
  });
});

describe('rules check refuses cross-session rules that read enrichment', () => {
  const TECHNIQUES = '  T1110: { name: Brute Force, tactics: [Credential Access] }\n';
  function root(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmp, 'rules-'));
    for (const sub of ['detections', 'sigma', 'context']) mkdirSync(join(dir, sub));
    writeAttackTable(dir, TECHNIQUES);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }
  const threshold = (id: string, extra: string) => `  - id: ${id}
    title: Burst
    description: Many failed sign-ins.
    severity: high
    type: threshold
    count: 3
    windowMinutes: 10
    groupBy: sourceIp
    techniques: [T1110]
${extra}`;

  it('names the rule, the field and file:line, for own rules, Sigma count() and tuning exclusions', () => {
    const dir = root({
      'detections/r.yaml': `rules:
${threshold('t.across-enriched', '    acrossSessions: true\n    where: { field: enrichment.userAgentFamily, equals: browser }\n')}
${threshold('t.across-group-enriched', '    acrossSessions: true\n    distinct: enrichment.accessLevel\n    match: { eventName: ConsoleLogin }\n')}
${threshold('t.within-enriched', '    where: { field: enrichment.userAgentFamily, equals: browser }\n')}
${threshold('t.across-raw', '    acrossSessions: true\n    match: { eventName: ConsoleLogin }\n')}
`,
      'context/conditions.yaml': `conditions:
  scripted:
    description: A scripted client.
    where: { field: enrichment.userAgentFamily, in: [terraform] }
`,
      'detections/tuning.yaml': `overrides:
  - id: t.across-raw
    reason: scripts are fine
    exclude: [scripted]
  - id: t.within-enriched
    reason: scripts are fine
    exclude: [scripted]
`,
      'sigma/count.yml': `title: Enriched count
id: 44444444-4444-4444-8444-444444444444
logsource: { product: aws, service: cloudtrail }
detection:
  selection: { enrichment.accessLevel: Write }
  timeframe: 10m
  condition: selection | count() by sourceIPAddress > 5
level: low
`,
    });
    const loaded = loadDetectionRules(dir);
    const text = loaded.problems.map((p) => `${relative(dir, p.file)}:${p.line}: ${p.message}`);
    expect(text).toContainEqual(
      expect.stringMatching(
        /^detections\/r\.yaml:2: rule t\.across-enriched: reads enrichment\.userAgentFamily, but a threshold counted across sessions/,
      ),
    );
    expect(text).toContainEqual(
      expect.stringMatching(
        /^detections\/r\.yaml:14: rule t\.across-group-enriched: reads enrichment\.accessLevel/,
      ),
    );
    expect(text).toContainEqual(
      expect.stringMatching(
        /^sigma\/count\.yml:5: rule sigma:44444444-4444-4444-8444-444444444444: reads enrichment\.accessLevel/,
      ),
    );
    expect(text).toContainEqual(
      expect.stringMatching(
        /^detections\/tuning\.yaml:4: rule t\.across-raw: this exclusion reads enrichment\.userAgentFamily/,
      ),
    );
    expect(text).toHaveLength(4);
    // Refused rules are not loaded; the others are, the within-session one with its enrichment exclusion.
    const ids = loaded.rules.map((r) => r.id);
    expect(ids).toEqual(['t.within-enriched', 't.across-raw']);
    expect(loaded.overridden.get('t.within-enriched')).toHaveLength(1);
  });
});
