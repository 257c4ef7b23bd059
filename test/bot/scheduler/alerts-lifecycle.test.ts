/**
 * The alert lifecycle end to end: the real scheduler posts alerts from replayed Invictus CloudTrail to
 * the Slack stand-in, and the real bot (over HTTP, signed requests) handles the clicks:
 *   Acknowledge → Assign to… (users_select) → [bot restart] → Resolve as… benign (static_select, Mark
 *   benign offered and its modal opens) → Reopen; each state shown in the same message, updated in
 *   place; every change in the store's history and the audit log; App Home and the digest list the
 *   open alert with who holds it. The state survives the restart of the bot.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { WebClient } from '@slack/web-api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchedulerState } from '../../../adapters/state/scheduler-state.ts';
import { openSchedulerState } from '../../../adapters/state/sqlite-scheduler-state.ts';
import { openTriageStore } from '../../../adapters/state/sqlite-triage-store.ts';
import type { TriageStore } from '../../../adapters/state/triage-store.ts';
import { openSqliteStore } from '../../../adapters/store/sqlite-store.ts';
import {
  ACTION_ALERT_ACK,
  ACTION_ALERT_ASSIGN,
  ACTION_ALERT_REOPEN,
  ACTION_ALERT_RESOLVE,
  ACTION_MARK_BENIGN,
} from '../../../bot/actions/ids.ts';
import { checkMessage } from '../../../bot/messages/limits.ts';
import { manualClock } from '../../../bot/scheduler/clock.ts';
import { createScheduler, type Scheduler } from '../../../bot/scheduler/scheduler.ts';
import { createOutboxPoster } from '../../../bot/scheduler/slack-outbox.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import { loadSchedulerConfig } from '../../../config/scheduler.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import type { StandinMessage } from '../../../playground/standin/state.ts';
import { BOT_TOKEN, type Harness, startHarness, waitFor } from '../../support/slack-harness.ts';

const CHANNEL = 'C0SOCTRIAGE';
const ALICE = 'U0ANALYST1';
const BOB = 'U0ANALYST2';

let h: Harness;
let state: SchedulerState;
let triage: TriageStore;
let scheduler: Scheduler;
let alert: StandinMessage;
const clock = manualClock(Date.parse('2023-07-10T11:40:00Z'));

beforeAll(async () => {
  h = await startHarness();
  const data = join(h.dir, 'data');
  mkdirSync(data);
  for (const f of readdirSync('demo/invictus')) {
    if (f.endsWith('.json')) copyFileSync(join('demo/invictus', f), join(data, f));
  }
  const db = join(h.dir, 'bot.db'); // the bot's own file: its buttons see the ledger, cases and evidence
  state = openSchedulerState(db);
  triage = openTriageStore(db);
  await state.setWatermark('local/*/*', clock.now());
  scheduler = createScheduler({
    config: loadSchedulerConfig({ CARTOGRAPHER_ALERT_CHANNEL: CHANNEL, CARTOGRAPHER_SCHEDULE: 'off' }),
    state,
    triage,
    sourceName: 'local',
    source: async () => createLocalSource([data]),
    stages: loadDefaultStages,
    outbox: createOutboxPoster(new WebClient(BOT_TOKEN, { slackApiUrl: h.standin.apiUrl })),
    store: openSqliteStore(db),
    logger: pino({ level: 'silent' }),
    clock,
  });
  clock.set(Date.parse('2023-07-10T12:20:00Z'));
  expect(await scheduler.scanNow('test')).toBe(true);
  alert = h.standin.state
    .channelMessages(CHANNEL)
    .find((m) => m.text.includes('Security group opened to the whole internet'))!;
  expect(alert).toBeDefined();
}, 60_000);

afterAll(async () => {
  await state?.close();
  await triage?.close();
  await h?.close();
});

const current = () => h.standin.state.message(CHANNEL, alert.ts)!;
const header = () => String(current().blocks?.find((b) => b.type === 'header')?.text.text);
const stateLine = () =>
  String(current().blocks?.find((b) => b.block_id === 'cartographer_alert_state')?.elements[0].text);
const elements = () =>
  (current().blocks ?? [])
    .filter((b) => String(b.block_id).startsWith('cartographer_alert_case.'))
    .flatMap((b) => b.elements) as {
    action_id: string;
    type: string;
    value?: string;
    initial_user?: string;
  }[];
const key = () => (alert.metadata as { event_payload: { key: string } }).event_payload.key;

/** Clicks (or picks) on the alert and waits until the message was updated once more. */
async function act(actionId: string, options: { user?: string; selected?: string; value?: string } = {}) {
  const before = current().history.length;
  const res = await h.standin.clickButton(alert.ts, actionId, options.value, options);
  expect(res.status).toBe(200);
  await waitFor(`the update after ${actionId}`, () => current().history.length > before);
  expect(checkMessage({ text: current().text, blocks: current().blocks ?? [] })).toEqual([]);
}

describe('alert lifecycle', () => {
  it('posts the alert open, with its case stored and the lifecycle buttons', async () => {
    expect(header()).toMatch(/^:large_orange_circle: High: Security group opened/);
    expect(stateLine()).toMatch(/\*Open\* · nobody has acknowledged it yet/);
    expect(elements().map((e) => e.type)).toEqual(['button', 'users_select', 'static_select']);
    expect(await triage.getCase(key())).toMatchObject({
      state: 'open',
      channel: CHANNEL,
      ts: alert.ts,
      version: 1,
    });
  });

  it('Acknowledge: the same message shows who acknowledged it and when; audited', async () => {
    await act(ACTION_ALERT_ACK, { user: ALICE });
    expect(header()).toMatch(/^:eyes: Acknowledged · High: Security group opened/);
    expect(stateLine()).toMatch(/Acknowledged\* by <@U0ANALYST1> at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
    expect(current().text).toMatch(/^\[Acknowledged\] High alert/);
    expect(elements().map((e) => e.action_id)).not.toContain(ACTION_ALERT_ACK);
    const audit = await waitFor('the audit line', () =>
      h.audits().find((a) => a.what === 'click acknowledge alert' && a.outcome === 'ok'),
    );
    expect(audit.detail).toBe(`alert ${key()}: acknowledged by ${ALICE}: open → acknowledged`);
    // Only the outcomes offered can be picked (the stand-in refuses others, as Slack's client would).
    await expect(
      h.standin.clickButton(alert.ts, ACTION_ALERT_RESOLVE, undefined, { user: BOB, selected: 'nonsense' }),
    ).rejects.toThrow(/has no option 'nonsense'/);
  });

  it('Assign to… (user picker): shows the holder; App Home lists it under the holder', async () => {
    await act(ACTION_ALERT_ASSIGN, { user: ALICE, selected: BOB });
    expect(header()).toMatch(/^:bust_in_silhouette: Assigned · High/);
    expect(stateLine()).toMatch(/Assigned\* to <@U0ANALYST2> by <@U0ANALYST1>/);
    expect(elements().find((e) => e.type === 'users_select')?.initial_user).toBe(BOB);
    // Bob's Home tab is refreshed with the alert he now holds (and when he opens the tab).
    await h.standin.openHome({ user: 'bob' });
    const home = await waitFor('Bob’s Home tab', () => {
      const text = JSON.stringify(h.standin.state.homes.get(BOB)?.view ?? {});
      return text.includes('Assigned to you* (1)') ? text : undefined;
    });
    expect(home).toContain('Security group opened to the whole internet');
    expect(home).toMatch(/archives\/C0SOCTRIAGE\/p\d{16}/);
  });

  it('the digest of the day lists the open alert and who holds it', async () => {
    const before = h.standin.state.channelMessages(CHANNEL).length;
    await h.standin.sendSlashCommand('digest 2023-07-10');
    const digest = await waitFor('the digest', () =>
      h.standin.state
        .channelMessages(CHANNEL)
        .slice(before)
        .find((m) => /^Digest 2023-07-10/.test(m.text)),
    );
    const section = (digest.blocks ?? []).find((b) => /Open alerts from 2023-07-10/.test(b.text?.text ?? ''));
    expect(section?.text.text).toMatch(
      /Security group opened to the whole internet\*.*held by <@U0ANALYST2>/,
    );
    expect(section?.text.text).toMatch(/nobody holds it/);
    expect(checkMessage({ text: digest.text, blocks: digest.blocks ?? [] })).toEqual([]);
  });

  it('survives a restart of the bot: the stored state is what the next click starts from', async () => {
    await h.stopBot();
    await h.restartBot();
    expect(await h.bot.services.triage.getCase(key())).toMatchObject({
      state: 'acknowledged',
      assignee: BOB,
      acknowledgedBy: ALICE,
      version: 3,
    });
    await act(ACTION_ALERT_RESOLVE, { user: BOB, selected: 'benign' });
    expect(header()).toMatch(/^:white_check_mark: Resolved: benign · High/);
    expect(stateLine()).toMatch(/Resolved as benign\* by <@U0ANALYST2>/);
    expect(elements().map((e) => e.action_id)).toEqual([ACTION_ALERT_REOPEN, ACTION_MARK_BENIGN]);
  });

  it('resolved as benign offers Mark benign: the existing modal opens for the alert’s rule', async () => {
    const benign = elements().find((e) => e.action_id === ACTION_MARK_BENIGN)!;
    await h.standin.clickButton(alert.ts, ACTION_MARK_BENIGN, benign.value, { user: BOB });
    const view = await waitFor('the Mark benign modal', () =>
      [...h.standin.state.views.values()].find((v) => v.open && v.user === BOB),
    );
    expect(view.view.title.text).toBe('Mark benign');
    expect(JSON.stringify(view.view.blocks)).toMatch(/Security group opened to the whole internet/);
  });

  it('Reopen: open again, the holder kept, Acknowledge offered again; the history has every change', async () => {
    await act(ACTION_ALERT_REOPEN, { user: ALICE });
    expect(header()).toMatch(/^:repeat: Reopened · High/);
    expect(stateLine()).toMatch(/Reopened\* by <@U0ANALYST1> at .* · held by <@U0ANALYST2>/);
    expect(elements().map((e) => e.action_id)).toEqual([
      ACTION_ALERT_ACK,
      ACTION_ALERT_ASSIGN,
      ACTION_ALERT_RESOLVE,
    ]);
    const history = await triage.caseHistory(key());
    expect(history.map((c) => `${c.action}:${c.by ?? '-'}:${c.state}`)).toEqual([
      'opened:-:open',
      `acknowledged:${ALICE}:acknowledged`,
      `assigned:${ALICE}:acknowledged`,
      `resolved:${BOB}:resolved`,
      `reopened:${ALICE}:open`,
    ]);
    const audited = h
      .audits()
      .filter((a) => /^click (acknowledge|assign|resolve|reopen) alert$/.test(String(a.what)));
    expect(audited.map((a) => a.outcome)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(audited.map((a) => String(a.detail).split(': ').at(-1))).toEqual([
      'open → acknowledged',
      'acknowledged, assigned to U0ANALYST2',
      'acknowledged → resolved (benign)',
      'resolved (benign) → open',
    ]);
    // Acknowledge again at once: the same button of a later state is a new click, not a double click.
    await act(ACTION_ALERT_ACK, { user: BOB });
    expect(header()).toMatch(/^:bust_in_silhouette: Assigned · High/);
    expect(await triage.getCase(key())).toMatchObject({
      state: 'acknowledged',
      acknowledgedBy: BOB,
      version: 6,
    });
    // Every other part of the message is as posted.
    const kept = (m: { blocks?: { block_id?: string }[] }) =>
      JSON.stringify(
        (m.blocks ?? []).filter((b) => !/^cartographer_alert_(header|state|case)/.test(b.block_id ?? '')),
      );
    expect(kept(current())).toBe(kept(current().history[0]!));
  });
});
