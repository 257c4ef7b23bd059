/**
 * Programmatic sessions of the Invictus data set (demo/invictus) in plain words: benjamin's boto3
 * inventory run reads as a handful of sentences without API names; bert-jan's Stratus Red Team and
 * Terraform runs get tool headers ("… Terraform apply: 21 changes") and every write stays its own line.
 * Prints the sentences of both short sessions.
 */
import { describe, expect, it } from 'vitest';
import { analyze, type SessionReport } from '../../../engine/pipeline.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { changesSomething } from '../../../engine/signals/writes.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { createEnricher } from '../../../enrichment/index.ts';
import { TEST_DIR } from '../../support/paths.ts';

/** An API name in a sentence: `iam:ListUsers`, `DescribeInstances`, `GetBucketAcl`. */
const API_NAME = /\b[a-z0-9-]+:[A-Z]\w+|\b(Describe|List|Get|Put|Create|Delete|Update)[A-Z][a-z]+[A-Z]?\w*/;

describe('programmatic sessions in plain words', async () => {
  const stages = { enricher: await createEnricher(), signalMapper: await createSignalMapper() };
  const sessions: SessionReport[] = [];
  const analysis = analyze(createLocalSource([`${TEST_DIR}/../demo/invictus`]).read({}), stages, {
    keepEvents: true,
  });
  for await (const s of analysis.sessions) if (s.kind === 'programmatic') sessions.push(s);
  const byUser = (name: string) =>
    sessions.find((s) => s.principal.userName === name || s.principal.arn?.includes(name)) as SessionReport;
  const lines = (s: SessionReport) =>
    s.signals.filter((x) => !x.suppressed).map((x) => `${x.start.slice(11, 19)}  ${x.summary}`);

  it('summarises benjamin’s boto3 session in fewer than 15 lines without API names', () => {
    const s = byUser('benjamin');
    const text = lines(s);
    console.log(`benjamin (${s.eventCount} events):\n${text.join('\n')}`);
    expect(text.length).toBeLessThan(15);
    expect(text.filter((l) => API_NAME.test(l))).toEqual([]);
    expect(text.join('\n')).toMatch(/Enumerated IAM: .*users/);
    expect(text.join('\n')).toMatch(/the logging, policy, ACL and location of 8 S3 buckets/);
    expect(s.signals.flatMap((x) => x.eventIds)).toHaveLength(s.eventCount);
  });

  it('summarises the stolen instance-role session in fewer than 15 lines without API names', () => {
    const s = byUser('steal-credentials-role');
    const text = lines(s);
    console.log(`${s.principal.arn} (${s.eventCount} events):\n${text.join('\n')}`);
    expect(text.length).toBeLessThan(15);
    expect(text.filter((l) => API_NAME.test(l))).toEqual([]);
  });

  it('names the tools of bert-jan’s key and keeps every write on a line of its own', () => {
    const s = byUser('bert-jan');
    const names = s.signals.map((x) => x.name);
    expect(names.some((n) => /^Stratus Red Team via Terraform apply: \d+ changes/.test(n))).toBe(true);
    expect(names.some((n) => /^Terraform destroy: \d+ changes/.test(n))).toBe(true);
    const byEvent = new Map(s.signals.flatMap((x) => x.eventIds.map((id) => [id, x] as const)));
    const writes = (s.events ?? []).filter(changesSomething);
    expect(writes.length).toBeGreaterThan(200);
    const hidden = writes.filter((e) => byEvent.get(e.id)?.details.kind !== 'write');
    expect(hidden.map((e) => e.record.eventName)).toEqual([]);
    // A write line holds one kind of call only.
    for (const x of s.signals.filter((y) => y.details.kind === 'write')) {
      expect(Object.keys(x.details.eventNames as object)).toHaveLength(1);
    }
  });
});
