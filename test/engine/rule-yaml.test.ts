/**
 * The build's rule snapshot (engine/rule-yaml.ts, written by compose/startup-snapshots.ts): a text it holds is not
 * parsed again, and gives the same data and lines; any other text (an edited rule) is parsed as always.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadDefaultStages } from '../../compose/stages.ts';
import { ruleSnapshotText } from '../../compose/startup-snapshots.ts';
import { analyze } from '../../engine/pipeline.ts';
import {
  parseYaml,
  parseYamlDocuments,
  parseYamlText,
  recordRuleSnapshot,
  snapshotSchema,
  useRuleSnapshot,
  validate,
} from '../../engine/rule-yaml.ts';
import { createLocalSource } from '../../engine/sources/local-source.ts';

const Schema = z.strictObject({ rules: z.array(z.strictObject({ id: z.string(), level: z.number() })) });
const TEXT = 'rules:\n  - id: a\n    level: 1\n  - id: b\n    level: 2\n';

/** A snapshot recorded from `texts` (every text parsed once, the lines of `paths` asked for). */
function snapshotOf(texts: string[], paths: (string | number)[][] = []): string {
  const recorder = recordRuleSnapshot();
  for (const text of texts) {
    const r = parseYaml('f.yaml', text);
    if (r.ok) for (const p of paths) r.lineOf(p);
  }
  return recorder.finish();
}

afterEach(() => useRuleSnapshot(null));

describe('rule snapshot', () => {
  it('gives the recorded data and lines for the same text', () => {
    const plain = validate('f.yaml', TEXT, Schema);
    useRuleSnapshot(snapshotOf([TEXT], [['rules', 1]]));
    const fromSnapshot = validate('f.yaml', TEXT, Schema);
    expect(fromSnapshot.ok && plain.ok).toBe(true);
    if (!fromSnapshot.ok || !plain.ok) return;
    expect(fromSnapshot.value).toEqual(plain.value);
    // A recorded line and one the snapshot does not hold (parsed on demand) are the document's lines.
    expect(fromSnapshot.lineOf(['rules', 1])).toBe(4);
    expect(fromSnapshot.lineOf(['rules', 1, 'level'])).toBe(plain.lineOf(['rules', 1, 'level']));
  });

  it('is used for a text it holds, and only for that text', () => {
    // Proof that the snapshot is read: change the recorded data, keep the key (the hash of the text).
    const recorded = JSON.parse(snapshotOf([TEXT])) as { entries: Record<string, { data: string }> };
    for (const entry of Object.values(recorded.entries))
      entry.data = entry.data.replace('"a"', '"from-snapshot"');
    useRuleSnapshot(JSON.stringify(recorded));
    const hit = validate('f.yaml', TEXT, Schema);
    expect(hit.ok && hit.value.rules[0]!.id).toBe('from-snapshot');
    // An edited text has another hash: parsed, with its own problems and lines.
    const edited = TEXT.replace('level: 2', 'levl: 2');
    const miss = parseYamlText('f.yaml', edited, Schema);
    expect(miss.value).toBeUndefined();
    expect(miss.problems).toContainEqual({
      file: 'f.yaml',
      line: 5,
      message: 'unknown key(s): levl at rules.1',
    });
  });

  it("keeps a named schema's result, not an unnamed one's", () => {
    const Named = snapshotSchema('test/named', z.strictObject({ rules: z.array(z.unknown()) }));
    const Rule = snapshotSchema('test/rule', z.strictObject({ id: z.string(), level: z.number() }));
    const recorder = recordRuleSnapshot();
    const plain = validate('f.yaml', TEXT, Named);
    if (plain.ok) plain.check(['rules', 1], Rule, plain.value.rules[1]);
    validate('f.yaml', TEXT, Schema);
    const recorded = JSON.parse(recorder.finish()) as {
      entries: Record<string, { valid: Record<string, string> }>;
    };
    const [entry] = Object.values(recorded.entries);
    expect(Object.keys(entry!.valid).sort()).toEqual(['test/named', 'test/rule@["rules",1]']);
    // Proof that the recorded results are what comes back: change them.
    entry!.valid['test/named'] = '{"rules":["changed"]}';
    entry!.valid['test/rule@["rules",1]'] = '{"id":"changed","level":0}';
    useRuleSnapshot(JSON.stringify(recorded));
    const r = validate('f.yaml', TEXT, Named);
    expect(r.ok && r.value).toEqual({ rules: ['changed'] });
    if (r.ok) expect(r.check(['rules', 1], Rule, {}).data).toEqual({ id: 'changed', level: 0 });
    // The same schema on another text, or another path, validates.
    const other = validate('g.yaml', 'rules: []\n', Named);
    expect(other.ok && other.value).toEqual({ rules: [] });
    if (r.ok) expect(r.check(['rules', 0], Rule, { id: 'x' }).success).toBe(false);
  });

  it('gives fresh data on every use (a loader may change what it gets)', () => {
    useRuleSnapshot(snapshotOf([TEXT]));
    const first = parseYaml('f.yaml', TEXT);
    if (first.ok) (first.data as { rules: unknown[] }).rules.pop();
    const second = parseYaml('f.yaml', TEXT);
    expect(second.ok && (second.data as { rules: unknown[] }).rules).toHaveLength(2);
  });

  it('keeps multi-document texts and leaves out data JSON would change', () => {
    const docs = 'title: one\n---\ntitle: two\n';
    const recorder = recordRuleSnapshot();
    const plain = parseYamlDocuments(docs);
    parseYaml('g.yaml', 'limit: .inf\n');
    const recorded = JSON.parse(recorder.finish()) as { entries: Record<string, unknown> };
    // The Infinity would come back as null: not recorded, parsed at every start.
    expect(Object.keys(recorded.entries).map((k) => k.split(':')[0])).toEqual(['docs']);
    useRuleSnapshot(JSON.stringify(recorded));
    expect(parseYamlDocuments(docs)).toEqual(plain);
    const inf = parseYaml('g.yaml', 'limit: .inf\n');
    expect(inf.ok && inf.data).toEqual({ limit: Number.POSITIVE_INFINITY });
  });

  it('of the bundled rules: stages built from it analyse the demo data as stages built by parsing', async () => {
    const text = await ruleSnapshotText();
    expect(Object.keys(JSON.parse(text).entries).length).toBeGreaterThan(100);
    const analyse = async () => {
      const out: unknown[] = [];
      const stages = await loadDefaultStages();
      for await (const s of analyze(createLocalSource(['demo/invictus']).read({}), stages).sessions)
        out.push(s);
      return JSON.stringify(out);
    };
    useRuleSnapshot(text);
    const fromSnapshot = await analyse();
    useRuleSnapshot(null);
    const parsed = await analyse();
    expect(fromSnapshot.length).toBeGreaterThan(10_000);
    expect(fromSnapshot).toBe(parsed);
  });
});
