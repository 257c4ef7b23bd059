/**
 * The own rules hold on records that say less than a full trail: every own rule's firing single-event test case
 * (rules/detections/tests/*.yaml) still raises that rule's finding when the record
 *   - has no eventSource, where the event name alone names that service (ingestion infers it);
 *   - has no userIdentity.type, where the ARN's form spells that type (ingestion reads it from the ARN);
 *   - arrives wrapped in an EventBridge envelope ("AWS API Call via CloudTrail"; ingestion unwraps it).
 * These are the systematic causes of misses seen on other vendors' test events (hand-written records, SIEM exports,
 * CloudWatch Events); the test keeps them fixed for every rule, present and future.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createDetector } from '../../adapters/rules/detection-rules.ts';
import { inferEventSource } from '../../engine/ingest/infer-event-source.ts';
import { recordsFromValue } from '../../engine/ingest/records-from-value.ts';
import { createEnricherFactory } from '../../enrichment/index.ts';
import { evaluateCase } from '../support/panther-cases.ts';

type Rec = Record<string, unknown> & { userIdentity?: Record<string, unknown> };
interface Case {
  rule: string;
  name: string;
  event: Rec;
}

const dir = 'rules/detections/tests';
const cases: Case[] = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .flatMap((f) => {
    const doc = parse(readFileSync(join(dir, f), 'utf8')) as {
      tests?: { rule: string; name: string; fires: boolean; events: Rec[] }[];
    };
    return (doc.tests ?? [])
      .filter((t) => t.fires && t.events.length === 1)
      .map((t) => ({ rule: t.rule, name: t.name, event: t.events[0]! }));
  });

const ARN_TYPE: [RegExp, string][] = [
  [/^arn:aws[a-z-]*:iam::[^:]*:root$/, 'Root'],
  [/^arn:aws[a-z-]*:iam::[^:]*:user\//, 'IAMUser'],
  [/^arn:aws[a-z-]*:sts::[^:]*:assumed-role\//, 'AssumedRole'],
  [/^arn:aws[a-z-]*:sts::[^:]*:federated-user\//, 'FederatedUser'],
];

function withoutSource(e: Rec): Rec | undefined {
  if (typeof e.eventName !== 'string' || inferEventSource(e.eventName) !== e.eventSource) return undefined;
  const { eventSource: _, ...rest } = e;
  return rest;
}
function withoutIdentityType(e: Rec): Rec | undefined {
  const u = e.userIdentity;
  const arn = typeof u?.arn === 'string' ? u.arn : '';
  if (!u || ARN_TYPE.find(([re]) => re.test(arn))?.[1] !== u.type) return undefined;
  const { type: _, ...identity } = u;
  return { ...e, userIdentity: identity };
}
function eventBridge(e: Rec): Rec | undefined {
  const envelope = {
    version: '0',
    id: 'b4f2c1d0-0000-4000-8000-000000000001',
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${String(e.eventSource).split('.')[0]}`,
    account: '111122223333',
    time: e.eventTime,
    region: e.awsRegion,
    resources: [],
    detail: e,
  };
  const items = [...recordsFromValue(envelope, { file: 'case', position: 1 })];
  const item = items.find((i) => i.kind === 'record') as { record: Rec } | undefined;
  return item?.record;
}

describe('own rules on sparse records', () => {
  it('every firing single-event case still raises its rule without eventSource, identity type or envelope', async () => {
    const detector = await createDetector();
    const makeEnricher = await createEnricherFactory();
    const lost: string[] = [];
    const tried = { withoutSource: 0, withoutIdentityType: 0, eventBridge: 0 };
    for (const c of cases) {
      for (const [variant, make] of [
        ['withoutSource', withoutSource],
        ['withoutIdentityType', withoutIdentityType],
        ['eventBridge', eventBridge],
      ] as const) {
        const log = make(structuredClone(c.event));
        if (!log) continue;
        tried[variant]++;
        const r = await evaluateCase(
          { rule_id: c.rule, test_name: c.name, expected: true, log },
          detector,
          async () => makeEnricher(),
        );
        if (!r.findings.some((f) => f.startsWith(`${c.rule}:`)))
          lost.push(`${variant}: ${c.rule} | ${c.name} | ${r.findings.join(' ')}`);
      }
    }
    expect(cases.length).toBeGreaterThan(300);
    expect(tried.withoutSource).toBeGreaterThan(250);
    expect(tried.withoutIdentityType).toBeGreaterThan(250);
    expect(tried.eventBridge).toBe(cases.length);
    expect(lost).toEqual([]);
  }, 120_000);
});
