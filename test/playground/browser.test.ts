/**
 * The playground end to end, in headless Chromium: the same `startCartographer` that `npm start`
 * runs (no Slack credentials → the local Slack stand-in), the real bot on the bundled demo logs, and
 * the page served by the stand-in. What the page shows is checked against the demo data itself and
 * against the stand-in's record of what the bot posted.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_ALL_ACTIONS } from '../../bot/actions/ids.ts';
import { buildBenignModal } from '../../bot/messages/benign-modal.ts';
import { type StartedCartographer, startCartographer } from '../../cli/start.ts';
import type { SessionSummary } from '../../engine/model.ts';
import { type SlackStandin, startSlackStandin } from '../../playground/standin/server.ts';
import { slackSignature } from '../../playground/standin/signing.ts';
import { TEST_DIR } from '../support/paths.ts';

const CHROMIUM = '/usr/bin/chromium';
const DEMO_DIR = join(TEST_DIR, '..', 'demo');
const ARTIFACTS = join(TEST_DIR, '..', 'test-artifacts');

interface DemoRecord {
  userIdentity?: { accessKeyId?: string };
  responseElements?: { credentials?: { sessionToken?: string; secretAccessKey?: string } } | null;
}

/** Every CloudTrail record of the bundled demo (Records files and bare arrays). */
function demoRecords(): DemoRecord[] {
  const out: DemoRecord[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.json')) {
        const data = JSON.parse(readFileSync(path, 'utf8'));
        out.push(...(Array.isArray(data) ? data : (data.Records ?? [])));
      }
    }
  };
  walk(DEMO_DIR);
  return out;
}

const records = demoRecords();
const countByKey = new Map<string, number>();
for (const r of records) {
  const key = r.userIdentity?.accessKeyId;
  if (key) countByKey.set(key, (countByKey.get(key) ?? 0) + 1);
}
/** The demo's busiest access key: the session a newcomer is most likely to be offered first. */
const [busiestKey, busiestCount] = [...countByKey.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];

let started: StartedCartographer;
/** Figures the report quotes, written to test-artifacts/playground-measured.json. */
const measured: Record<string, unknown> = {};
let context: BrowserContext;
let page: Page;
let workDir: string;
// startCartographer publishes the allow-list path in process.env (detections read it); put it back after.
const allowlistBefore = process.env.CARTOGRAPHER_ALLOWLIST;

// Chromium and the bot start here; on a loaded two-core CI machine that can take a while.
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the playground browser test needs Debian's chromium. Run \`apt-get install -y chromium\` (.ci/run installs it).`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'cartographer-playground-'));
  // Only what `npm start` on a fresh clone has: no Slack settings, so the stand-in starts.
  started = await startCartographer({
    PATH: process.env.PATH,
    CARTOGRAPHER_PLAYGROUND_PORT: '0',
    PORT: '0',
    CARTOGRAPHER_DB: join(workDir, 'bot.db'),
    CARTOGRAPHER_ALLOWLIST: join(workDir, 'allowlist.yaml'),
    CARTOGRAPHER_LOCAL_PATH: DEMO_DIR,
    LOG_LEVEL: 'warn',
  });
  context = await chromium.launchPersistentContext(join(workDir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  (page as Page & { errors?: string[] }).errors = errors;
  await page.goto(started.standin!.url);
}, 120_000);

afterAll(async () => {
  writeFileSync(join(ARTIFACTS, 'playground-measured.json'), `${JSON.stringify(measured, null, 2)}\n`);
  await context?.close();
  await started?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  if (allowlistBefore === undefined) delete process.env.CARTOGRAPHER_ALLOWLIST;
  else process.env.CARTOGRAPHER_ALLOWLIST = allowlistBefore;
});

function pageErrors(): string[] {
  return (page as Page & { errors?: string[] }).errors ?? [];
}

describe('playground page in Chromium', () => {
  it('serves the page on 127.0.0.1 and nothing outside playground/web', async () => {
    const url = started.standin!.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const index = await fetch(`${url}/`);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(await index.text()).toContain('/web/app.js');
    const script = await fetch(`${url}/web/app.js`);
    expect(script.headers.get('content-type')).toContain('javascript');
    // Raw paths (fetch would normalise the dots away before sending).
    for (const sneaky of [
      '/web/../../package.json',
      '/web/..%2F..%2Fpackage.json',
      '/web/serve.ts',
      '/web/',
    ]) {
      const res = await rawGet(url, sneaky);
      expect(res.status, sneaky).not.toBe(200);
      expect(res.body, sneaky).not.toContain('devDependencies');
      expect(res.body, sneaky).not.toContain('readFile');
    }
  });

  it('offers the demo sessions from the bot help, runs a typed session command, shows the thread and the raw events as JSON', async () => {
    expect(busiestCount).toBeGreaterThan(0);
    // The first visit asks the bot for its help; the suggestions come from that answer.
    await expect
      .poll(() => page.locator('#suggestions .chip').allTextContents(), { timeout: 30_000 })
      .toContain(`session ${busiestKey}`);
    await expect
      .poll(() => page.locator('#messages .message.ephemeral .only-you').count())
      .toBeGreaterThan(0);

    await page.locator('#composer-input').fill(`/cartographer session ${busiestKey}`);
    await page.locator('#composer-input').press('Enter');

    // The threaded summary: a header message naming the key, with a "N replies" link.
    const summary = page
      .locator('#messages .message', { has: page.locator('.bk-header') })
      .filter({ hasText: busiestKey })
      .last();
    const threadLink = summary.locator('.thread-link');
    await threadLink.waitFor({ timeout: 45_000 });
    await expect
      .poll(() => summary.textContent())
      .toContain(`${busiestCount.toLocaleString('en-US')} events`);
    const parentTs = await summary.getAttribute('data-ts');
    const standin = started.standin!;
    // The reply count on the page is the stand-in's: wait until the bot has finished the thread.
    const finalReplies = await waitStable(() => standin.state.thread('C0SOCTRIAGE', parentTs!).length);
    await expect.poll(() => threadLink.locator('.count').textContent()).toBe(`${finalReplies} replies`);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-channel.png') });

    // A 2,000-event session's thread is a handful of replies: timeline, findings by rule, unmapped events.
    expect(busiestCount).toBeGreaterThan(2000);
    expect(finalReplies).toBeLessThanOrEqual(6);
    measured.threadReplies = { key: busiestKey, events: busiestCount, replies: finalReplies };

    await threadLink.click();
    const thread = page.locator('#thread-pane.open');
    await thread.waitFor();
    await expect.poll(() => thread.locator('#thread-messages .message').count()).toBe(finalReplies + 1);
    await expect.poll(() => thread.textContent()).toContain('Timeline');
    await expect
      .poll(() => thread.textContent())
      .toMatch(/Findings · \d+ findings from \d+ rules, worst first/);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-thread.png') });

    // "Show N more" pages the findings reply in place: the same reply, the next rules.
    const findings = thread.locator('#thread-messages .message').filter({ hasText: 'Findings ·' });
    const firstRule = await findings.locator('.bk-section').first().textContent();
    await findings.getByRole('button', { name: /^Show \d+ more findings$/ }).click();
    await expect.poll(() => findings.textContent(), { timeout: 30_000 }).toMatch(/page 2 of/);
    expect(await findings.locator('.bk-section').first().textContent()).not.toBe(firstRule);
    await expect.poll(() => thread.locator('#thread-messages .message').count()).toBe(finalReplies + 1);
    await findings.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'playground-thread-more-findings.png') });

    // "Show raw events" on the summary (the thread's first message) uploads the events into the thread.
    await thread
      .locator('#thread-messages .message')
      .first()
      .getByRole('button', { name: 'Show raw events' })
      .click();
    const rawName = `cartographer-${busiestKey}.json`;
    const rawCard = thread.locator('.file-card').filter({ hasText: rawName });
    await rawCard.waitFor({ timeout: 45_000 });
    const preview = rawCard.locator('.file-preview pre');
    await expect.poll(() => preview.textContent(), { timeout: 30_000 }).toContain('"eventVersion"');
    await expect
      .poll(() => rawCard.locator('.preview-more').textContent())
      .toContain(`${busiestCount.toLocaleString('en-US')} items`);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-raw-events.png') });

    // The file opens as indented JSON; its content is exactly what the stand-in received.
    await rawCard.locator('.file').click();
    const viewer = page.locator('#file-viewer .file-viewer');
    await viewer.locator('.viewer-body .jk').first().waitFor();
    const shown = (await viewer.locator('.viewer-body pre').textContent()) ?? '';
    expect(shown.split('\n').slice(0, 3)).toEqual(['[', '  {', expect.stringMatching(/^ {4}"\w+": /)]);
    expect(shown).toContain(`"accessKeyId": "${busiestKey}"`);
    const file = [...standin.state.files.values()].find((f) => f.name === rawName);
    const uploaded = JSON.parse(file?.content ?? 'null') as DemoRecord[];
    expect(uploaded).toHaveLength(busiestCount);
    expect(uploaded.every((r) => r.userIdentity?.accessKeyId === busiestKey)).toBe(true);
    expect(shown.startsWith(JSON.stringify(uploaded, null, 2).split('\n').slice(0, 2000).join('\n'))).toBe(
      true,
    );
    // Credentials issued to this key in the demo data never reach the page.
    const secrets = records
      .filter((r) => r.userIdentity?.accessKeyId === busiestKey)
      .flatMap((r) => [
        r.responseElements?.credentials?.sessionToken,
        r.responseElements?.credentials?.secretAccessKey,
      ])
      .filter((s): s is string => typeof s === 'string' && s.length > 8);
    const fullText = await page.evaluate(async (id) => (await fetch(`/files/${id}`)).text(), file!.id);
    for (const secret of secrets) expect(fullText).not.toContain(secret);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-file-viewer.png') });
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('#file-viewer').isHidden()).toBe(true);
    expect(pageErrors()).toEqual([]);
  }, 120_000);

  it('"Run daily digest now" sends /cartographer digest, signed like Slack, and shows the answer', async () => {
    const standin = started.standin!;
    const before = standin.state.deliveries.length;
    const postedBefore = standin.state.channelMessages('C0SOCTRIAGE').length;
    await page.locator('#thread-close').click();
    await page.getByRole('button', { name: 'Run daily digest now' }).click();
    await expect
      .poll(() => standin.state.deliveries.slice(before).map((d) => `${d.kind} ${d.summary} ${d.status}`))
      .toContain('command /cartographer digest 200');
    // The digest the bot posts to the channel is what the page shows last.
    await expect
      .poll(() => standin.state.channelMessages('C0SOCTRIAGE').length, { timeout: 45_000 })
      .toBeGreaterThan(postedBefore);
    const digest = standin.state.channelMessages('C0SOCTRIAGE').at(-1)!;
    expect(digest.bot).toBe(true);
    const shown = page.locator(`#messages .message[data-ts="${digest.ts}"]`);
    await shown.waitFor();
    const header = digest.blocks?.find((b) => b.type === 'header')?.text?.text as string | undefined;
    if (header)
      await expect
        .poll(() => shown.locator('.bk-header').first().textContent())
        .toContain(header.replace(/^:\w+: /, ''));
    else await expect.poll(() => shown.textContent()).toContain(digest.text.slice(0, 20));
    await shown.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'playground-digest.png') });
  }, 120_000);

  it('"Open session" on a digest finding, then "Mark benign": the bot modal, submitted and confirmed in the thread', async () => {
    const standin = started.standin!;
    const digest = page
      .locator('#messages .message')
      .filter({ has: page.getByRole('button', { name: 'Open session' }) })
      .last();
    await digest.getByRole('button', { name: 'Open session' }).first().click();
    // The session summary lands in the digest's thread, which the page opens for the click.
    const markBenign = page.locator('#thread-pane.open').getByRole('button', { name: 'Mark benign' }).first();
    await markBenign.waitFor({ timeout: 45_000 });
    await markBenign.click();
    const modal = page.locator('#modal .modal');
    await modal.waitFor({ timeout: 30_000 });
    expect(await modal.locator('.modal-title').textContent()).toBe('Mark benign');
    const reason = 'approved red-team exercise, ticket SEC-1234';
    await modal.locator('textarea').fill(reason);
    await page.screenshot({ path: join(ARTIFACTS, 'playground-mark-benign.png') });
    await modal.getByRole('button', { name: 'Mark benign' }).click();
    await expect.poll(() => page.locator('#modal').isHidden()).toBe(true);
    // The bot confirms in the thread, and the exception is in its allow-list file.
    await expect
      .poll(() => standin.state.messages.some((m) => m.bot && m.thread_ts && m.text.includes(reason)), {
        timeout: 30_000,
      })
      .toBe(true);
    await expect.poll(() => page.locator('#thread-messages').textContent()).toContain(reason);
    // The analyst is mentioned, shown as @alice the way Slack shows a mention, not as escaped markup.
    const note = page.locator('#thread-messages .message').filter({ hasText: 'Marked benign by' }).last();
    expect(await note.locator('.mention').first().textContent()).toBe('@alice');
    expect(await note.textContent()).not.toContain('U0ANALYST1');
    expect(readFileSync(join(workDir, 'allowlist.yaml'), 'utf8')).toContain(reason);
    expect(pageErrors()).toEqual([]);
  }, 120_000);

  it('a user query is answered by one overview message; Open puts a session in its thread', async () => {
    const standin = started.standin!;
    await page.locator('#thread-close').click();
    const parentsBefore = standin.state.channelMessages('C0SOCTRIAGE').length;
    await page.locator('#composer-input').fill('/cartographer user bert-jan');
    await page.locator('#composer-input').press('Enter');
    const overview = page
      .locator('#messages .message', {
        has: page.locator('.bk-header', { hasText: /bert-jan: \d+ sessions/ }),
      })
      .last();
    await overview.waitFor({ timeout: 45_000 });
    // One answer: exactly one new message in the channel, no thread until a session is opened.
    await waitStable(() => standin.state.channelMessages('C0SOCTRIAGE').length);
    expect(standin.state.channelMessages('C0SOCTRIAGE').length).toBe(parentsBefore + 1);
    const ts = (await overview.getAttribute('data-ts'))!;
    expect(standin.state.thread('C0SOCTRIAGE', ts)).toHaveLength(0);
    const opens = overview.getByRole('button', { name: 'Open' });
    const sessionsListed = await opens.count();
    measured.overview = {
      parents: 1,
      sessionsListed,
      header: (await overview.locator('.bk-header').textContent()) ?? '',
    };
    expect(sessionsListed).toBeGreaterThan(0);
    await expect.poll(() => overview.textContent()).toMatch(/quiet session/);
    await overview.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'playground-user-overview.png') });

    await opens.first().click();
    const thread = page.locator('#thread-pane.open');
    await expect.poll(() => thread.textContent(), { timeout: 45_000 }).toContain('Findings ·');
    await page.screenshot({ path: join(ARTIFACTS, 'playground-user-overview-open.png') });
    await page.locator('#thread-close').click();
    expect(pageErrors()).toEqual([]);
  }, 120_000);

  it('an alert in #soc-alerts: acknowledged, assigned, resolved as benign (Mark benign offered), reopened, in place', async () => {
    const standin = started.standin!;
    const alert = await pollValue(
      () =>
        standin.state
          .channelMessages('C0SOCALERTS')
          .find((m) => m.text.includes('Security group opened to the whole internet')),
      45_000,
    );
    await page.locator('.sidebar .channel[data-channel="soc-alerts"]').click();
    const row = page.locator(`#messages .message[data-ts="${alert.ts}"]`);
    await row.waitFor({ timeout: 30_000 });
    await row.scrollIntoViewIfNeeded();
    const header = row.locator('.bk-header');
    const state = row.locator('.bk-context').first();
    await expect.poll(() => state.textContent()).toContain('Open · nobody has acknowledged it yet');
    await row.screenshot({ path: join(ARTIFACTS, 'playground-alert-1-open.png') });
    const steps: string[] = [];
    const updated = async (name: string, headerText: string, line: RegExp) => {
      await expect.poll(() => header.textContent(), { timeout: 30_000 }).toContain(headerText);
      await expect
        .poll(() => row.locator('.bk-context').allTextContents())
        .toContainEqual(expect.stringMatching(line));
      await row.scrollIntoViewIfNeeded();
      await row.screenshot({ path: join(ARTIFACTS, `playground-alert-${name}.png`) });
      steps.push(
        `${(await header.textContent())?.trim()} | ${standin.state.message('C0SOCALERTS', alert.ts)!.history.length}`,
      );
    };

    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await updated('2-acknowledged', '👀 Acknowledged', /Acknowledged by @alice at \d{4}-/);
    await row.locator('select[data-action-id="cartographer_alert_assign"]').selectOption({ label: 'bob' });
    await updated('3-assigned', '👤 Assigned', /Assigned to @bob by @alice at /);
    await row
      .locator('select[data-action-id="cartographer_alert_resolve"]')
      .selectOption({ label: 'Benign' });
    await updated(
      '4-resolved-benign',
      '✅ Resolved: benign',
      /Resolved as benign by @alice at .* · held by @bob/,
    );
    // Mark benign is offered on a benign outcome: the existing modal opens for the alert's rule.
    await row.getByRole('button', { name: 'Mark benign' }).click();
    const modal = page.locator('#modal .modal');
    await modal.waitFor({ timeout: 30_000 });
    expect(await modal.textContent()).toContain('Security group opened to the whole internet');
    await page.screenshot({ path: join(ARTIFACTS, 'playground-alert-5-mark-benign-offered.png') });
    await modal.getByRole('button', { name: 'Cancel' }).click();
    await row.getByRole('button', { name: 'Reopen' }).click();
    await updated('6-reopened', '🔁 Reopened', /Reopened by @alice at .* · held by @bob/);
    await expect.poll(() => row.getByRole('button', { name: 'Acknowledge' }).count()).toBe(1);
    // One message, updated in place four times; the thread stays empty.
    expect(standin.state.message('C0SOCALERTS', alert.ts)!.history).toHaveLength(4);
    expect(standin.state.thread('C0SOCALERTS', alert.ts)).toHaveLength(0);
    measured.alertSteps = steps;

    // App Home: the open alerts, and under bob the alert he holds.
    await page.locator('#app-home').click();
    const home = page.locator('#home-view');
    await expect.poll(() => home.textContent(), { timeout: 30_000 }).toMatch(/Open alerts \(\d+\)/);
    await page.locator('#user-select').selectOption({ label: 'bob' });
    await expect.poll(() => home.textContent(), { timeout: 30_000 }).toContain('Assigned to you (1)');
    await page.screenshot({ path: join(ARTIFACTS, 'playground-home.png') });
    // Its link opens the alert message on the page.
    await home.getByRole('link', { name: 'Security group opened to the whole internet' }).first().click();
    await expect.poll(() => page.locator('#home-view').isHidden()).toBe(true);
    await expect.poll(() => page.locator('#channel-title').textContent()).toBe('# soc-alerts');
    await page.locator('#user-select').selectOption({ label: 'alice' });
    await page.locator('.sidebar .channel[data-channel="soc-triage"]').click();
    expect(pageErrors()).toEqual([]);
  }, 120_000);

  it('keeps working without server-sent events, by polling the stand-in state', async () => {
    const polling = await context.newPage();
    try {
      await polling.route('**/api/events', (route) => route.abort());
      await polling.goto(started.standin!.url);
      await expect.poll(() => polling.locator('#connection').getAttribute('data-state')).toBe('polling');
      // What the bot posted before and after the page loaded shows up all the same.
      await expect
        .poll(() => polling.locator('#suggestions .chip').count(), { timeout: 30_000 })
        .toBeGreaterThan(0);
      await polling.locator('#composer-input').fill('/cartographer frobnicate');
      await polling.locator('#composer-input').press('Enter');
      await expect
        .poll(
          () => polling.locator('#messages .message.ephemeral').filter({ hasText: 'frobnicate' }).count(),
          {
            timeout: 30_000,
          },
        )
        .toBe(1);
    } finally {
      await polling.close();
    }
  });

  it('answers a mistyped command with the bot usage, only visible to the user who typed it', async () => {
    const standin = started.standin!;
    const before = standin.state.ephemerals.length;
    await page.locator('#composer-input').fill('/cartographer session');
    await page.locator('#composer-input').press('Enter');
    await expect.poll(() => standin.state.ephemerals.length, { timeout: 30_000 }).toBeGreaterThan(before);
    const reply = standin.state.ephemerals[before]!;
    const gist = reply.text.split(/[.:]/)[0]!;
    expect(gist.length).toBeGreaterThan(5);
    const shown = page.locator('#messages .message.ephemeral').filter({ hasText: gist });
    await expect.poll(() => shown.count()).toBe(1);
    expect(await shown.locator('.only-you').textContent()).toContain('Only visible to you');
    // Another user does not see it.
    await page.locator('#user-select').selectOption({ label: 'bob' });
    await expect
      .poll(() => page.locator('#messages .message.ephemeral').filter({ hasText: gist }).count())
      .toBe(0);
    await page.locator('#user-select').selectOption({ label: 'alice' });
    expect(pageErrors()).toEqual([]);
  });

  it('clicks a button on an "only visible to you" message: the stand-in sends it as an ephemeral click', async () => {
    const standin = started.standin!;
    // A session summary from the earlier tests carries "All actions"; show its buttons to alice only,
    // as the bot's chat.postEphemeral would (the stand-in's own record of an ephemeral message).
    const parent = standin.state
      .channelMessages('C0SOCTRIAGE')
      .find((m) =>
        m.blocks?.some(
          (b) =>
            b.type === 'actions' &&
            b.elements.some((e: { action_id: string }) => e.action_id === ACTION_ALL_ACTIONS),
        ),
      );
    expect(parent).toBeDefined();
    const actions = parent!.blocks!.filter((b) => b.type === 'actions');
    const button = actions[0].elements.find((e: { action_id: string }) => e.action_id === ACTION_ALL_ACTIONS);
    const ephemeral = {
      seq: standin.state.nextSeq(),
      at: Date.now(),
      ts: standin.state.nextTs(),
      channel: 'C0SOCTRIAGE',
      user: 'U0ANALYST1',
      text: 'Ephemeral with buttons',
      via: 'chat.postEphemeral' as const,
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Ephemeral with buttons' } }, ...actions],
    };
    standin.state.ephemerals.push(ephemeral);
    standin.state.emitEvent({ type: 'ephemeral', ephemeral });
    const row = page.locator('#messages .message.ephemeral').filter({ hasText: 'Ephemeral with buttons' });
    await row.waitFor({ timeout: 30_000 });
    const answersBefore = standin.state
      .channelMessages('C0SOCTRIAGE')
      .filter((m) => /All actions/.test(m.text)).length;
    const clicksBefore = standin.state.deliveries.filter((d) => d.kind === 'click').length;
    await row.getByRole('button', { name: button.text.text }).click();
    await expect
      .poll(() => standin.state.deliveries.filter((d) => d.kind === 'click').length, { timeout: 30_000 })
      .toBe(clicksBefore + 1);
    const click = standin.state.deliveries.filter((d) => d.kind === 'click').at(-1)!;
    expect(click.status).toBe(200);
    expect(click.summary).toBe(`${ACTION_ALL_ACTIONS} on ${ephemeral.ts}`);
    // An ephemeral is no thread parent: the bot answers in the channel (the timeline may take several messages).
    await expect
      .poll(
        () => standin.state.channelMessages('C0SOCTRIAGE').filter((m) => /All actions/.test(m.text)).length,
        {
          timeout: 45_000,
        },
      )
      .toBeGreaterThan(answersBefore);
    expect(pageErrors()).toEqual([]);

    // A fresh tab (nothing remembered) places the ephemeral by the stand-in's `at`: before the answers
    // that came after it, not after the last message.
    const fresh = await context.newPage();
    try {
      await fresh.goto(standin.url);
      const rows = fresh.locator('#messages .message');
      await fresh
        .locator('#messages .message.ephemeral')
        .filter({ hasText: 'Ephemeral with buttons' })
        .waitFor();
      await expect
        .poll(() => rows.filter({ hasText: /All actions/ }).count(), { timeout: 30_000 })
        .toBeGreaterThan(0);
      const texts = await rows.allTextContents();
      const ephemeralAt = texts.findIndex((t) => t.includes('Ephemeral with buttons'));
      const lastAnswerAt = texts.findLastIndex((t) => /All actions/.test(t));
      expect(ephemeralAt).toBeGreaterThanOrEqual(0);
      expect(ephemeralAt).toBeLessThan(lastAnswerAt);
    } finally {
      await fresh.close();
    }
  }, 120_000);
});

function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('modal opened by the app (views.open)', () => {
  const secret = 'playground-modal-test-signing-secret';
  const token = 'xoxb-playground-modal-test';
  let standin: SlackStandin;
  let app: Server;
  let modalPage: Page;
  const received: { type: string; signatureOk: boolean; payload: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    standin = await startSlackStandin({ signingSecret: secret, botToken: token });
    // A minimal app in place of the bot, so the page can be shown the bot's real "Mark benign" modal
    // (the demo data yields no finding to click it on): it checks Slack's signature on every request.
    app = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', async () => {
        const ts = Number(req.headers['x-slack-request-timestamp']);
        const signatureOk = req.headers['x-slack-signature'] === slackSignature(secret, ts, body);
        const form = new URLSearchParams(body);
        const payload = form.has('payload')
          ? (JSON.parse(form.get('payload')!) as Record<string, unknown>)
          : Object.fromEntries(form);
        const type = String(payload.type ?? 'command');
        received.push({ type, signatureOk, payload });
        if (type === 'view_submission') {
          const values = (
            payload.view as { state: { values: Record<string, Record<string, { value?: string }>> } }
          ).state.values;
          const reason = values.benign_reason?.reason?.value ?? '';
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(
            reason.includes('TBD')
              ? JSON.stringify({
                  response_action: 'errors',
                  errors: { benign_reason: 'Name the ticket, not TBD' },
                })
              : '',
          );
          return;
        }
        res.writeHead(200).end();
        if (payload.text === 'benign') {
          const session = {
            key: 'AKIAEXAMPLEKEY000001',
            principal: { arn: 'arn:aws:iam::111122223333:user/example' },
            sourceIps: ['203.0.113.7'],
          } as unknown as SessionSummary;
          const view = buildBenignModal(
            { ref: 'r1', channel: 'C0SOCTRIAGE', threadTs: '1.000001' },
            undefined,
            session,
          );
          await fetch(`${standin.apiUrl}views.open`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ trigger_id: payload.trigger_id, view }),
          });
        }
      });
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
    standin.setBotUrl(`http://127.0.0.1:${(app.address() as AddressInfo).port}/slack/events`);
    modalPage = await context.newPage();
    await modalPage.goto(standin.url);
  });

  afterAll(async () => {
    await modalPage?.close();
    await standin?.close();
    await new Promise((r) => app?.close(r));
  });

  it('renders the inputs, checks them like Slack, shows the app errors and submits the values', async () => {
    await modalPage.locator('#composer-input').fill('/cartographer benign');
    await modalPage.locator('#composer-input').press('Enter');
    const modal = modalPage.locator('#modal .modal');
    await modal.waitFor({ timeout: 30_000 });
    expect(await modal.locator('.modal-title').textContent()).toBe('Mark benign');
    const reason = modal.locator('textarea');
    const submit = modal.getByRole('button', { name: 'Mark benign' });

    // Required and min_length are enforced in the client: nothing reaches the app.
    await submit.click();
    await expect
      .poll(() => modal.locator('.bk-input-error').allTextContents())
      .toContain('Please complete this required field.');
    await reason.fill('ok');
    await submit.click();
    await expect
      .poll(() => modal.locator('.bk-input-error').allTextContents())
      .toContain('Must have at least 5 characters');
    expect(received.filter((r) => r.type === 'view_submission')).toHaveLength(0);

    // The app's own validation (response_action: errors) keeps the modal open with its message.
    await reason.fill('TBD later');
    await submit.click();
    await expect
      .poll(() => modal.locator('.bk-input-error').allTextContents())
      .toContain('Name the ticket, not TBD');
    await modalPage.screenshot({ path: join(ARTIFACTS, 'playground-modal.png') });

    await modal.locator('select').selectOption('principal');
    await reason.fill('approved red-team exercise, ticket SEC-1234');
    await submit.click();
    await expect.poll(() => modalPage.locator('#modal').isHidden()).toBe(true);
    const submissions = received.filter((r) => r.type === 'view_submission');
    expect(submissions).toHaveLength(2);
    const values = (
      submissions[1]!.payload.view as { state: { values: Record<string, Record<string, unknown>> } }
    ).state.values;
    expect(values.benign_reason?.reason).toEqual({
      type: 'plain_text_input',
      value: 'approved red-team exercise, ticket SEC-1234',
    });
    const scope = values.benign_scope?.scope as { selected_option?: { value: string } } | undefined;
    expect(scope?.selected_option?.value).toBe('principal');
    expect(received.length).toBeGreaterThanOrEqual(4);
    expect(received.every((r) => r.signatureOk)).toBe(true);
  });
});

/** Polls until `read` returns a value. */
async function pollValue<T>(read: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = read();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls until a value stops changing for a second (the bot posts a thread as a burst of replies). */
async function waitStable(read: () => number, timeoutMs = 45_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = read();
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (now > 0 && Date.now() - since >= 1000) return now;
  }
  throw new Error(`value still changing after ${timeoutMs} ms (last ${last})`);
}
