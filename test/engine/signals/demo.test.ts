/**
 * The 1,000-event demo console session (Cloud Console Cartographer's README demo) summarised as a short
 * timeline. Ground truth is Cartographer's own output for the same events (test session 96db9634…).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSignalMapper } from '../../../engine/signals/index.ts';
import { TEST_DIR } from '../../support/paths.ts';
import { readEvents, readExpected, session } from '../../support/signals-support.ts';

const fixtures = join(TEST_DIR, 'fixtures/cartographer');

describe('demo session', async () => {
  const mapper = await createSignalMapper();
  const events = readEvents(join(fixtures, 'Demo/InputEvents.json'));
  const result = mapper.map(session, events);
  const expected = readExpected(
    join(
      fixtures,
      'Tests/Sessions/96db9634834704ac9e2c1be410bbf9a7819449043eaf6a47edd76a925515c666/ExpectedSignals.json',
    ),
  );

  it('summarises 1,000 events into about 40 actions', () => {
    expect(events).toHaveLength(1000);
    expect(result.signals.length).toBeGreaterThanOrEqual(35);
    expect(result.signals.length).toBeLessThanOrEqual(45);
    const shown = result.signals.filter((s) => !s.suppressed);
    expect(shown.length).toBeLessThan(result.signals.length);
  });

  it('has IAM_Users with exactly the 484 events Cartographer groups there', () => {
    const users = result.signals.filter((s) => s.id === 'IAM_Users');
    expect(users).toHaveLength(1);
    const want = expected.find((x) => x.Label === 'IAM_Users');
    expect(want).toBeDefined();
    const wantIds = (want?.AllEventIdArr ?? '').split(',').sort();
    expect(wantIds).toHaveLength(484);
    expect([...(users[0]?.eventIds ?? [])].sort()).toEqual(wantIds);
    expect(users[0]?.name).toContain('IAM');
    expect(users[0]?.details.eventCount).toBe(484);
    // The users it touched, read from the member events (capped for Slack).
    const resources = users[0]?.details.resources as string[];
    const userNames = new Set(
      events
        .filter((e) => wantIds.includes(e.id))
        .map((e) => e.record.requestParameters?.userName as string | undefined),
    );
    expect(resources.length).toBeGreaterThan(5);
    expect(resources.length).toBeLessThanOrEqual(20);
    expect(resources.every((r) => userNames.has(r))).toBe(true);
  });

  it('gives every event a place: signals in time order, nothing unexplained', () => {
    const starts = result.signals.map((s) => s.start);
    expect(starts).toEqual([...starts].sort());
    const placed = new Set(result.signals.flatMap((s) => s.eventIds));
    expect(placed.size + result.unmappedEventIds.length).toBe(1000);
    // Cartographer leaves 5 kms:Decrypt calls (made by Secrets Manager for the user) unmapped; we explain them.
    expect(result.unmappedEventIds).toEqual([]);
    const decrypt = result.signals.filter((s) =>
      s.eventIds.some((id) => !expected.some((x) => x.AllEventIdArr.includes(id))),
    );
    expect(decrypt.some((s) => (s.details.eventNames as Record<string, number>)['kms:Decrypt'])).toBe(true);
  });

  it('matches Cartographer on every action of the session (id and member events)', () => {
    const produced = new Set(result.signals.map((s) => `${s.id}|${[...s.eventIds].sort().join(',')}`));
    const missing = expected.filter(
      (x) => !produced.has(`${x.Label}|${x.AllEventIdArr.split(',').sort().join(',')}`),
    );
    expect(missing.map((x) => x.Label)).toEqual([]);
  });

  it('never puts secret values into names or summaries', () => {
    const text = result.signals.map((s) => `${s.name} ${s.summary}`).join('\n');
    expect(text).not.toMatch(/"SecretString"|aws_secret_access_key|sessionToken/i);
  });

  it('does not read console pages into a programmatic session', () => {
    const programmatic = mapper.map({ ...session, kind: 'programmatic' }, events);
    expect(programmatic.signals.some((s) => s.id === 'IAM_Users')).toBe(false);
    expect(programmatic.signals.every((s) => /^(Read|Write|Enumerate|Run|Console)_/.test(s.id))).toBe(true);
    // Console-agent reads still get the page-level answer; the CLI calls from CloudShell become sentences.
    expect(programmatic.signals.some((s) => s.id === 'Console_iam')).toBe(true);
    expect(programmatic.signals.some((s) => s.details.from === 'summary')).toBe(true);
  });

  it('gives the same actions for the same events in any input order', () => {
    // A fixed shuffle (linear congruential) keeps the test repeatable.
    const shuffled = [...events];
    let seed = 7;
    for (let i = shuffled.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const j = seed % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    expect(shuffled.map((e) => e.id)).not.toEqual(events.map((e) => e.id));
    expect(mapper.map(session, shuffled)).toEqual(result);
  });
});
