/**
 * Exactly once across restarts: a child process runs the real scheduler against the Slack
 * stand-in and real CloudTrail files; it is killed with SIGKILL mid-scan and started again on the
 * same state file. Every alert must be posted exactly once, and the set must equal that of a run
 * that was never interrupted.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SlackStandin, startSlackStandin } from '../../../playground/standin/server.ts';

const TOKEN = 'xoxb-restart-test-token';
const START = '2023-07-10T11:40:00Z';
const END = '2023-07-10T12:25:00Z';
let standin: SlackStandin;
let data: string;
let root: string;

beforeAll(async () => {
  standin = await startSlackStandin({ signingSecret: 'restart-test-secret', botToken: TOKEN });
  root = mkdtempSync(join(tmpdir(), 'cartographer-restart-'));
  // Real Invictus delivery files up to 12:20 (the bundled demo data): enough for a dozen alerts.
  data = join(root, 'data');
  mkdirSync(data);
  for (const f of readdirSync('demo/invictus')) {
    const m = /_20230710T(\d{4})Z_/.exec(f);
    if (m && m[1]! <= '1220') copyFileSync(join('demo/invictus', f), join(data, f));
  }
});

afterAll(async () => {
  await standin?.close();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runChild(
  db: string,
  channel: string,
  extra: Record<string, string> = {},
  onPost?: (n: number, child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/run-ts.js', 'test/bot/scheduler/restart.child.ts'], {
      env: {
        ...process.env,
        DB: db,
        DATA: data,
        SLACK_API_URL: standin.apiUrl,
        SLACK_BOT_TOKEN: TOKEN,
        CHANNEL: channel,
        START,
        END,
        ...extra,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let posts = 0;
    child.stdout.on('data', (c) => {
      stdout += String(c);
      const n = (stdout.match(/^posted /gm) ?? []).length;
      if (n > posts) {
        posts = n;
        onPost?.(n, child);
      }
    });
    child.stderr.on('data', (c) => {
      stderr += String(c);
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Alert keys of the bot's posts in a channel (parents and thread replies), from their metadata. */
function postedKeys(channelId: string): string[] {
  return standin.state.messages
    .filter((m) => m.channel === channelId && m.bot)
    .map((m) => (m.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key)
    .filter((k): k is string => typeof k === 'string');
}

function channelId(name: string): string {
  return standin.state.channel(name)!.id;
}

describe('scheduled alert scans across a SIGKILL', () => {
  let reference: string[] = [];

  it('an uninterrupted run posts each alert once (the reference)', async () => {
    const run = await runChild(join(root, 'reference.db'), 'general');
    expect(run.code, run.stderr).toBe(0);
    reference = postedKeys(channelId('general'));
    expect(reference.length).toBeGreaterThanOrEqual(8);
    expect(new Set(reference).size).toBe(reference.length);
  }, 300_000);

  it('killed right after Slack accepted a post, before the ledger recorded it: nothing twice, nothing missed', async () => {
    const db = join(root, 'crash-after-post.db');
    const crashed = await runChild(db, 'soc-triage', { CRASH_AFTER_POSTS: '4' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(postedKeys(channelId('soc-triage'))).toHaveLength(4);
    const resumed = await runChild(db, 'soc-triage');
    expect(resumed.code, resumed.stderr).toBe(0);
    // The 4th post was in Slack but 'pending' in the ledger; start-up found it by its metadata.
    expect(resumed.stdout).toContain('pending before start: 1\n');
    expect(resumed.stdout).toContain('pending after start: 0\n');
    expect(resumed.stdout.split('\n').filter((l) => l.startsWith('posted '))).toHaveLength(
      reference.length - 4,
    );
    const keys = postedKeys(channelId('soc-triage'));
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...reference].sort());
  }, 300_000);

  it('killed from outside at an arbitrary point after a few posts: nothing twice, nothing missed', async () => {
    const db = join(root, 'killed.db');
    standin.state.channels.push({ id: 'C0KILLTEST', name: 'kill-test', botMember: true });
    const killed = await runChild(db, 'kill-test', {}, (n, child) => {
      if (n === 6) child.kill('SIGKILL');
    });
    expect(killed.signal).toBe('SIGKILL');
    const before = postedKeys('C0KILLTEST').length;
    expect(before).toBeGreaterThanOrEqual(6);
    const resumed = await runChild(db, 'kill-test');
    expect(resumed.code, resumed.stderr).toBe(0);
    const keys = postedKeys('C0KILLTEST');
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...reference].sort());
  }, 300_000);

  it('killed after the ledger recorded a post, before the watermark moved: nothing twice, nothing missed', async () => {
    const db = join(root, 'crash-after-record.db');
    standin.state.channels.push({ id: 'C0RECORDED', name: 'recorded-test', botMember: true });
    const crashed = await runChild(db, 'recorded-test', { CRASH_AT: 'record:3' });
    expect(crashed.signal).toBe('SIGKILL');
    expect(crashed.stdout.split('\n').filter((l) => l.startsWith('recorded '))).toHaveLength(3);
    const resumed = await runChild(db, 'recorded-test');
    expect(resumed.code, resumed.stderr).toBe(0);
    // Nothing was left pending; the window is read again and the ledger keeps the 3 recorded posts from repeating.
    expect(resumed.stdout).toContain('pending before start: 0\n');
    const keys = postedKeys('C0RECORDED');
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...reference].sort());
  }, 300_000);

  it('killed right before a watermark advance (every post of the window recorded): nothing twice, nothing missed', async () => {
    const db = join(root, 'crash-before-watermark.db');
    standin.state.channels.push({ id: 'C0WATERMARK', name: 'watermark-test', botMember: true });
    // The child writes the starting watermark itself (not counted); the 3rd advance ends the third scan.
    const crashed = await runChild(db, 'watermark-test', { CRASH_AT: 'watermark:3' });
    expect(crashed.signal).toBe('SIGKILL');
    const before = postedKeys('C0WATERMARK').length;
    const resumed = await runChild(db, 'watermark-test');
    expect(resumed.code, resumed.stderr).toBe(0);
    const keys = postedKeys('C0WATERMARK');
    expect(keys.length).toBeGreaterThanOrEqual(before);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual([...reference].sort());
  }, 300_000);
});
