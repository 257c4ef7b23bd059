import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EngineEvent, Finding } from '../../engine/model.ts';
import { compareEvents } from '../../engine/order.ts';
import { analyze } from '../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { SourceItem } from '../../engine/source.ts';
import type { PipelineStages, SessionContext } from '../../engine/stages.ts';

const DEMO = 'demo/invictus';
// Delivery order, as the directory walker reads them.
const files = readdirSync(DEMO)
  .filter((f) => f.endsWith('.json'))
  .sort((a, b) =>
    a.split('_')[3]! < b.split('_')[3]! ? -1 : a.split('_')[3]! > b.split('_')[3]! ? 1 : a < b ? -1 : 1,
  );
const records: CloudTrailRecord[] = files.flatMap(
  (f) => JSON.parse(readFileSync(join(DEMO, f), 'utf8')).Records,
);

async function* itemsOf(recs: CloudTrailRecord[], progress?: { read: number }): AsyncGenerator<SourceItem> {
  yield { kind: 'file', origin: { file: 'mem.json' } };
  for (let i = 0; i < recs.length; i++) {
    if (progress) progress.read = i + 1;
    yield {
      kind: 'record',
      record: structuredClone(recs[i]!),
      origin: { file: 'mem.json', position: i + 1 },
    };
  }
}

describe('pipeline', () => {
  it('emits sessions while input is still being read, in start order', async () => {
    const progress = { read: 0 };
    const readWhenEmitted: number[] = [];
    const starts: string[] = [];
    for await (const s of analyze(itemsOf(records, progress), {}, { idleGapMinutes: 5, latenessMinutes: 5 })
      .sessions) {
      readWhenEmitted.push(progress.read);
      starts.push(s.start);
    }
    expect(readWhenEmitted.filter((n) => n < records.length).length).toBeGreaterThan(0);
    expect(starts).toEqual([...starts].sort());
  });

  it('a session that never pauses does not hold every other session in memory', async () => {
    // One AWS service polling every minute for 10 hours, and 2-event sessions of other keys every 10 minutes.
    const base = records.find((r) => r.userIdentity?.type === 'AWSService')!;
    const human = records.find(
      (r) => r.userIdentity?.accessKeyId?.startsWith('AKIA') && !r.userIdentity.sessionContext,
    )!;
    const t0 = Date.parse('2023-07-10T00:00:00Z');
    const stream: CloudTrailRecord[] = [];
    for (let m = 0; m < 600; m++) {
      const at = (ms: number) => new Date(t0 + ms).toISOString().replace('.000Z', 'Z');
      stream.push({ ...base, eventID: `poll-${m}`, eventTime: at(m * 60_000) });
      if (m % 10 === 0) {
        const userIdentity = { ...human.userIdentity, accessKeyId: `AKIAEXAMPLE${m}` };
        stream.push({ ...human, userIdentity, eventID: `h-${m}-a`, eventTime: at(m * 60_000 + 1000) });
        stream.push({ ...human, userIdentity, eventID: `h-${m}-b`, eventTime: at(m * 60_000 + 2000) });
      }
    }
    const progress = { read: 0 };
    const seenAt: number[] = [];
    const analysis = analyze(itemsOf(stream, progress), {}, { keepEvents: true, maxHeldEvents: 20 });
    const keys: string[] = [];
    for await (const s of analysis.sessions) {
      seenAt.push(progress.read);
      keys.push(s.key);
    }
    expect(keys).toHaveLength(61);
    // Most sessions come out long before the end of input, although the polling session is open all along.
    expect(seenAt.filter((n) => n < stream.length / 2).length).toBeGreaterThan(20);
    // The polling session itself comes out at the end of input, after sessions that started later.
    const service = keys.findIndex((k) => k.startsWith('service:'));
    expect(service).toBeGreaterThan(20);
    expect(seenAt[service]).toBe(stream.length);
    // …and the run says so.
    const notes = analysis.inputs.skipped?.filter((n) => n.where === 'sessions') ?? [];
    expect(notes).toHaveLength(1);
    expect(Number.parseInt(notes[0]!.reason, 10)).toBeGreaterThan(20);
    expect(notes[0]!.reason).toMatch(
      /^\d+ session report\(s\) went out before a session that started earlier and had not paused \(service:[^)]+\), because more than 20 events of finished sessions were waiting behind it/,
    );
  });

  it('runs the stages in the documented order and puts their output in the report', async () => {
    const observed: string[] = [];
    const enriched: EngineEvent[] = [];
    const mapped: { ctx: SessionContext; events: readonly EngineEvent[] }[] = [];
    const stages: PipelineStages = {
      enricher: {
        info: { table: 'test' },
        observe: (e) => observed.push(e.id),
        enrich: (e) => {
          enriched.push(e);
          e.enrichment = {
            iamActions: [],
            riskCategories: [],
            mitre: [],
            userAgentFamily: 'x',
            sourceKind: 'public',
          };
        },
      },
      signalMapper: {
        map: (ctx, events) => {
          mapped.push({ ctx, events });
          return { signals: [], unmappedEventIds: [events[0]!.id] };
        },
      },
      detector: {
        detect: (ctx, events): Finding[] => [
          {
            id: `f-${ctx.key}`,
            ruleId: 'test.rule',
            title: 'first event',
            severity: 'low',
            techniques: [],
            tactics: [],
            sessionKey: ctx.key,
            time: events[0]!.record.eventTime,
            eventIds: [events[0]!.id],
            explanation: 'test',
          },
        ],
        score: (_ctx, findings) => ({ score: findings.length * 10, reasons: ['test'] }),
      },
    };
    const analysis = analyze(itemsOf(records.slice(0, 500)), stages, { keepEvents: true });
    const reports = [];
    for await (const s of analysis.sessions) reports.push(s);
    // observe: every event once, in arrival order.
    expect(observed).toEqual(records.slice(0, 500).map((r) => r.eventID));
    expect(enriched).toHaveLength(500);
    for (const { ctx, events } of mapped) {
      expect([...events].sort(compareEvents)).toEqual(events);
      expect(events.every((e) => e.enrichment !== undefined)).toBe(true);
      const report = reports.find((r) => r.key === ctx.key)!;
      expect(report.findings.map((f) => f.ruleId)).toEqual(['test.rule']);
      expect(report.risk).toEqual({ score: 10, reasons: ['test'] });
      expect(report.unmappedEventIds).toEqual([events[0]!.id]);
    }
    expect(mapped).toHaveLength(reports.length);
  });

  it('a failing stage costs its own output for that session, not the run', async () => {
    let calls = 0;
    const stages: PipelineStages = {
      signalMapper: {
        map: (_ctx, events) => {
          if (calls++ === 0) throw new Error('boom');
          return { signals: [], unmappedEventIds: events.map((e) => e.id) };
        },
      },
    };
    const analysis = analyze(itemsOf(records.slice(0, 300)), stages);
    let sessions = 0;
    let events = 0;
    for await (const s of analysis.sessions) {
      sessions++;
      events += s.eventCount;
    }
    expect(events).toBe(300);
    expect(sessions).toBeGreaterThan(1);
    expect(analysis.inputs.rejected).toHaveLength(1);
    expect(analysis.inputs.rejected[0]!.reason).toBe('signal mapping failed: boom');
  });

  it('passes on truncation and counts files, records, duplicates', async () => {
    async function* items(): AsyncGenerator<SourceItem> {
      yield* itemsOf(records.slice(0, 10));
      yield* itemsOf(records.slice(5, 10));
      yield { kind: 'truncated', reason: 'stopped after 15 events (event cap)' };
    }
    const analysis = analyze(items(), {});
    for await (const _ of analysis.sessions) {
      // drain
    }
    expect(analysis.inputs).toMatchObject({ files: 2, records: 15, duplicates: 5, rejected: [] });
    expect(analysis.truncated).toBe('stopped after 15 events (event cap)');
  });
});
