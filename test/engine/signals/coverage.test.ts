/**
 * Console sessions Cloud Console Cartographer never recorded: how many of their events sit in a named user
 * action (a Cartographer definition, a console page of rules/signals/pages, or a sentence for calls and
 * writes), not in a page-level answer, a bare "Called …" line or nowhere. Data: the two people of the
 * Invictus IR data set (demo/invictus) and the 2020 EC2 console session of OTRF Security-Datasets.
 * Prints the per-session table and a spot-check of actions with their events; writes both to
 * test-artifacts/signal-coverage.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../../engine/model.ts';
import { analyze, type SessionReport } from '../../../engine/pipeline.ts';
import { type Coverage, categoryOf, coverageOf, NAMED } from '../../../engine/signals/coverage.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { createEnricher } from '../../../enrichment/index.ts';
import { TEST_DIR } from '../../support/paths.ts';

const here = TEST_DIR;
const DATA = [
  { set: 'invictus', path: join(here, '../demo/invictus') },
  { set: 'otrf', path: join(here, 'fixtures/otrf-security-datasets-aws') },
];
const TARGET = 0.9;

async function consoleSessions(): Promise<{ set: string; report: SessionReport }[]> {
  const stages = { enricher: await createEnricher(), signalMapper: await createSignalMapper() };
  const out: { set: string; report: SessionReport }[] = [];
  for (const d of DATA) {
    const analysis = analyze(createLocalSource([d.path]).read({}), stages, { keepEvents: true });
    for await (const report of analysis.sessions) {
      if (report.kind === 'console' && report.principal.userName) out.push({ set: d.set, report });
    }
  }
  return out;
}

const pct = (c: Coverage) => (c.events ? c.named / c.events : 1);

function eventsOf(s: Signal, report: SessionReport): string {
  const byId = new Map((report.events ?? []).map((e) => [e.id, e]));
  const counts = new Map<string, number>();
  for (const id of s.eventIds) {
    const r = byId.get(id)?.record;
    const k = r ? `${r.eventSource.replace('.amazonaws.com', '')}:${r.eventName}` : id;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => (n > 1 ? `${k} ×${n}` : k)).join(', ');
}

describe('console sessions Cartographer never recorded', async () => {
  const sessions = await consoleSessions();
  const rows = sessions.map(({ set, report }) => ({
    set,
    who: report.principal.userName as string,
    start: report.start,
    coverage: coverageOf(report.signals, report.unmappedEventIds),
  }));
  const people = rows.filter((r) => r.set === 'otrf' || ['bert-jan', 'benjamin'].includes(r.who));

  it('names at least 90% of the events of each person and of the 2020 EC2 session', () => {
    const total = (list: typeof rows) => {
      const sum = { events: 0, named: 0 };
      for (const r of list) {
        sum.events += r.coverage.events;
        sum.named += r.coverage.named;
      }
      return sum;
    };
    const line = (r: (typeof rows)[number]) =>
      `${r.set.padEnd(9)} ${r.who.padEnd(10)} ${r.start.slice(0, 19)}  ${String(r.coverage.events).padStart(5)} ${String(r.coverage.named).padStart(6)} ${(pct(r.coverage) * 100).toFixed(1).padStart(6)}%  ${Object.entries(
        r.coverage.byCategory,
      )
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')}`;
    const inv = total(people.filter((r) => r.set === 'invictus'));
    const otrf = total(people.filter((r) => r.set === 'otrf'));
    console.log(
      [
        'data set  person     session start         events  named   share  by kind',
        ...people.map(line),
        `Invictus people: ${inv.named}/${inv.events} = ${((inv.named / inv.events) * 100).toFixed(1)}%; OTRF EC2 console: ${otrf.named}/${otrf.events} = ${((otrf.named / otrf.events) * 100).toFixed(1)}%`,
      ].join('\n'),
    );
    expect(people.filter((r) => r.set === 'invictus').length).toBeGreaterThanOrEqual(3);
    expect(inv.named / inv.events).toBeGreaterThanOrEqual(TARGET);
    expect(otrf.named / otrf.events).toBeGreaterThanOrEqual(TARGET);
    // Each person's long sessions on their own too (a one-event sign-in step proves nothing either way).
    for (const r of people.filter((x) => x.coverage.events >= 20)) {
      expect(pct(r.coverage), `${r.who} ${r.start}`).toBeGreaterThanOrEqual(TARGET);
    }
  });

  it('lists the named actions with their events for a spot check', () => {
    const spot: { session: string; time: string; action: string; kind: string; events: string }[] = [];
    for (const { report } of sessions) {
      for (const s of report.signals) {
        if (s.suppressed || !NAMED.has(categoryOf(s))) continue;
        spot.push({
          session: `${report.principal.userName} ${report.start.slice(11, 16)}`,
          time: s.start.slice(11, 19),
          action: s.name,
          kind: categoryOf(s),
          events: eventsOf(s, report),
        });
      }
    }
    console.log(spot.map((x) => `| ${x.session} | ${x.time} | ${x.action} | ${x.events} |`).join('\n'));
    mkdirSync(join(here, '../test-artifacts'), { recursive: true });
    writeFileSync(
      join(here, '../test-artifacts/signal-coverage.json'),
      `${JSON.stringify({ sessions: rows, spotCheck: spot }, null, 2)}\n`,
    );
    expect(spot.length).toBeGreaterThanOrEqual(20);
  });
});
