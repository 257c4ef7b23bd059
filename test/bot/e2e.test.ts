/**
 * End to end: the real Bolt app on 127.0.0.1, the real engine on real CloudTrail (Invictus data set),
 * and the local Slack stand-in recording every Web API call and sending signed requests.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDetector } from '../../adapters/rules/detection-rules.ts';
import {
  ACTION_ALL_ACTIONS,
  ACTION_MARK_BENIGN,
  ACTION_OPEN,
  ACTION_PAGE_NEXT,
  ACTION_PAGE_PREV,
  ACTION_SHOW_RAW,
  BENIGN_REASON_BLOCK,
  BENIGN_REASON_INPUT,
  BENIGN_SCOPE_BLOCK,
  BENIGN_SCOPE_INPUT,
} from '../../bot/actions/ids.ts';
import type { SourceProvider } from '../../bot/lookup/analyzer.ts';
import { checkMessage } from '../../bot/messages/limits.ts';
import { loadDefaultStages } from '../../compose/stages.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import type { RecordSource, SourceItem } from '../../engine/source.ts';
import { createLocalSource } from '../../engine/sources/local-source.ts';
import type { StandinMessage } from '../../playground/standin/state.ts';
import {
  BOT_TOKEN,
  botPerTest,
  FIXTURE_DIR,
  FIXTURE_FILE,
  FIXTURE_KEY,
  fixtureFileRecords,
  type Harness,
  SIGNING_SECRET,
  signedHeaders,
  slashCommandBody,
  startHarness,
  waitFor,
} from '../support/slack-harness.ts';

const KEY = FIXTURE_KEY;
const fixtureRecords = fixtureFileRecords();
const keyRecords = fixtureRecords.filter((r) => r.userIdentity?.accessKeyId === KEY);
const sessionTokens = keyRecords
  .map((r) => (r.responseElements?.credentials as { sessionToken?: string } | undefined)?.sessionToken)
  .filter((t): t is string => typeof t === 'string');

const bot = botPerTest();

/** Buttons of a message, by action id. */
function buttons(m: StandinMessage | undefined, actionId: string): { value: string; text: string }[] {
  return (m?.blocks ?? [])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements)
    .filter((e: { action_id: string }) => e.action_id === actionId)
    .map((e: { value: string; text: { text: string } }) => ({ value: e.value, text: e.text.text }));
}

async function lookupAndWait(harness: Harness, text: string) {
  const seen = harness.audits().length;
  const res = await harness.standin.sendSlashCommand(text);
  expect(res.status).toBe(200);
  await waitFor('the audit line of the command', () =>
    harness
      .audits()
      .slice(seen)
      .find((a) => String(a.what).includes(text)),
  );
  const parent = harness.standin.state.channelMessages('C0SOCTRIAGE').at(-1);
  expect(parent).toBeDefined();
  return { parent: parent!, thread: harness.standin.state.thread('C0SOCTRIAGE', parent!.ts) };
}

describe('slash command flow', () => {
  it('acknowledges before a slow source finishes, then progress → summary → thread replies in order', async () => {
    // A real local source, held back after its first page until the test has seen the acknowledgement.
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const log: string[] = [];
    const slow: SourceProvider = async () => {
      const real = createLocalSource([FIXTURE_DIR]);
      const source: RecordSource = {
        name: 'local',
        async *read(query, options) {
          let n = 0;
          for await (const item of real.read(query, options) as AsyncIterable<SourceItem>) {
            if (item.kind === 'record' && ++n % 50 === 0) {
              options?.onProgress?.({ message: `page ${n / 50}: ${n} events`, records: n, pages: n / 50 });
              if (n === 50) {
                log.push('source waiting');
                await gate;
              }
            }
            yield item;
          }
          log.push('source finished');
        },
      };
      return source;
    };
    const h = await bot.start({ sources: slow });
    const res = await h.standin.sendSlashCommand(`session ${KEY} --since 2023-07-01`);
    log.push('acknowledged');
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    // The progress message was posted and then updated from the source's progress report.
    const progress = await waitFor('the progress update', () =>
      h.standin.state.messages.find((m) => m.history.length > 0 && m.text.includes('page 1')),
    );
    expect(progress.history[0]?.text).toContain(`Looking up ${KEY}`);
    expect(log).not.toContain('source finished');
    release();
    await waitFor('the audit line', () => h.audits().find((a) => a.outcome === 'ok'));
    expect(log.indexOf('acknowledged')).toBeLessThan(log.indexOf('source finished'));

    // The progress message became the parent summary.
    const parent = h.standin.state.message('C0SOCTRIAGE', progress.ts)!;
    expect(parent.text).toMatch(/[Ss]ession of bert-jan/);
    expect(parent.blocks?.[0]?.type).toBe('header');
    expect(JSON.stringify(parent.blocks)).toContain(KEY);
    expect(parent.text).toContain(`${keyRecords.length} events`);

    // Web API order: progress post, update(s), final summary update, then the thread replies.
    const calls = h.standin.calls.filter((c) => c.method.startsWith('chat.'));
    expect(calls[0]?.method).toBe('chat.postMessage');
    expect(calls[0]?.args.thread_ts).toBeUndefined();
    const lastUpdate = calls.findLastIndex((c) => c.method === 'chat.update');
    const firstReply = calls.findIndex((c) => c.args.thread_ts === progress.ts);
    expect(lastUpdate).toBeGreaterThan(0);
    expect(firstReply).toBeGreaterThan(lastUpdate);
    const thread = h.standin.state.thread('C0SOCTRIAGE', progress.ts);
    const kinds = thread.map((m) =>
      /^Timeline/.test(m.text)
        ? 'timeline'
        : /^Findings/.test(m.text)
          ? 'findings'
          : /not mapped|Every event was mapped/.test(m.text)
            ? 'unmapped'
            : m.text,
    );
    expect(kinds[0]).toBe('timeline');
    expect(kinds.indexOf('findings')).toBeGreaterThan(kinds.lastIndexOf('timeline'));
    expect(kinds.at(-1)).toBe('unmapped');
    // Every message carries its plain-text fallback.
    for (const m of [parent, ...thread]) expect(m.text.length).toBeGreaterThan(0);
  });

  it('shuts down gracefully: stops taking requests, finishes the running lookup, then closes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const held: SourceProvider = async () => ({
      name: 'local',
      async *read(query, options) {
        await gate;
        yield* createLocalSource([FIXTURE_DIR]).read(query, options);
      },
    });
    const h = await bot.start({ sources: held });
    await h.standin.sendSlashCommand(`session ${KEY}`);
    const progress = await waitFor('the progress message', () => h.standin.state.messages[0]);
    const stopping = h.stopBot();
    // The receiver is closed at once: new requests are refused.
    await expect(h.standin.sendSlashCommand('help')).rejects.toThrow();
    release();
    await stopping;
    const parent = h.standin.state.message('C0SOCTRIAGE', progress.ts)!;
    expect(parent.text).toMatch(/[Ss]ession of bert-jan/);
    expect(h.standin.state.thread('C0SOCTRIAGE', progress.ts).length).toBeGreaterThan(0);
    expect(h.audits().map((a) => a.outcome)).toEqual(['ok']);
  });

  it('answers a bad or missing argument with a short ephemeral usage message and posts nothing', async () => {
    const h = await bot.start();
    // Commands are answered in the background, each on its own: wait for each reply so they are in order.
    const bad = ['session', 'ip 300.1.2.3', 'session AKIATFQR7NSC8Q4X20BJ --source s3', 'frobnicate'];
    for (const [i, text] of bad.entries()) {
      await h.standin.sendSlashCommand(text);
      await waitFor(`reply ${i + 1}`, () => h.standin.state.ephemerals.length === i + 1);
    }
    await waitFor('four replies', () => h.standin.state.ephemerals.length === 4);
    const texts = h.standin.state.ephemerals.map((e) => e.text);
    expect(texts[0]).toMatch(/missing the access key id or session key/);
    expect(texts[1]).toMatch(/not an IPv4 or IPv6 address/);
    expect(texts[2]).toMatch(/--source must be local, lookup or athena/);
    expect(texts[3]).toMatch(/unknown command 'frobnicate'/);
    for (const t of texts) {
      expect(t).toMatch(/Usage:/);
      expect(t).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    }
    expect(h.standin.state.messages).toHaveLength(0);
    await waitFor('four audit lines', () => h.audits().length === 4);
    expect(h.audits().map((a) => a.outcome)).toEqual(['bad-args', 'bad-args', 'bad-args', 'bad-args']);
  });

  it('says in the summary which input could not be read, with file and position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cartographer-input-'));
    copyFileSync(FIXTURE_FILE, join(dir, 'trail.json'));
    // A record without eventSource/eventName, in the same time range as the session.
    writeFileSync(
      join(dir, 'broken.json'),
      JSON.stringify({ Records: [{ eventTime: '2023-07-10T12:10:00Z' }] }),
    );
    const h = await bot.start({ env: { CARTOGRAPHER_LOCAL_PATH: dir } });
    const { parent } = await lookupAndWait(h, `session ${KEY}`);
    const context = JSON.stringify(parent.blocks?.at(-1));
    expect(context).toMatch(/1 unreadable record skipped \(first: [^)]*broken\.json/);
  });

  it('in a channel the bot was not invited to, tells the user how to invite it', async () => {
    const h = await bot.start();
    await h.standin.sendSlashCommand(`session ${KEY}`, { channel: 'random' });
    const reply = await waitFor('the ephemeral reply', () => h.standin.state.ephemerals[0]);
    expect(reply).toMatchObject({ channel: 'C0NOBOT', user: 'U0ANALYST1' });
    expect(reply.text).toMatch(/not_in_channel.*\/invite @Cartographer/);
    expect(h.standin.state.messages).toHaveLength(0);
  });

  it('retries when Slack rate-limits a call (429 + Retry-After)', async () => {
    const h = await bot.start();
    h.standin.rateLimit('chat.postMessage', 1, 1);
    const { parent, thread } = await lookupAndWait(h, `session ${KEY}`);
    const posts = h.standin.calls.filter((c) => c.method === 'chat.postMessage');
    expect(posts[0]?.status).toBe(429);
    expect(posts[1]?.ok).toBe(true);
    expect(parent.text).toMatch(/[Ss]ession of bert-jan/);
    expect(thread.length).toBeGreaterThan(0);
  });
});

describe('lookups that find several sessions, or time out', () => {
  it('user and ip lookups answer with one overview message (sessions by risk, quiet ones folded); Open fills its thread', async () => {
    const h = await bot.start();
    const user = await lookupAndWait(h, 'user bert-jan');
    const parents = h.standin.state.channelMessages('C0SOCTRIAGE');
    expect(parents).toHaveLength(1);
    expect(user.thread).toHaveLength(0);
    const overview = user.parent;
    expect(overview.blocks?.[0]?.text.text).toMatch(/bert-jan: \d+ sessions, worst risk \d+\/100$/);
    const lines = (overview.blocks ?? []).filter(
      (b) => b.type === 'section' && b.accessory?.action_id === ACTION_OPEN,
    );
    expect(lines.length).toBeGreaterThanOrEqual(1);
    const total = Number(/: (\d+) sessions/.exec(overview.blocks?.[0]?.text.text)?.[1]);
    expect(total).toBeGreaterThan(lines.length);
    // Ranked by risk: the score leads each line.
    const scores = lines.map((b) => Number(/\*(\d+)\*/.exec(b.text.text)?.[1]));
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(JSON.stringify(overview.blocks)).toMatch(/quiet session/);
    expect(checkMessage({ text: overview.text, blocks: overview.blocks ?? [] })).toEqual([]);

    // Open: the worst session's summary, then its three-reply thread, all in the overview's thread.
    await h.standin.clickButton(overview.ts, ACTION_OPEN, lines[0]!.accessory.value);
    const thread = await waitFor('the opened session', () => {
      const t = h.standin.state.thread('C0SOCTRIAGE', overview.ts);
      return t.some((m) => /not mapped|Every event was mapped/.test(m.text)) ? t : undefined;
    });
    expect(thread[0]?.text).toMatch(/[Ss]ession of bert-jan/);
    expect(
      thread.slice(1).map((m) => /^(Timeline|Findings|Every event|\d+ events? not mapped)/.exec(m.text)?.[1]),
    ).toEqual(['Timeline', 'Findings', expect.stringMatching(/Every event|not mapped/)]);
    expect(thread).toHaveLength(4);

    await lookupAndWait(h, 'ip 192.168.10.20');
    expect(h.standin.state.channelMessages('C0SOCTRIAGE')).toHaveLength(2);
  });

  it('"Show N more" pages the findings reply in place: the same reply, the next rules, and back', async () => {
    const h = await bot.start();
    const { parent, thread } = await lookupAndWait(h, `session ${KEY}`);
    expect(thread.length).toBeLessThanOrEqual(6);
    const findings = thread.find((m) => /^Findings/.test(m.text))!;
    const [more] = buttons(findings, ACTION_PAGE_NEXT);
    expect(more?.text).toMatch(/^Show \d+ more findings?$/);
    const firstPage = findings.text;
    await h.standin.clickButton(findings.ts, ACTION_PAGE_NEXT, more!.value);
    await waitFor(
      'the second page',
      () => h.standin.state.message('C0SOCTRIAGE', findings.ts)!.history.length > 0,
    );
    const turned = h.standin.state.message('C0SOCTRIAGE', findings.ts)!;
    expect(turned.text).toMatch(/page 2 of/);
    expect(JSON.stringify(turned.blocks)).toMatch(/rules \d+–\d+, page 2 of \d+/);
    expect(checkMessage({ text: turned.text, blocks: turned.blocks ?? [] })).toEqual([]);
    expect(h.standin.state.thread('C0SOCTRIAGE', parent.ts)).toHaveLength(thread.length);
    const [back] = buttons(turned, ACTION_PAGE_PREV);
    await h.standin.clickButton(turned.ts, ACTION_PAGE_PREV, back!.value);
    await waitFor(
      'the first page again',
      () => h.standin.state.message('C0SOCTRIAGE', findings.ts)!.history.length > 1,
    );
    expect(h.standin.state.message('C0SOCTRIAGE', findings.ts)!.text).toBe(firstPage);
    const audit = await waitFor('the audit line', () => h.audits().find((a) => a.what === 'click page'));
    expect(audit.outcome).toBe('ok');
  });

  it('a lookup that outlives CARTOGRAPHER_LOOKUP_TIMEOUT_SECONDS ends in a thread message saying what to change', async () => {
    const hanging: SourceProvider = async () => ({
      name: 'local',
      async *read(query, options) {
        for await (const item of createLocalSource([FIXTURE_DIR]).read(query, options)) {
          yield item;
          break;
        }
        // Hold on until the bot gives up (the abort signal), like a source stuck on a slow API.
        await new Promise((resolve) => options?.signal?.addEventListener('abort', resolve));
      },
    });
    const h = await bot.start({ sources: hanging, env: { CARTOGRAPHER_LOOKUP_TIMEOUT_SECONDS: '5' } });
    await h.standin.sendSlashCommand(`session ${KEY}`);
    await waitFor('the audit line', () => h.audits().find((a) => a.outcome === 'error'));
    const parent = h.standin.state.channelMessages('C0SOCTRIAGE')[0]!;
    expect(parent.text).toMatch(/failed/);
    const [reply] = h.standin.state.thread('C0SOCTRIAGE', parent.ts);
    expect(reply?.text).toMatch(/timed out/);
    expect(reply?.text).toMatch(/--since|CARTOGRAPHER_LOOKUP_TIMEOUT_SECONDS/);
  });
});

describe('buttons', () => {
  it('"Show raw events" uploads the exact records, credentials redacted, into the same thread; works after a restart', async () => {
    const h = await bot.start();
    const { parent } = await lookupAndWait(h, `session ${KEY}`);
    const [raw] = buttons(parent, ACTION_SHOW_RAW);
    expect(raw).toBeDefined();
    const clicked = await h.standin.clickButton(parent.ts, ACTION_SHOW_RAW, raw!.value);
    expect(clicked.status).toBe(200);
    const file = await waitFor('the uploaded file', () =>
      [...h.standin.state.files.values()].find((f) => f.complete),
    );
    expect(file.name).toMatch(/\.json$/);
    expect(file.thread_ts).toBe(parent.ts);
    expect(file.channel).toBe('C0SOCTRIAGE');
    // files.uploadV2 is three steps: URL, upload POST, completion.
    const methods = h.standin.calls.map((c) => c.method);
    expect(methods.indexOf('files.getUploadURLExternal')).toBeLessThan(
      methods.indexOf('files.completeUploadExternal'),
    );

    const uploaded = JSON.parse(file.content!) as CloudTrailRecord[];
    expect(uploaded.map((r) => r.eventID).sort()).toEqual(keyRecords.map((r) => r.eventID).sort());
    expect(sessionTokens.length).toBeGreaterThan(0);
    for (const token of sessionTokens) expect(file.content).not.toContain(token.slice(0, 40));
    // Exact records: identical to the originals except the session token.
    const byId = new Map(keyRecords.map((r) => [r.eventID, r]));
    for (const r of uploaded) {
      const original = structuredClone(byId.get(r.eventID)!);
      const creds = original.responseElements?.credentials as Record<string, unknown> | undefined;
      if (creds?.sessionToken) creds.sessionToken = '[REDACTED]';
      expect(r).toEqual(original);
    }
    // The file message sits in the thread.
    const inThread = h.standin.state.thread('C0SOCTRIAGE', parent.ts).find((m) => m.files?.includes(file.id));
    expect(inThread?.text).toMatch(/credentials redacted/);

    // Restart the bot on the same database: an old button still resolves.
    await h.stopBot();
    await h.restartBot();
    const timeline = h.standin.state.thread('C0SOCTRIAGE', parent.ts).find((m) => /^Timeline/.test(m.text));
    const [chunk] = buttons(timeline, ACTION_SHOW_RAW);
    const before = h.standin.state.thread('C0SOCTRIAGE', parent.ts).length;
    await h.standin.clickButton(timeline!.ts, ACTION_SHOW_RAW, chunk!.value);
    await waitFor(
      'the raw events after restart',
      () => h.standin.state.thread('C0SOCTRIAGE', parent.ts).length > before,
    );
    const answer = h.standin.state.thread('C0SOCTRIAGE', parent.ts).at(-1)!;
    expect(answer.text).toMatch(/Raw events|credentials redacted/);
  });

  it('a button copied into another channel does not resolve there', async () => {
    const h = await bot.start();
    const { parent } = await lookupAndWait(h, `session ${KEY}`);
    // The same blocks, as if the message had been copied into #general.
    const copy = { ...parent, channel: 'C0GENERAL', ts: h.standin.state.nextTs(), history: [] };
    h.standin.state.messages.push(copy);
    const [raw] = buttons(copy, ACTION_SHOW_RAW);
    await h.standin.clickButton(copy.ts, ACTION_SHOW_RAW, raw!.value);
    const reply = await waitFor('the refusal', () =>
      h.standin.state.ephemerals.find((e) => e.channel === 'C0GENERAL'),
    );
    expect(reply.text).toMatch(/another channel/);
    expect(h.standin.state.files.size).toBe(0);
  });

  it('a button on an ephemeral message works: the answer goes to the channel (an ephemeral is no thread parent)', async () => {
    const h = await bot.start();
    const { parent } = await lookupAndWait(h, `session ${KEY}`);
    const [all] = buttons(parent, ACTION_ALL_ACTIONS);
    // The bot's own button, shown to alice only (as chat.postEphemeral would), outside any thread.
    const posted = await h.bot.app.client.chat.postEphemeral({
      channel: 'C0SOCTRIAGE',
      user: 'U0ANALYST1',
      text: 'All actions?',
      blocks: parent.blocks!.filter((b) => b.type === 'actions'),
    });
    const clicked = await h.standin.clickButton(posted.message_ts!, ACTION_ALL_ACTIONS, all!.value);
    expect(clicked.status).toBe(200);
    const answer = await waitFor('the all-actions answer', () =>
      h.standin.state.channelMessages('C0SOCTRIAGE').find((m) => /All actions/.test(m.text)),
    );
    expect(answer.thread_ts).toBeUndefined();
    const failed = h.standin.calls.filter((c) => !c.ok);
    expect(failed).toEqual([]);
  });

  it('"All actions" posts the timeline including background actions into the thread', async () => {
    const h = await bot.start();
    const { parent, thread } = await lookupAndWait(h, `session ${KEY}`);
    const [all] = buttons(parent, ACTION_ALL_ACTIONS);
    await h.standin.clickButton(parent.ts, ACTION_ALL_ACTIONS, all!.value);
    await waitFor('the all-actions reply', () =>
      h.standin.state
        .thread('C0SOCTRIAGE', parent.ts)
        .find((m) => /All actions, including background/.test(m.text)),
    );
    expect(h.standin.state.thread('C0SOCTRIAGE', parent.ts).length).toBeGreaterThan(thread.length);
    const audit = await waitFor('the audit line', () =>
      h.audits().find((a) => a.what === 'click all actions'),
    );
    expect(audit.outcome).toBe('ok');
  });
});

describe('request verification and access control', () => {
  it('refuses to start with a bot token Slack does not accept', async () => {
    await expect(startHarness({ env: { SLACK_BOT_TOKEN: 'xoxb-revoked' } })).rejects.toThrow(
      /SLACK_BOT_TOKEN was not accepted by Slack \(invalid_auth\)/,
    );
  });

  it('rejects a bad signature and a stale timestamp with 401', async () => {
    const h = await bot.start();
    const body = slashCommandBody(h, 'help', '1.2.3');
    const now = Math.floor(Date.now() / 1000);
    const bad = await h.standin.sendRaw(body, signedHeaders(body, { secret: 'not-the-secret', at: now }));
    expect(bad.status).toBe(401);
    const stale = now - 6 * 60;
    const old = await h.standin.sendRaw(body, signedHeaders(body, { at: stale }));
    expect(old.status).toBe(401);
    // Neither reached a handler; the same command signed by the stand-in does.
    expect(h.audits()).toHaveLength(0);
    const good = await h.standin.sendSlashCommand('help');
    expect(good.status).toBe(200);
    await waitFor('the one audited command', () => h.audits().length === 1);
  });

  it('refuses a user outside the allow-list (user group), with an audit line, on commands and clicks', async () => {
    const h = await bot.start({ env: { CARTOGRAPHER_ALLOWED_USERGROUP: 'S0SOCTEAM' } });
    await h.standin.sendSlashCommand(`session ${KEY}`, { user: 'mallory' });
    const refusal = await waitFor('the refusal', () =>
      h.standin.state.ephemerals.find((e) => e.user === 'U0OUTSIDER'),
    );
    expect(refusal.text).toMatch(/Not allowed/);
    expect(refusal.via).toBe('response_url');
    const denied = await waitFor('the audit line', () => h.audits().find((a) => a.outcome === 'denied'));
    expect(denied).toMatchObject({
      who: 'U0OUTSIDER',
      where: 'C0SOCTRIAGE',
      what: `/cartographer session ${KEY}`,
    });
    expect(typeof denied.durationMs).toBe('number');
    expect(h.standin.state.messages).toHaveLength(0);
    expect(h.standin.calls.some((c) => c.method === 'usergroups.users.list')).toBe(true);

    // A member of the group gets the answer; the outsider clicking its button is refused again.
    const { parent } = await lookupAndWait(h, `session ${KEY}`);
    const [raw] = buttons(parent, ACTION_SHOW_RAW);
    await h.standin.clickButton(parent.ts, ACTION_SHOW_RAW, raw!.value, { user: 'mallory' });
    await waitFor('the click refusal', () =>
      h.audits().find((a) => a.what === 'click show raw events' && a.outcome === 'denied'),
    );
    expect(h.standin.state.files.size).toBe(0);
    // Tokens and secrets never reach the log.
    for (const line of h.rawLogs) {
      expect(line).not.toContain(BOT_TOKEN);
      expect(line).not.toContain(SIGNING_SECRET);
    }
  });
});

/** The button of a given action that follows the section mentioning `text`. */
function buttonAfter(m: StandinMessage | undefined, text: string, actionId: string): string | undefined {
  let inside = false;
  for (const b of m?.blocks ?? []) {
    if (b.type === 'section') inside = String(b.text?.text ?? '').includes(text);
    if (inside && b.type === 'actions') {
      const e = b.elements.find((x: { action_id: string }) => x.action_id === actionId);
      if (e) return e.value;
    }
  }
  return undefined;
}

describe('Mark benign', () => {
  it('asks why in a modal, writes the allow-list entry the detections read, and the finding is gone on the next lookup', async () => {
    const RULE = 'cartographer.offensive-tool-user-agent';
    const h = await bot.start({
      stages: async (dir) => ({
        ...(await loadDefaultStages()),
        detector: await createDetector({ allowlistFile: join(dir, 'allowlist.yaml') }),
      }),
    });
    const first = await lookupAndWait(h, `session ${KEY}`);
    const findings = first.thread.find((m) => /^Findings/.test(m.text));
    const value = buttonAfter(findings, RULE, ACTION_MARK_BENIGN);
    expect(value).toBeDefined();
    await h.standin.clickButton(findings!.ts, ACTION_MARK_BENIGN, value);
    const view = await waitFor('the modal', () => [...h.standin.state.views.values()].find((v) => v.open));
    expect(JSON.stringify(view.view.blocks)).toContain(RULE);

    // Too short a reason keeps the modal open with an error on the field.
    const short = await h.standin.submitView(view.id, {
      [BENIGN_REASON_BLOCK]: { [BENIGN_REASON_INPUT]: 'ok' },
    });
    expect(JSON.parse(short.body)).toMatchObject({ response_action: 'errors' });
    expect(view.open).toBe(true);
    expect(existsSync(join(h.dir, 'allowlist.yaml'))).toBe(false);

    // The reason is the analyst's own text: whatever markup it holds must not ping or link anyone.
    const reason = 'Terraform clean-up run by the platform team, ticket SEC-4711 <!channel>';
    const done = await h.standin.submitView(view.id, {
      [BENIGN_REASON_BLOCK]: { [BENIGN_REASON_INPUT]: reason },
      [BENIGN_SCOPE_BLOCK]: { [BENIGN_SCOPE_INPUT]: 'rule-principal' },
    });
    expect(done.status).toBe(200);
    expect(view.open).toBe(false);
    const note = await waitFor('the thread note', () =>
      h.standin.state.thread('C0SOCTRIAGE', first.parent.ts).find((m) => /Marked benign by/.test(m.text)),
    );
    expect(note.text).toContain(RULE);
    // The analyst is a real mention (Slack shows @alice); only their typed text is escaped.
    const noteBlock = JSON.stringify(note.blocks);
    expect(note.text).toMatch(/^Marked benign by <@U0ANALYST1>: /);
    expect(noteBlock).toContain('<@U0ANALYST1>');
    expect(noteBlock).not.toContain('&lt;@U0ANALYST1&gt;');
    expect(note.text).toContain('SEC-4711 &lt;!channel&gt;');
    expect(noteBlock).not.toContain('<!channel>');
    const allowlist = readFileSync(join(h.dir, 'allowlist.yaml'), 'utf8');
    expect(allowlist).toContain(RULE);
    expect(allowlist).toContain('arn:aws:iam::123837392027:user/bert-jan');
    expect(allowlist).toContain('SEC-4711');
    expect(await h.bot.services.store.listBenign()).toMatchObject([
      { ruleId: RULE, by: 'U0ANALYST1', reason },
    ]);
    const audit = await waitFor('the audit line', () =>
      h.audits().find((a) => String(a.what).startsWith('submit mark benign')),
    );
    expect(audit.outcome).toBe('ok');

    // The next lookup runs with the new allow-list: the finding no longer appears, the others still do.
    const before = JSON.stringify(first.thread.filter((m) => /^Findings/.test(m.text)));
    const second = await lookupAndWait(h, `session ${KEY}`);
    expect(second.parent.ts).not.toBe(first.parent.ts);
    const after = JSON.stringify(second.thread.filter((m) => /^Findings/.test(m.text)));
    expect(before).toContain(RULE);
    expect(after).not.toContain(RULE);
    expect(after).toContain('cartographer.');
  });
});
