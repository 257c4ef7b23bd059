/**
 * Risk alerts end to end: the real scheduler scans replayed Invictus CloudTrail (plus copies of one
 * real event an hour and two hours later, as if the actor did it again) and posts to the Slack
 * stand-in; the real bot (sharing the state file) handles the buttons.
 *   - one parent message per alert; the same rule for the same principal and resource within the
 *     repeat window is a reply in that thread, not a new alert;
 *   - "Snooze 24h" mutes that rule for that principal; the next repeat is recorded, not posted;
 *   - "Show raw events" posts the evidence in the thread;
 *   - catching up after downtime says so, and beyond the limit says what was skipped.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchedulerState } from '../../../adapters/state/scheduler-state.ts';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { openSqliteStore } from '../../../adapters/store/sqlite-store.ts';
import { checkMessage } from '../../../bot/messages/limits.ts';
import { alertKey as ledgerKey } from '../../../bot/scheduler/alert-key.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler, type Scheduler } from '../../../bot/scheduler/scheduler.ts';
import { createOutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import type { Finding } from '../../../engine/model.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import type { StandinMessage } from '../../../playground/standin/state.ts';
import { BOT_TOKEN, type Harness, startHarness, waitFor } from '../../support/slack-harness.ts';

const SG_EVENT_ID = '7e96f0e7-4d78-423d-b3f5-391370685b30'; // AuthorizeSecurityGroupIngress 0.0.0.0/0, 12:10:05
const CHANNEL = 'C0SOCTRIAGE';
const SCOPE = 'local/*/*';

let h: Harness;
let state: SchedulerState;
let scheduler: Scheduler;
const clock = manualClock(Date.parse('2023-07-10T11:40:00Z'));

beforeAll(async () => {
  h = await startHarness();
  const data = join(h.dir, 'data');
  mkdirSync(data);
  let sg: Record<string, unknown> | undefined;
  for (const f of readdirSync('demo/invictus')) {
    const m = /_20230710T(\d{4})Z_/.exec(f);
    if (!m || m[1]! > '1215') continue;
    copyFileSync(join('demo/invictus', f), join(data, f));
    const records = JSON.parse(readFileSync(join('demo/invictus', f), 'utf8')).Records as Record<
      string,
      unknown
    >[];
    sg ??= records.find((r) => r.eventID === SG_EVENT_ID);
  }
  expect(sg).toBeDefined();
  // The same call again one and two hours later (new event ids): a repeat, then a snoozed repeat.
  const again = [1, 2].map((hours) => ({
    ...sg,
    eventID: `${SG_EVENT_ID.slice(0, -4)}000${hours}`,
    eventTime: new Date(Date.parse(String(sg?.eventTime)) + hours * 3_600_000)
      .toISOString()
      .replace('.000Z', 'Z'),
  }));
  writeFileSync(
    join(data, '218007301253_CloudTrail_us-east-1_20230710T1415Z_repeatsOfSgEvent.json'),
    JSON.stringify({ Records: again }),
  );
  const db = join(h.dir, 'bot.db'); // the bot's own file: its buttons see the ledger and the evidence
  state = openSchedulerState(db);
  await state.setWatermark(SCOPE, clock.now()); // as if scans had been running until 11:40
  scheduler = createScheduler({
    config: loadSchedulerConfig({
      CARTOGRAPHER_ALERT_CHANNEL: CHANNEL,
      CARTOGRAPHER_ALERT_MIN_SEVERITY: 'high',
      CARTOGRAPHER_ALERT_REPEAT_WINDOW_HOURS: '24',
      CARTOGRAPHER_SCHEDULE: 'off',
    }),
    state,
    sourceName: 'local',
    source: async () => createLocalSource([data]),
    stages: loadDefaultStages,
    outbox: createOutboxPoster(new WebClient(BOT_TOKEN, { slackApiUrl: h.standin.apiUrl })),
    store: openSqliteStore(db),
    logger: pino({ level: 'silent' }),
    clock,
  });
}, 60_000);

afterAll(async () => {
  await state?.close();
  await h?.close();
});

const parents = () => h.standin.state.channelMessages(CHANNEL).filter((m) => m.bot);
const alertKey = (m: StandinMessage) =>
  (m.metadata as { event_payload?: { key?: string } })?.event_payload?.key;

async function scanUntil(iso: string) {
  while (clock.now() < Date.parse(iso)) {
    clock.advance(5 * 60_000);
    expect(await scheduler.scanNow('test tick')).toBe(true);
  }
}

describe('risk alerts', () => {
  let sgParent: StandinMessage;

  it('posts one parent message per alert, each within Slack limits, with evidence and buttons', async () => {
    await scanUntil('2023-07-10T12:20:00Z');
    const posted = parents();
    expect(posted.length).toBeGreaterThanOrEqual(8);
    const keys = posted.map(alertKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const m of posted) {
      expect(checkMessage({ text: m.text, blocks: m.blocks ?? [] })).toEqual([]);
      const buttons = (m.blocks ?? []).flatMap((b) => (b.type === 'actions' ? b.elements : []));
      expect(buttons.map((b: { action_id: string }) => b.action_id)).toEqual([
        'cartographer_alert_ack',
        'cartographer_alert_assign',
        'cartographer_alert_resolve',
        'cartographer_show_raw',
        'cartographer_snooze_1h',
        'cartographer_snooze_24h',
        'cartographer_snooze_7d',
      ]);
    }
    sgParent = posted.find((m) => m.text.includes('Security group opened to the whole internet'))!;
    expect(sgParent).toBeDefined();
    expect(JSON.stringify(sgParent.blocks)).toContain('sg-04cfb7a4712d75b00');
    expect(h.standin.state.thread(CHANNEL, sgParent.ts)).toHaveLength(0);
  }, 60_000);

  it('puts the same rule for the same principal and resource into the existing thread', async () => {
    const before = parents().length;
    clock.set(Date.parse('2023-07-10T13:15:00Z')); // 55 minutes without scans
    expect(await scheduler.scanNow('after a pause')).toBe(true);
    const added = parents().slice(before);
    // The scan says it caught up, first; then only alerts of other rules/resources may be new parents.
    expect(added[0]?.text).toMatch(/^Caught up 55 min 0 s of alert scans missed/);
    expect(
      parents().filter((m) => m.text.includes('Security group opened to the whole internet')),
    ).toHaveLength(1);
    const replies = h.standin.state.thread(CHANNEL, sgParent.ts);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.text).toMatch(
      /^Again: Security group opened to the whole internet at 2023-07-10 13:10:05 UTC/,
    );
  }, 60_000);

  it('Snooze mutes that rule for that principal: the next repeat is recorded, not posted', async () => {
    const click = await h.standin.clickButton(sgParent.ts, 'cartographer_snooze_24h');
    expect(click.status).toBe(200);
    const note = await waitFor('the snooze note', () =>
      h.standin.state.thread(CHANNEL, sgParent.ts).find((m) => m.text.startsWith('Snoozed by <@U0ANALYST1>')),
    );
    expect(note.text).toContain('for arn:aws:iam::123837392027:user/bert-jan');
    const repliesBefore = h.standin.state.thread(CHANNEL, sgParent.ts).length;
    const sgRule = (await state.getAlert(alertKey(sgParent)!))!.ruleId;
    await scanUntil('2023-07-10T14:20:00Z');
    expect(h.standin.state.thread(CHANNEL, sgParent.ts)).toHaveLength(repliesBefore);
    expect(
      parents().filter((m) => m.text.includes('Security group opened to the whole internet')),
    ).toHaveLength(1);
    // The 14:10 repeat is in the ledger as snoozed (so it never posts later either).
    const secondCopy = `${SG_EVENT_ID.slice(0, -4)}0002`;
    const row = await state.getAlert(ledgerKey({ ruleId: sgRule, eventIds: [secondCopy] } as Finding));
    expect(row?.state).toBe('snoozed');
    expect(row?.principal).toBe('arn:aws:iam::123837392027:user/bert-jan');
  }, 60_000);

  it('Show raw events posts the evidence records into the alert thread', async () => {
    await h.standin.clickButton(sgParent.ts, 'cartographer_show_raw');
    const raw = await waitFor('the raw events', () =>
      h.standin.state
        .thread(CHANNEL, sgParent.ts)
        .find((m) => JSON.stringify(m.blocks ?? []).includes(SG_EVENT_ID) || (m.files?.length ?? 0) > 0),
    );
    expect(raw).toBeDefined();
  }, 30_000);

  it('after downtime beyond the catch-up limit, scans only the limit and says what was skipped', async () => {
    const before = parents().length;
    clock.set(Date.parse('2023-07-12T00:00:00Z'));
    expect(await scheduler.scanNow('after a long outage')).toBe(true);
    const note = parents()
      .slice(before)
      .find((m) => m.text.startsWith('Alert scans were down'));
    expect(note?.text).toContain('Caught up only the last 24 h 0 min');
    expect(note?.text).toContain('was not scanned');
    expect(await state.getWatermark(SCOPE)).toBe(clock.now());
  }, 60_000);
});
