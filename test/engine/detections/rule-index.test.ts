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

describe('slots that remember their last answer', () => {
  it('answer as their rule does while callers, user agents and addresses repeat and change', () => {
    const part = rules.filter((r) => !isCrossSession(r));
    const index = indexRules(part);
    const slots = [
      ...[...index.byName.values()].flat(),
      ...[...index.bySource.values()].flat(),
      ...index.always,
      ...index.groups.flatMap((g) => [...g.byKey.values()].flat()),
    ];
    // What each slot was built from: the rule's (or the sequence step's) own predicate.
    const own = (s: Slot) => (s.step < 0 ? s.rule.match! : s.rule.sequence!.steps[s.step]!.match);
    const remembering = slots.filter((s) => s.test !== own(s));
    expect(remembering.map((s) => s.rule.id)).toEqual(
      expect.arrayContaining(['cartographer.ioc-source-ip', 'cartographer.ioc-account-granted']),
    );
    const pick = <T>(...values: T[]) => fc.constantFrom<T | undefined>(undefined, ...values);
    const change = fc.record({
      at: fc.nat(),
      agent: pick(
        'S3 Browser 9.5.5 https://s3browser.com',
        'aws-cli/2.15.0',
        'pacu/1.2',
        'x example-ioc-agent/1',
      ),
      ip: pick('192.0.2.66', '198.51.100.7', 'ec2.amazonaws.com'),
      arn: pick(
        'arn:aws:iam::111122223333:user/example-compromised-user',
        'arn:aws:iam::111122223333:user/alice',
      ),
      account: pick('000000000000', '111122223333'),
    });
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 12 }), (changes) => {
        for (const c of changes) {
          const base = structuredClone(records[c.at % records.length]!) as unknown as Record<string, unknown>;
          const id = { ...((base.userIdentity as Record<string, unknown>) ?? {}) };
          if (c.agent !== undefined) base.userAgent = c.agent;
          if (c.ip !== undefined) base.sourceIPAddress = c.ip;
          if (c.arn !== undefined) id.arn = c.arn;
          if (c.account !== undefined) id.accountId = c.account;
          base.userIdentity = id;
          const e = event(base as unknown as CloudTrailRecord, c.at);
          for (const s of remembering) {
            let expected: boolean;
            try {
              expected = own(s)(e);
            } catch {
              expected = false;
            }
            expect(safeTest(s, e), s.rule.id).toBe(expected);
          }
        }
      }),
      { numRuns: 30, seed: 19 },
    );
  });
});
