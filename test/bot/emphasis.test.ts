/**
 * Dynamic text inside mrkdwn emphasis: finding titles (CloudGrappler indicators carry `*` globs),
 * signal names and failure lines are wrapped in `*…*` by the builders. The playground page's
 * mrkdwn renderer (written from Slack's formatting rules, tested on its own in
 * playground-mrkdwn.test.ts) reads the result the way Slack would.
 */
import { describe, expect, it } from 'vitest';
import { buildBenignModal } from '../../bot/messages/benign-modal.ts';
import { buildFindingsPage } from '../../bot/messages/findings.ts';
import { bold, emphasisSafe, mention } from '../../bot/messages/format.ts';
import { buildHeadline } from '../../bot/messages/headline.ts';
import { failureMessage, markedBenignMessage } from '../../bot/messages/notices.ts';
import { buildTimeline } from '../../bot/messages/timeline.ts';
import type { Finding, SessionSummary, Signal } from '../../engine/model.ts';
import { mrkdwn } from '../../playground/web/blockkit.js';

// A title as the CloudGrappler indicator rules produce it (glob with `*` between the parts).
const GLOB_TITLE =
  'CloudGrappler indicator: secret read from CloudShell (GetSecretValue.*exec-env*CloudShell)';
const NASTY_TITLES = [
  GLOB_TITLE,
  'snake_case_name and ~tilde~ and `tick` and *stars*',
  '_whole title in underscores_',
  'two\nlines <@U0BOSS> & <!channel>',
  '*',
];

/** The text of every mrkdwn block element, as one string per block. */
// biome-ignore lint/suspicious/noExplicitAny: Block Kit JSON
function mrkdwnTexts(blocks: any[] | undefined): string[] {
  const out: string[] = [];
  for (const b of blocks ?? []) {
    if (b.text?.type === 'mrkdwn') out.push(b.text.text);
    for (const f of b.fields ?? []) if (f.type === 'mrkdwn') out.push(f.text);
    for (const e of b.elements ?? []) if (e.type === 'mrkdwn') out.push(e.text);
  }
  return out;
}

/** What the reader sees: the bold parts and the plain text, with markup removed. */
function reading(html: string): { bolds: string[]; plain: string } {
  const bolds = [...html.matchAll(/<b>(.*?)<\/b>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''));
  return { bolds, plain: html.replace(/<[^>]+>/g, '') };
}

describe('emphasisSafe / bold', () => {
  it('renders each nasty title as one bold run with no markup characters left over', () => {
    for (const title of NASTY_TITLES) {
      const html = mrkdwn(`before ${bold(title)} after`);
      const { bolds, plain } = reading(html);
      expect(bolds, title).toHaveLength(1);
      expect(html, title).not.toMatch(/<(i|s|code)>/);
      expect(plain, title).not.toMatch(/[*_~`]/);
      // Mentions and broadcasts stay text.
      expect(html).not.toMatch(/class="mention"|@channel/);
    }
    // The glob's parts are all still there to read, in order.
    const { bolds } = reading(mrkdwn(bold(GLOB_TITLE)));
    expect(bolds[0]).toBe(
      'CloudGrappler indicator: secret read from CloudShell (GetSecretValue.∗exec-env∗CloudShell)',
    );
  });

  it('without the helper the same title breaks the bold (why it exists)', () => {
    const html = mrkdwn(`*${GLOB_TITLE}*`);
    expect(reading(html).bolds.join('')).not.toBe(GLOB_TITLE);
  });

  it('escapes &, <, > once, clips before escaping, gives nothing for empty text', () => {
    expect(emphasisSafe('a & b <c>')).toBe('a &amp; b &lt;c&gt;');
    expect(bold('  ')).toBe('');
    expect(bold('x'.repeat(500), 50)).toHaveLength(52);
    expect(bold('&'.repeat(100), 10)).not.toMatch(/&(?!amp;)/);
  });

  it('mention(): a real mention for a Slack user id, escaped text for anything else', () => {
    expect(mention('U0ANALYST1')).toBe('<@U0ANALYST1>');
    expect(mention('W012ABCDE')).toBe('<@W012ABCDE>');
    expect(mention('U0X><!channel')).toBe('U0X&gt;&lt;!channel');
  });
});

const signal = (name: string): Signal =>
  ({
    id: 'sig',
    name,
    summary: 'did a thing',
    service: 'secretsmanager',
    start: '2026-11-20T08:00:00Z',
    end: '2026-11-20T08:00:01Z',
    eventIds: ['e1'],
    suppressed: false,
    details: {},
  }) as Signal;

const finding = (title: string, i: number): Finding =>
  ({
    id: `f${i}`,
    ruleId: 'cloudgrappler-indicator',
    title,
    severity: 'high',
    techniques: ['T1552'],
    tactics: ['Credential Access'],
    sessionKey: 'ASIAEXAMPLE',
    time: '2026-11-20T08:00:00Z',
    eventIds: ['e1'],
    explanation: 'read a secret',
  }) as Finding;

const summary: SessionSummary = {
  key: 'ASIAEXAMPLE',
  kind: 'console',
  principal: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice', accountId: '123456789012' },
  accessKeyIds: ['ASIAEXAMPLE'],
  sourceIps: ['203.0.113.5'],
  userAgents: ['console'],
  regions: ['us-east-1'],
  start: '2026-11-20T08:00:00Z',
  end: '2026-11-20T08:10:00Z',
  eventCount: 3,
  errorCount: 0,
  signals: NASTY_TITLES.map(signal),
  unmappedEventIds: [],
  findings: NASTY_TITLES.map(finding),
  risk: { score: 80, reasons: ['secret read'] },
} as SessionSummary;

describe('the builders that bold dynamic text', () => {
  const makeRef = () => 'ref0000000001';
  const built = {
    headline: mrkdwnTexts(buildHeadline({ session: summary, sourceLabel: 'local files' }, makeRef).blocks),
    findings: mrkdwnTexts(buildFindingsPage(summary, new Map(), makeRef).blocks),
    timeline: buildTimeline(summary, makeRef).flatMap((m) => mrkdwnTexts(m.blocks)),
    modal: mrkdwnTexts(
      buildBenignModal({ ref: 'r', channel: 'C1', threadTs: '1.1' }, summary.findings[0], summary).blocks,
    ),
    failure: mrkdwnTexts(failureMessage(GLOB_TITLE, 'try again').blocks),
  };

  for (const [name, texts] of Object.entries(built)) {
    it(`${name}: every bold run is whole, no stray markup characters or mentions`, () => {
      expect(texts.length).toBeGreaterThan(0);
      const html = texts.map((t) => mrkdwn(t)).join('\n');
      const { bolds, plain } = reading(html);
      expect(bolds.length).toBeGreaterThan(0);
      expect(html).not.toMatch(/<s>|@channel|class="mention"/);
      for (const t of NASTY_TITLES.slice(0, 2)) {
        if (plain.includes(t.slice(0, 20))) expect(plain).not.toContain(t); // shown with look-alikes
      }
      expect(plain).not.toMatch(/GetSecretValue\.\*/);
    });
  }

  it('the glob title is shown whole and bold in findings, headline and the modal', () => {
    const want = emphasisSafe(GLOB_TITLE);
    for (const texts of [built.findings, built.headline, built.modal, built.failure]) {
      const { bolds } = reading(texts.map((t) => mrkdwn(t)).join('\n'));
      expect(bolds).toContain(want.replace(/&amp;/g, '&'));
    }
  });
});

describe('"Marked benign" confirmation', () => {
  it('mentions the analyst for real; the reason and scope cannot mention or link anyone', () => {
    const m = markedBenignMessage(
      'U0ANALYST1',
      'rule x for arn:aws:iam::1:user/<bob>',
      'ok <!here> <https://evil.test|docs> & done',
    );
    const [text] = mrkdwnTexts(m.blocks);
    expect(text).toMatch(/^Marked benign by <@U0ANALYST1>: /);
    expect(m.text).toBe(text);
    expect(text).toContain('&lt;!here&gt;');
    expect(text).toContain('&lt;https://evil.test|docs&gt; &amp; done');
    expect(text).toContain('user/&lt;bob&gt;');
    const html = mrkdwn(text!);
    expect(html).not.toContain('<a ');
    expect(html).not.toMatch(/@here/i);
  });
});
