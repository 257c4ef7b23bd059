/** `cartographer rules check` on broken signal definitions: each problem names its file and line. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkSignalRules, run } from '../../cli/commands/rules.ts';
import { TEST_DIR } from '../support/paths.ts';

const userAgents = readFileSync(join(TEST_DIR, '../rules/user-agents.yaml'), 'utf8');

const goodDefs = `service: IAM
signals:
  - id: IAM_Users
    name: Users
    anchor: [iam:ListUsers]
    required: [iam:ListUsers]
`;
const goodLabels = `events:
  iam:ListUsers:
    - labels: [IAM_Users]
`;

/** A rules root (signals/ and the user-agent table) holding the given files over a valid baseline. */
function rulesRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'rules-'));
  const dir = join(root, 'signals');
  mkdirSync(join(dir, 'labels'), { recursive: true });
  mkdirSync(join(dir, 'defs'));
  writeFileSync(join(root, 'user-agents.yaml'), userAgents);
  const all: Record<string, string> = {
    'followups.yaml': 'followups: []\n',
    'defs/IAM.yaml': goodDefs,
    'labels/iam.yaml': goodLabels,
    ...files,
  };
  for (const [name, text] of Object.entries(all)) writeFileSync(join(dir, name), text);
  return root;
}

const errorsOf = async (files: Record<string, string>) =>
  (await checkSignalRules(rulesRoot(files))).filter((p) => p.severity !== 'warning');

describe('rules check', () => {
  afterEach(() => vi.restoreAllMocks());

  it('passes the bundled rules and a clean folder', async () => {
    expect(await errorsOf({})).toEqual([]);
    expect(
      (await checkSignalRules(join(TEST_DIR, '../rules'))).filter((p) => p.severity !== 'warning'),
    ).toEqual([]);
  });

  it('reports bad YAML with its line', async () => {
    const errors = await errorsOf({
      'defs/IAM.yaml': `service: IAM\nsignals:\n  - id: A\n    name: [unclosed\n`,
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.file).toMatch(/defs[/\\]IAM\.yaml$/);
    expect(errors[0]?.line).toBeGreaterThanOrEqual(4);
    expect(errors[0]?.message).toMatch(/^YAML:/);
  });

  it('reports an unknown key at the line of that key', async () => {
    const errors = await errorsOf({
      'defs/IAM.yaml': `${goodDefs}    lookbak: 5\n`,
    });
    expect(errors.map((e) => [e.line, e.message])).toEqual([[7, 'unknown key(s): lookbak at signals.0']]);
  });

  it('reports a value of the wrong type at its line', async () => {
    const errors = await errorsOf({
      'labels/iam.yaml': `events:\n  iam:ListUsers:\n    - when: { params: { keys: maxItems } }\n      labels: [IAM_Users]\n`,
      'defs/IAM.yaml': goodDefs.replace(
        '    required: [iam:ListUsers]',
        '    required: [iam:ListUsers]\n    lookahead: soon',
      ),
    });
    const byFile = Object.fromEntries(errors.map((e) => [e.file.replace(/.*signals[/\\]/, ''), e]));
    expect(byFile['labels/iam.yaml']?.line).toBe(3);
    expect(byFile['labels/iam.yaml']?.message).toContain('events.iam:ListUsers.0.when.params.keys');
    expect(byFile['defs/IAM.yaml']?.line).toBe(7);
    expect(byFile['defs/IAM.yaml']?.message).toContain('lookahead');
  });

  it('reports unknown user-agent families, bad templates, duplicate ids and bad regexes', async () => {
    const errors = await errorsOf({
      'labels/iam.yaml': `events:
  iam:ListUsers:
    - when: { userAgent: aws-internel }
      labels: [IAM_Users]
    - when: { params: { matches: { a: "([" } } }
      labels: [IAM_Users]
`,
      'defs/IAM.yaml': `${goodDefs}  - id: IAM_Users
    name: 'Users {{countt iam:ListUsers}}'
    anchor: [iam:ListUsers]
    required: [iam:ListUsers]
`,
    });
    const lines = errors.map((e) => `${e.file.replace(/.*signals[/\\]/, '')}:${e.line} ${e.message}`);
    expect(lines).toEqual([
      expect.stringMatching(/^defs\/IAM\.yaml:7 signal 'IAM_Users' is already defined at .*IAM\.yaml:3$/),
      "labels/iam.yaml:3 unknown user-agent shape or group 'aws-internel' (see rules/user-agents.yaml)",
      expect.stringMatching(/^labels\/iam\.yaml:5 case cannot be used: Invalid regular expression/),
    ]);
    const tpl = await errorsOf({
      'defs/IAM.yaml': goodDefs.replace('name: Users', "name: 'Users {{countt iam:ListUsers}}'"),
    });
    expect(tpl.map((e) => [e.line, e.message])).toEqual([
      [4, "signal 'IAM_Users' name: unknown template expression '{{countt iam:ListUsers}}'"],
    ]);
  });

  it('names the real problem inside follow-up rules and either-or fields', async () => {
    const errors = await errorsOf({
      'followups.yaml':
        'followups:\n  - rename: { from: A, to: B }\n    when: { previus: { id: X } }\n  - merge: { first: A, second: B }\n',
      'defs/IAM.yaml': goodDefs.replace('required: [iam:ListUsers]', 'required: iam:ListUsers'),
    });
    expect(errors.map((e) => `${e.file.replace(/.*signals[/\\]/, '')}:${e.line} ${e.message}`)).toEqual([
      'followups.yaml:3 unknown key(s): previus at followups.0.when',
      'followups.yaml:4 Invalid input: expected number, received undefined at followups.1.merge.withinSeconds',
      'defs/IAM.yaml:6 Invalid input: expected "*" or expected array, received string at signals.0.required',
    ]);
  });

  it('keeps loading the good files when one is broken, and says so', async () => {
    const root = rulesRoot({ 'defs/Broken.yaml': 'service: X\nsignals: 7\n' });
    const { loadSignalRules } = await import('../../engine/signals/rules.ts');
    const loaded = await loadSignalRules(join(root, 'signals'));
    expect(loaded.rules.defs.has('IAM_Users')).toBe(true);
    expect(loaded.problems.map((p) => p.line)).toEqual([2]);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { createSignalMapper } = await import('../../engine/signals/index.ts');
    const mapper = await createSignalMapper({ rulesDir: join(root, 'signals'), warnOnRuleErrors: true });
    expect(mapper.rules.defs.has('IAM_Users')).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toMatch(/Broken\.yaml:2: .*signals/);
  });

  it('the command prints file:line: message and exits 1 on errors, 0 on warnings only', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const bad = rulesRoot({ 'defs/IAM.yaml': `${goodDefs}    lookbak: 5\n` });
    expect(await run(['check', bad])).toBe(1);
    expect(out.join('')).toMatch(/defs[/\\]IAM\.yaml:7: error: unknown key\(s\): lookbak/);
    out.length = 0;
    const warnOnly = rulesRoot({
      'labels/iam.yaml': `${goodLabels}  iam:GetUser:\n    - labels: [IAM_Nope]\n`,
    });
    expect(await run(['check', warnOnly])).toBe(0);
    expect(out.join('')).toMatch(/iam\.yaml:5: warning: label 'IAM_Nope' has no signal definition/);
    out.length = 0;
    expect(await run(['check', bad, '--format', 'json'])).toBe(1);
    expect(JSON.parse(out.join('')).errors).toBe(1);
  });

  it('explain prints each event with its family, labels and the action that took it', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk));
      return true;
    });
    const demo = join(TEST_DIR, 'fixtures/cartographer/Demo/InputEvents.json');
    expect(
      await run(['explain', demo, '--from', '2024-04-13T05:12:12Z', '--to', '2024-04-13T05:12:12Z']),
    ).toBe(0);
    const lines = out.join('').trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.startsWith('2024-04-13T05:12:12Z'))).toBe(true);
    expect(lines.some((l) => /iam:ListUsers\s+aws-internal\s+→ IAM_Users\s+\[.*IAM_Users/.test(l))).toBe(
      true,
    );
    expect(await run(['explain'])).toBe(2);
  });
});
