/**
 * Streaming: pushing a session's events one by one gives exactly the batch result, and actions come out
 * before the session ends once nothing later can change them.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Signal } from '../../../engine/model.ts';
import { analyze } from '../../../engine/pipeline.ts';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import { DEFAULT_USER_AGENTS_FILE } from '../../../engine/user-agent.ts';
import { createEnricher } from '../../../enrichment/index.ts';
import { TEST_DIR } from '../../support/paths.ts';
import { ev, readEvents, session, toEvents } from '../../support/signals-support.ts';

const sessions = join(TEST_DIR, 'fixtures/cartographer/Tests/Sessions');

describe('signal stream', async () => {
  const mapper = await createSignalMapper();

  it('equals the batch mapping on every recorded session and the demo, emitting early', () => {
    const files = [
      ...readdirSync(sessions).map((d) => join(sessions, d, 'InputEvents.json')),
      join(TEST_DIR, 'fixtures/cartographer/Demo/InputEvents.json'),
    ];
    let early = 0;
    for (const file of files) {
      const events = readEvents(file);
      const batch = mapper.map(session, events);
      const stream = mapper.stream(session);
      const streamed: Signal[] = [];
      for (const e of events) {
        const ready = stream.push(e);
        early += ready.length;
        streamed.push(...ready);
      }
      streamed.push(...stream.end());
      expect(streamed, file).toEqual(batch.signals);
      expect([...stream.unmappedEventIds].sort(), file).toEqual([...batch.unmappedEventIds].sort());
    }
    expect(early).toBeGreaterThan(0);
  });

  it('equals the batch mapping on the Invictus sessions: console pages, tool runs and programmatic sentences', async () => {
    const stages = { enricher: await createEnricher() };
    let programmatic = 0;
    const analysis = analyze(createLocalSource([join(TEST_DIR, '../demo/invictus')]).read({}), stages, {
      keepEvents: true,
    });
    for await (const report of analysis.sessions) {
      const context = { ...session, kind: report.kind };
      const events = report.events ?? [];
      const batch = mapper.map(context, events);
      const stream = mapper.stream(context);
      const streamed: Signal[] = [];
      for (const e of events) streamed.push(...stream.push(e));
      streamed.push(...stream.end());
      expect(streamed, report.key).toEqual(batch.signals);
      if (report.kind === 'programmatic') programmatic += batch.signals.length;
    }
    expect(programmatic).toBeGreaterThan(100);
  });

  it('holds back a signal a later step may still rename, across a quiet gap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signals-stream-'));
    mkdirSync(join(dir, 'labels'));
    mkdirSync(join(dir, 'defs'));
    writeFileSync(
      join(dir, 'labels/kms.yaml'),
      'events:\n  kms:ListKeys: [{ labels: [Keys] }]\n  kms:CreateKey: [{ labels: [Create2] }]\n  kms:ListAliases: [{ labels: [Aliases] }]\n',
    );
    writeFileSync(
      join(dir, 'defs/KMS.yaml'),
      `service: KMS
signals:
  - { id: Keys, name: Keys, anchor: [kms:ListKeys], required: [kms:ListKeys] }
  - { id: Create1, name: 'Create step 1', anchor: [kms:ListKeys], required: [kms:ListKeys] }
  - { id: Create2, name: Create2, anchor: [kms:CreateKey], required: [kms:CreateKey] }
  - { id: Aliases, name: Aliases, anchor: [kms:ListAliases], required: [kms:ListAliases] }
`,
    );
    writeFileSync(
      join(dir, 'followups.yaml'),
      'followups:\n  - renamePrevious: { from: Keys, to: Create1 }\n    when: { current: { id: Create2 } }\n',
    );
    const m = await createSignalMapper({ rulesDir: dir, userAgentsFile: DEFAULT_USER_AGENTS_FILE });
    const [aliases, keys, create, later] = toEvents([
      ev('kms:ListAliases', 0),
      ev('kms:ListKeys', 100),
      ev('kms:CreateKey', 900),
      ev('kms:ListAliases', 2000),
    ]);
    const stream = m.stream();
    expect(stream.push(aliases!)).toEqual([]);
    // Aliases is final once the quiet gap passes; Keys is held: the next step may rename it.
    expect(stream.push(keys!).map((s) => s.id)).toEqual(['Aliases']);
    expect(stream.push(create!).map((s) => s.id)).toEqual([]);
    expect(stream.push(later!).map((s) => s.id)).toEqual(['Create1', 'Create2']);
    expect(stream.end().map((s) => s.id)).toEqual(['Aliases']);
  });
});
