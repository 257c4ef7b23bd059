import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnalyzeOptions, analyze, type SessionReport } from '../../../engine/pipeline.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import type { SourceItem } from '../../../engine/source.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';

const DEMO = 'demo/invictus';
const records: CloudTrailRecord[] = readdirSync(DEMO)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(readFileSync(join(DEMO, f), 'utf8')).Records);

async function* itemsOf(recs: CloudTrailRecord[], file = 'mem.json'): AsyncGenerator<SourceItem> {
  yield { kind: 'file', origin: { file } };
  for (let i = 0; i < recs.length; i++)
    yield { kind: 'record', record: recs[i]!, origin: { file, position: i + 1 } };
}
async function sessionsOf(
  items: AsyncIterable<SourceItem>,
  options: AnalyzeOptions = {},
): Promise<SessionReport[]> {
  const out: SessionReport[] = [];
  for await (const s of analyze(items, {}, { keepEvents: true, ...options }).sessions) out.push(s);
  return out;
}
const clone = (rs: CloudTrailRecord[]) => rs.map((r) => structuredClone(r));

describe('sessions on the Invictus data set', async () => {
  const sessions = await sessionsOf(itemsOf(clone(records)));
  const console_ = sessions.filter((s) => s.kind === 'console');
  const humans = (name: string) => console_.filter((s) => s.principal.userName === name);

  it('every event lands in exactly one session', () => {
    const ids = sessions.flatMap((s) => s.events!.map((e) => e.id));
    expect(ids).toHaveLength(records.length);
    expect(new Set(ids).size).toBe(records.length);
  });

  it("marks both humans' console sessions as console, rotating ASIA keys and all", () => {
    const bertJan = humans('bert-jan');
    const benjamin = humans('benjamin');
    expect(benjamin.length).toBeGreaterThanOrEqual(1);
    expect(bertJan.length).toBeGreaterThanOrEqual(2);
    // The MFA sign-in at 12:27:45 and the console calls made under it are one session, not one per key.
    const mfaLogin = records.find(
      (r) => r.eventName === 'ConsoleLogin' && r.userIdentity?.userName === 'bert-jan',
    )!;
    const loginSession = bertJan.find((s) => s.events!.some((e) => e.id === mfaLogin.eventID))!;
    expect(loginSession.mfa).toBe(true);
    const underLogin = records.filter(
      (r) =>
        r.userIdentity?.sessionContext?.attributes?.creationDate === mfaLogin.eventTime &&
        r.userIdentity?.userName === 'bert-jan',
    );
    const keys = new Set(underLogin.map((r) => r.userIdentity?.accessKeyId));
    expect(keys.size).toBeGreaterThan(5);
    expect(loginSession.eventCount).toBe(underLogin.length + 1);
    expect(loginSession.accessKeyIds).toEqual([...keys].sort());
  });

  it('keeps the Stratus Red Team and Terraform activity out of the console sessions', () => {
    const tool = /stratus-red-team|Terraform/;
    for (const s of console_) {
      for (const e of s.events!) {
        if (e.record.eventName === 'ConsoleLogin' && tool.test(e.record.userAgent ?? '')) continue; // Stratus' own console login technique
        expect(e.record.userAgent ?? '').not.toMatch(tool);
      }
    }
    const terraform = sessions.filter((s) => s.userAgents.some((u) => tool.test(u)) && s.kind !== 'console');
    expect(terraform.length).toBeGreaterThan(0);
    expect(terraform.every((s) => s.kind === 'programmatic')).toBe(true);
    const stratusKeys = new Set(
      records.filter((r) => tool.test(r.userAgent ?? '')).map((r) => r.userIdentity?.accessKeyId),
    );
    for (const s of console_) for (const k of s.accessKeyIds) expect(stratusKeys.has(k)).toBe(false);
  });

  it('one session per long-term key (AKIA) and per role session', () => {
    const terraformKey = 'AKIATFQR7NSC8Q4X20BJ';
    const withKey = sessions.filter((s) => s.key === terraformKey || s.key.startsWith(`${terraformKey}#`));
    expect(withKey.reduce((n, s) => n + s.eventCount, 0)).toBe(
      records.filter((r) => r.userIdentity?.accessKeyId === terraformKey).length,
    );
    const stolen = sessions.filter((s) =>
      s.principal.arn?.includes('stratus-red-team-ec2-steal-credentials-role'),
    );
    expect(stolen).toHaveLength(1);
    // Stolen instance credentials used from two places: both show on the one session.
    expect(stolen[0]!.sourceIps.length).toBe(2);
    expect(stolen[0]!.principal.issuerArn).toMatch(/:role\/stratus-red-team-ec2-steal-credentials-role$/);
  });

  it('AWS services acting on their own are service sessions', () => {
    const services = sessions.filter((s) => s.key.startsWith('service:'));
    expect(services.length).toBeGreaterThan(0);
    expect(services.every((s) => s.kind === 'service')).toBe(true);
    const serviceEvents = records.filter(
      (r) => r.userIdentity?.type === 'AWSService' || !r.userIdentity?.type,
    ).length;
    expect(services.reduce((n, s) => n + s.eventCount, 0)).toBe(serviceEvents);
  });

  it('a sign-in step without an access key is grouped by principal', () => {
    const checkMfa = records.find((r) => r.eventName === 'CheckMfa')!;
    expect(checkMfa.userIdentity?.arn).toBeUndefined();
    const s = sessions.find((x) => x.events!.some((e) => e.id === checkMfa.eventID))!;
    expect(s.key).toBe('arn:aws:iam::123837392027:user/bert-jan');
    expect(s.kind).toBe('console');
  });

  it('sessions come out in start order and count errors', () => {
    const starts = sessions.map((s) => s.start);
    expect(starts).toEqual([...starts].sort());
    const errors = records.filter((r) => r.errorCode).length;
    expect(sessions.reduce((n, s) => n + s.errorCount, 0)).toBe(errors);
  });
});

describe('session rules', () => {
  it('records without identity: one input file is one session', async () => {
    const a = 'demo/cartographer-console-session/InputEvents.json';
    const dir = 'test/fixtures/cartographer/Tests/Sessions';
    const b = join(dir, readdirSync(dir).sort()[0]!, 'InputEvents.json');
    const sessions = await sessionsOf(createLocalSource([a, b]).read({}));
    expect(sessions.map((s) => s.key).sort()).toEqual([`input:${a}`, `input:${b}`].sort());
    const counts = [a, b].map((f) => JSON.parse(readFileSync(f, 'utf8')).length);
    expect(sessions.map((s) => s.eventCount).sort()).toEqual(counts.sort());
    // Browser user agents in the events make them console sessions even without userIdentity.
    expect(sessions.every((s) => s.kind === 'console')).toBe(true);
  });

  it('an idle gap splits a stream into numbered sessions', async () => {
    const key = 'AKIATFQR7NSCUXC3DDDP';
    const own = records.filter((r) => r.userIdentity?.accessKeyId === key);
    const times = own.map((r) => Date.parse(r.eventTime)).sort((x, y) => x - y);
    const gapMinutes = 5;
    const expectedParts = 1 + times.slice(1).filter((t, i) => t - times[i]! > gapMinutes * 60_000).length;
    expect(expectedParts).toBeGreaterThan(1);
    const sessions = await sessionsOf(itemsOf(clone(own)), { idleGapMinutes: gapMinutes });
    expect(sessions.map((s) => s.key)).toEqual(
      Array.from({ length: expectedParts }, (_, i) => (i === 0 ? key : `${key}#${i + 1}`)),
    );
    // Default gap (30 min): one session.
    expect(await sessionsOf(itemsOf(clone(own)))).toHaveLength(1);
  });

  it('newest-first input (LookupEvents order) splits at the same gaps, numbered oldest first', async () => {
    const key = 'AKIATFQR7NSCUXC3DDDP';
    const own = records.filter((r) => r.userIdentity?.accessKeyId === key);
    const newestFirst = [...own].sort((a, b) => Date.parse(b.eventTime) - Date.parse(a.eventTime));
    const spans = (ss: SessionReport[]) => ss.map((s) => `${s.key} ${s.start} ${s.end} ${s.eventCount}`);
    const forward = await sessionsOf(itemsOf(clone([...newestFirst].reverse())), { idleGapMinutes: 5 });
    const backward = await sessionsOf(itemsOf(clone(newestFirst)), { idleGapMinutes: 5 });
    expect(forward.length).toBeGreaterThan(1);
    expect(forward[0]!.key).toBe(key);
    // Was compared without keys: newest-first input used to name the newest part `KEY` and the older ones `KEY#2`….
    expect(spans(backward)).toEqual(spans(forward));
  });

  it('shuffled input gives the same sessions with the same event order', async () => {
    let seed = 42;
    const shuffled = clone(records);
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const j = seed % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    // Shuffling across the whole hour defeats streaming closure, so allow for it (lateness = 2 h).
    const view = (ss: SessionReport[]) =>
      ss.map((s) => ({ ...s, events: s.events!.map((e) => e.id) })).sort((a, b) => (a.key < b.key ? -1 : 1));
    const a = await sessionsOf(itemsOf(clone(records)), { latenessMinutes: 120 });
    const b = await sessionsOf(itemsOf(shuffled), { latenessMinutes: 120 });
    expect(view(b)).toEqual(view(a));
    // Events sharing a second are ordered by source and name, not by arrival.
    const sameSecond = a
      .flatMap((s) => s.events!)
      .filter((e, i, all) => i > 0 && all[i - 1]!.time === e.time);
    expect(sameSecond.length).toBeGreaterThan(100);
  });

  it('filters one session by key or by one of its access keys', async () => {
    const all = await sessionsOf(itemsOf(clone(records)));
    const target = all.find((s) => s.kind === 'console' && s.accessKeyIds.length > 3)!;
    const byKey = await sessionsOf(itemsOf(clone(records)), { sessionKey: target.key });
    expect(byKey.map((s) => s.key)).toEqual([target.key]);
    const byAccessKey = await sessionsOf(itemsOf(clone(records)), { sessionKey: target.accessKeyIds[2]! });
    expect(byAccessKey.map((s) => s.key)).toEqual([target.key]);
  });
});
