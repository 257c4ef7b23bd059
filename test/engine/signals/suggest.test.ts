/**
 * `cartographer signals suggest` and `cartographer signals coverage`: console calls of a service no page
 * knows get a page-level answer; suggest proposes pages for them; once the proposal is added to a copy of
 * the rules, the same events are named by it. Real records: a bert-jan console event of the Invictus data
 * set (demo/invictus) reused for calls of services the rules do not know (App Runner, Transfer Family).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { analyze } from '../../../engine/pipeline.ts';
import { coverageOf } from '../../../engine/signals/coverage.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { createEnricher } from '../../../enrichment/index.ts';
import { TEST_DIR } from '../../support/paths.ts';

const root = join(TEST_DIR, '..');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/cartographer.js', 'signals', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CARTOGRAPHER_LOCAL_PATH: '', CARTOGRAPHER_SOURCE: '' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A console session: one real bert-jan console record as the template, new calls in two bursts. */
function sessionFile(): string {
  const demo = join(root, 'demo/invictus');
  const records = readdirSync(demo)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => JSON.parse(readFileSync(join(demo, f), 'utf8')).Records as Record<string, unknown>[]);
  const template = records.find(
    (r) =>
      (r.userIdentity as { userName?: string }).userName === 'bert-jan' &&
      r.sessionCredentialFromConsole === 'true' &&
      r.eventName === 'DescribeDBInstances',
  ) as Record<string, unknown>;
  const at = (s: number) =>
    new Date(Date.parse('2023-07-10T12:40:00Z') + s * 1000).toISOString().replace('.000Z', 'Z');
  const call = (source: string, name: string, s: number, i: number) => ({
    ...template,
    eventSource: `${source}.amazonaws.com`,
    eventName: name,
    eventTime: at(s),
    eventID: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    requestParameters: null,
    responseElements: null,
  });
  const out = [
    call('apprunner', 'ListServices', 0, 1),
    call('apprunner', 'ListConnections', 1, 2),
    call('apprunner', 'ListAutoScalingConfigurations', 2, 3),
    call('transfer', 'ListServers', 120, 4),
    call('transfer', 'ListUsers', 121, 5),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'suggest-'));
  const file = join(dir, 'session.json');
  writeFileSync(file, JSON.stringify({ Records: out }));
  return file;
}

describe('cartographer signals suggest / coverage', () => {
  const file = sessionFile();

  it('coverage: calls of unknown services are not named before', () => {
    const r = cli(['coverage', file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('page-level 5');
    expect(r.stdout).toMatch(/0 of 5 events named \(0\.0%\)/);
  });

  it('suggest proposes pages that, once added, name those events', async () => {
    const r = cli(['suggest', file]);
    expect(r.status, r.stderr).toBe(0);
    const sections = r.stdout.split(/^# --- rules\/signals\/pages\//m).slice(1);
    expect(sections.map((s) => s.split('\n')[0])).toEqual(['apprunner.yaml', 'transfer.yaml']);
    const docs = sections.map((s) => ({ name: s.split('\n')[0]!, doc: parse(s.slice(s.indexOf('\n') + 1)) }));
    expect(docs[0]?.doc.pages[0]).toMatchObject({
      id: 'apprunner_Services',
      anchor: ['apprunner:ListServices'],
      calls: ['apprunner:ListConnections', 'apprunner:ListAutoScalingConfigurations'],
      lookback: 1,
      lookahead: 3,
    });
    expect(docs[0]?.doc.sources[0]).toContain('Recorded:');

    const rules = mkdtempSync(join(tmpdir(), 'suggested-rules-'));
    cpSync(join(root, 'rules/signals'), rules, { recursive: true });
    for (const d of docs) writeFileSync(join(rules, 'pages', d.name), JSON.stringify(d.doc));
    const mapper = await createSignalMapper({
      rulesDir: rules,
      userAgentsFile: join(root, 'rules/user-agents.yaml'),
    });
    expect(mapper.problems.filter((p) => p.severity !== 'warning')).toEqual([]);
    const stages = { enricher: await createEnricher(), signalMapper: mapper };
    const ids: string[] = [];
    for await (const s of analyze(createLocalSource([file]).read({}), stages).sessions) {
      expect(coverageOf(s.signals, s.unmappedEventIds)).toMatchObject({ events: 5, named: 5 });
      ids.push(...s.signals.map((x) => x.id));
    }
    expect(ids).toEqual(['apprunner_Services', 'transfer_Servers']);
  });

  it('says so when there is nothing to suggest, and rejects a bad sub-command', () => {
    const otrf = join(root, 'test/fixtures/otrf-security-datasets-aws');
    expect(cli(['suggest', otrf]).stdout).toContain('Nothing to suggest');
    const bad = cli(['propose', otrf]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown sub-command 'propose'");
  });
});
