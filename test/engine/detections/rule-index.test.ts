/**
 * The candidate lists of rule-index.ts leave a rule out only when its condition is already false for the event's
 * key fields (eventSource, eventName, userIdentity.type, errorCode, enrichment.sourceKind …): on the shipped rule
 * set, over the demo records and over records with those fields changed at random, every rule that matches an
 * event is among its candidates, and the candidates are far fewer than the unpruned list.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDefaultStages } from '../../../compose/stages.ts';
import type { CompiledRule } from '../../../engine/detections/compiled-rule.ts';
import { isCrossSession } from '../../../engine/detections/cross-session.ts';
import {
  candidateLookup,
  indexRules,
  partialValue,
  type RuleIndex,
  type Slot,
  safeTest,
} from '../../../engine/detections/rule-index.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import type { EngineEvent } from '../../../engine/model.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import type { Enricher } from '../../../engine/stages.ts';

let rules: CompiledRule[];
let enricher: Enricher | undefined;
const records: CloudTrailRecord[] = [];

beforeAll(async () => {
  const stages = await loadDefaultStages();
  rules = [...((stages.detector as unknown as { rules: CompiledRule[] }).rules ?? [])];
  enricher = stages.enricher;
  for await (const item of createLocalSource(['demo/invictus']).read({})) {
    if (item.kind === 'record') records.push(item.record);
  }
}, 60_000);

/** Every slot an event could be tested against without pruning (what the index gave before). */
function unpruned(index: RuleIndex, e: EngineEvent): Slot[] {
  const { eventSource, eventName } = e.record;
  const out = [
    ...(index.byName.get(eventName.toLowerCase()) ?? []),
    ...(index.bySource.get(eventSource.toLowerCase()) ?? []),
    ...index.always,
  ];
  for (const g of index.groups) for (const k of g.keys(e)) out.push(...(g.byKey.get(k) ?? []));
  return out;
}

function event(record: CloudTrailRecord, seq: number): EngineEvent {
  const e = toEngineEvent(structuredClone(record), seq);
  enricher?.enrich(e);
  return e;
}

function check(index: RuleIndex, lookup: (e: EngineEvent) => Slot[], e: EngineEvent) {
  const candidates = new Set(lookup(e));
  const all = unpruned(index, e);
  const missed = all.filter((s) => !candidates.has(s) && safeTest(s, e)).map((s) => s.rule.id);
  expect(missed, `${e.record.eventSource} ${e.record.eventName}`).toEqual([]);
  return { candidates: candidates.size, all: new Set(all).size };
}

describe('rule candidates pruned by key fields', () => {
  it('keeps every matching rule for the demo records and prunes most of the rest', () => {
    for (const part of [rules.filter((r) => !isCrossSession(r)), rules.filter(isCrossSession)]) {
      const index = indexRules(part);
      const lookup = candidateLookup(index);
      let kept = 0;
      let before = 0;
      records.forEach((r, i) => {
        const n = check(index, lookup, event(r, i));
        kept += n.candidates;
        before += n.all;
      });
      if (part.length > 100) expect(kept).toBeLessThan(before * 0.8);
    }
  });

  it('keeps every matching rule when the key fields take other values', () => {
    const index = indexRules(rules.filter((r) => !isCrossSession(r)));
    const lookup = candidateLookup(index);
    const maybe = <T>(...values: T[]) => fc.constantFrom<T | undefined>(undefined, ...values);
    fc.assert(
      fc.property(
        fc.nat(),
        fc.record({
          type: maybe('Root', 'IAMUser', 'AssumedRole', 'AWSService', 'AWSAccount', 'root'),
          errorCode: maybe('AccessDenied', 'Client.UnauthorizedOperation', 'VpceAccessDenied', ''),
          eventType: maybe('AwsApiCall', 'AwsVpceEvent', 'AwsServiceEvent', 'AwsConsoleSignIn'),
          readOnly: maybe<unknown>(true, false, 'true'),
          invokedBy: maybe('ec2.amazonaws.com', 'AWS Internal'),
          console: maybe<unknown>(true, 'true', false),
        }),
        (at, k) => {
          const base = structuredClone(records[at % records.length]!) as unknown as Record<string, unknown>;
          const id = { ...((base.userIdentity as Record<string, unknown>) ?? {}) };
          const set = (o: Record<string, unknown>, key: string, v: unknown) => {
            if (v === undefined) delete o[key];
            else o[key] = v;
          };
          set(id, 'type', k.type);
          set(id, 'invokedBy', k.invokedBy);
          base.userIdentity = id;
          set(base, 'errorCode', k.errorCode);
          set(base, 'eventType', k.eventType);
          set(base, 'readOnly', k.readOnly);
          set(base, 'sessionCredentialFromConsole', k.console);
          check(index, lookup, event(base as unknown as CloudTrailRecord, at));
        },
      ),
      { numRuns: 300, seed: 19 },
    );
  });

  it('evaluates only what the key fields decide', () => {
    const e = event(records[0]!, 0);
    const known = new Map([['userIdentity.type', ['Root']]]);
    const rootOnly = rules.find((r) => r.id === 'cartographer.root-activity')!.condition!;
    expect(partialValue(rootOnly, known, e)).toBeUndefined();
    expect(partialValue(rootOnly, new Map([['userIdentity.type', ['IAMUser']]]), e)).toBe(false);
    expect(partialValue({ kind: 'not', child: { kind: 'const', value: false } }, known, e)).toBe(true);
    // A field that is not a key field is never decided.
    expect(
      partialValue({ kind: 'test', field: 'userAgent', test: () => false, describe: undefined }, known, e),
    ).toBeUndefined();
  });
});
