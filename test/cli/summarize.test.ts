import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '../../engine/record.ts';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const clean = { ...process.env, CARTOGRAPHER_LOCAL_PATH: '', CARTOGRAPHER_SOURCE: '', ...env };
  const res = spawnSync(process.execPath, ['bin/cartographer.js', 'summarize', ...args], {
    encoding: 'utf8',
    env: clean,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

interface EventDoc {
  eventName: string;
  userAgent?: string;
}
interface SessionDoc {
  key: string;
  kind: string;
  mfa?: boolean;
  eventCount: number;
  principal: { userName?: string };
  events: EventDoc[];
}
type RawRecord = CloudTrailRecord & { responseElements?: { credentials?: { sessionToken?: string } } | null };

const DEMO = 'demo/invictus';
const records = readdirSync(DEMO)
  .filter((f) => f.endsWith('.json'))
  .flatMap((f) => JSON.parse(readFileSync(join(DEMO, f), 'utf8')).Records) as RawRecord[];

describe('cartographer summarize --format json on the bundled Invictus data', () => {
  const run = cli([DEMO, '--format', 'json', '--events']);
  const doc = JSON.parse(run.stdout);

  it('exits 0 with the documented document shape', () => {
    expect(run.status).toBe(0);
    expect(Object.keys(doc)).toEqual(['sessions', 'inputs', 'meta']);
    expect(doc.inputs).toMatchObject({ files: 55, records: records.length, duplicates: 0, rejected: [] });
    for (const s of doc.sessions) {
      for (const k of [
        'key',
        'kind',
        'principal',
        'accessKeyIds',
        'sourceIps',
        'userAgents',
        'regions',
        'start',
        'end',
      ]) {
        expect(s).toHaveProperty(k);
      }
      for (const k of ['eventCount', 'errorCount', 'signals', 'unmappedEventIds', 'findings', 'events']) {
        expect(s).toHaveProperty(k);
      }
      expect(['console', 'programmatic', 'service', 'unknown']).toContain(s.kind);
      expect(s.events).toHaveLength(s.eventCount);
    }
  });

  it("separates the two humans' console sessions from the Stratus Red Team and Terraform activity", () => {
    const consoleUsers = new Set(
      doc.sessions
        .filter((s: SessionDoc) => s.kind === 'console')
        .map((s: SessionDoc) => s.principal.userName),
    );
    expect(consoleUsers).toContain('bert-jan');
    expect(consoleUsers).toContain('benjamin');
    const tool = /stratus-red-team|Terraform/;
    for (const s of doc.sessions.filter((x: SessionDoc) => x.kind === 'console')) {
      const toolEvents = s.events.filter(
        (e: EventDoc) => tool.test(e.userAgent ?? '') && e.eventName !== 'ConsoleLogin',
      );
      expect(toolEvents).toEqual([]);
    }
    const terraform: SessionDoc = doc.sessions.find((s: SessionDoc) => s.key === 'AKIATFQR7NSC8Q4X20BJ');
    expect(terraform.kind).toBe('programmatic');
    expect(terraform.principal.userName).toBe('bert-jan');
    const expectedTerraform = records.filter(
      (r) => r.userIdentity?.accessKeyId === 'AKIATFQR7NSC8Q4X20BJ',
    ).length;
    expect(terraform.eventCount).toBe(expectedTerraform);
  });

  it('never writes credentials from responses (session tokens, secret keys)', () => {
    const tokens = records
      .map((r) => r.responseElements?.credentials?.sessionToken)
      .filter((t): t is string => typeof t === 'string');
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) expect(run.stdout.includes(t.slice(0, 40))).toBe(false);
    expect(run.stdout).not.toMatch(/secretAccessKey/i);
  });
});

describe('cartographer summarize (text, filters, errors)', () => {
  it('prints an aligned summary per session and what was read', () => {
    const run = cli(['test/fixtures/invictus/AWSLogs', 'test/fixtures/invictus/bad/garbage-line.jsonl']);
    expect(run.status).toBe(0);
    const headers = run.stdout.split('\n').filter((l) => l.startsWith('── '));
    expect(headers.length).toBeGreaterThan(1);
    for (const label of ['session', 'when', 'events']) {
      const rows = run.stdout.split('\n').filter((l) => l.startsWith(`   ${label.padEnd(9)} `));
      expect(rows.length).toBe(headers.length);
    }
    expect(run.stdout).toMatch(/from 3 files/);
    expect(run.stdout).toMatch(/rejected test\/fixtures\/invictus\/bad\/garbage-line\.jsonl:6: not JSON/);
    expect(run.stdout).toMatch(/skipped 2 file/);
  });

  it('--session picks one session (by key or access key); event lists only with --events', () => {
    const run = cli([
      'test/fixtures/invictus/bert-jan-console.jsonl',
      '--format',
      'json',
      '--session',
      'arn:aws:iam::123837392027:user/bert-jan@2023-07-10T12:27:45Z',
    ]);
    expect(run.status).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.sessions.map((s: SessionDoc) => s.key)).toEqual([
      'arn:aws:iam::123837392027:user/bert-jan@2023-07-10T12:27:45Z',
    ]);
    expect(doc.sessions[0].kind).toBe('console');
    expect(doc.sessions[0].mfa).toBe(true);
    expect(doc.sessions[0]).not.toHaveProperty('events');
  });

  it('reads CARTOGRAPHER_LOCAL_PATH when no path is given', () => {
    const run = cli(['--format', 'json', '--no-events'], {
      CARTOGRAPHER_LOCAL_PATH:
        'test/fixtures/invictus/get-password-data-role.array.json,test/fixtures/invictus/bert-jan-console.jsonl',
    });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout).inputs).toMatchObject({ files: 2, records: 29 + 40 });
  });

  it('bad arguments: exit 2 with a reason and the usage', () => {
    for (const args of [
      ['--format', 'yaml', DEMO],
      ['--bogus', DEMO],
      [],
      ['--since', 'last tuesday', DEMO],
      ['--idle-gap', '0', DEMO],
    ]) {
      const run = cli(args);
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/usage: cartographer summarize/);
    }
  });

  it('an unreadable path: exit 1 naming the path', () => {
    const run = cli(['test/fixtures/invictus/no-such-dir']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /cannot read test\/fixtures\/invictus\/no-such-dir: no such file or directory/,
    );
  });
});
