/**
 * Every message the bot can build goes through the one limit checker, including a session of
 * 10,000 actions; and the checker itself catches each limit it claims to enforce.
 */
import type { Button, SectionBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { RefAction } from '../../bot/actions/ids.ts';
import { createCommandRegistry } from '../../bot/commands/registry.ts';
import { buildBenignModal } from '../../bot/messages/benign-modal.ts';
import { buildFindingsPage, GROUPS_PER_PAGE, groupFindings } from '../../bot/messages/findings.ts';
import { buildHeadline } from '../../bot/messages/headline.ts';
import { buildHelp } from '../../bot/messages/help.ts';
import { checkMessage, checkModal, LIMITS, type SlackMessage } from '../../bot/messages/limits.ts';
import {
  failureMessage,
  infoMessage,
  noResultsMessage,
  progressMessage,
  refusalMessage,
  usageMessage,
} from '../../bot/messages/notices.ts';
import { buildRawEvents } from '../../bot/messages/raw-events.ts';
import { buildTimeline, collapseRepeats } from '../../bot/messages/timeline.ts';
import { buildUnmapped } from '../../bot/messages/unmapped.ts';
import type { Finding, SessionSummary, Signal } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { isSection, textOf } from '../support/blocks.ts';

const refs: { action: RefAction; ids: string[] }[] = [];
const makeRef = (action: RefAction, ids: string[]) => {
  refs.push({ action, ids });
  return `ref${refs.length.toString(36).padStart(10, '0')}`;
};

const NASTY = 'x<script>&amp;`code`*bold*_it_ ';
const start = Date.parse('2026-11-20T08:00:00Z');
const iso = (i: number) => new Date(start + i * 1000).toISOString();

function signal(i: number, overrides: Partial<Signal> = {}): Signal {
  return {
    id: `signal-${i % 37}`,
    name: i % 101 === 0 ? `${NASTY.repeat(20)}very long action name ${i}` : `Viewed page ${i % 37}`,
    summary: i % 97 === 0 ? `${NASTY.repeat(60)} summary ${i}` : `Listed resources on page ${i}`,
    url: i % 13 === 0 ? `https://console.aws.amazon.com/iam/home#/roles/${i}` : undefined,
    service: 'iam',
    start: iso(i),
    end: iso(i),
    eventIds: [`ev-${i}-a`, `ev-${i}-b`],
    suppressed: i % 5 === 0,
    details: {},
    ...overrides,
  } as Signal;
}

function finding(i: number): Finding {
  return {
    id: `finding-${i}`,
    ruleId: `rule-${i % 9}-${'r'.repeat(i % 3 === 0 ? 120 : 3)}`,
    title: i % 7 === 0 ? `${NASTY.repeat(30)} title` : `Suspicious thing ${i}`,
    severity: (['info', 'low', 'medium', 'high', 'critical'] as const)[i % 5]!,
    techniques: ['T1078.004', 'T1098.001', 'T1562.008', 'T1530', 'T1087.004', 'T1580'],
    tactics: ['Persistence', 'Privilege Escalation', 'Defense Evasion'],
    sessionKey: 'ASIAEXAMPLEKEY000001',
    time: iso(i),
    eventIds: Array.from({ length: (i % 4) * 10 + 1 }, (_, k) => `ev-${i}-${k}`),
    explanation: `${'A long explanation with evidence. '.repeat(i % 2 ? 60 : 2)} password=hunter2`,
  };
}

function session(actions: number, findings: number, unmapped: number): SessionSummary {
  return {
    key: 'ASIAEXAMPLEKEY000001',
    kind: 'console',
    principal: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::123456789012:assumed-role/${'Admin'.repeat(50)}/alice@example.com`,
      issuerArn: 'arn:aws:iam::123456789012:role/Admin',
      accountId: '123456789012',
    },
    accessKeyIds: Array.from({ length: 12 }, (_, i) => `ASIAEXAMPLEKEY${String(i).padStart(6, '0')}`),
    mfa: true,
    sourceIps: Array.from({ length: 30 }, (_, i) => `203.0.113.${i}`),
    userAgents: [`Mozilla/5.0 ${'(X11; Linux x86_64) '.repeat(40)}`],
    regions: ['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', 'sa-east-1', 'us-west-2'],
    start: iso(0),
    end: iso(actions),
    eventCount: actions * 2 + unmapped,
    errorCount: 17,
    signals: Array.from({ length: actions }, (_, i) => signal(i)),
    unmappedEventIds: Array.from({ length: unmapped }, (_, i) => `un-${i}`),
    findings: Array.from({ length: findings }, (_, i) => finding(i)),
    risk: { score: 87, reasons: [`${NASTY.repeat(40)} reason`] },
  };
}

function records(n: number): Map<string, CloudTrailRecord> {
  const m = new Map<string, CloudTrailRecord>();
  for (let i = 0; i < n; i++) {
    m.set(`un-${i}`, {
      eventTime: iso(i),
      eventSource: `service${i % 150}.amazonaws.com`,
      eventName: `Describe${'Thing'.repeat(i % 7)}${i % 300}`,
      sourceIPAddress: '198.51.100.7',
      awsRegion: 'us-east-1',
      ...(i % 11 === 0 ? { errorCode: 'AccessDenied' } : {}),
    } as CloudTrailRecord);
  }
  return m;
}

function expectWithinLimits(messages: SlackMessage[]) {
  expect(messages.length).toBeGreaterThan(0);
  for (const m of messages) {
    expect(checkMessage(m)).toEqual([]);
    expect(m.text.trim().length).toBeGreaterThan(0);
  }
}

describe('every message builder stays within Slack limits', () => {
  const big = session(10_000, 150, 5_000);
  const recs = records(5_000);

  it('a session of 10,000 actions: headline, timeline (split over replies, in order), all actions', () => {
    expectWithinLimits([
      buildHeadline(
        {
          session: big,
          sourceLabel: 'Athena',
          truncated: NASTY.repeat(50),
          rejected: { count: 3, first: `demo/x.json#12: ${NASTY.repeat(50)}` },
          requestedBy: 'U0ANALYST1',
        },
        makeRef,
      ),
    ]);
    const timeline = buildTimeline(big, makeRef);
    expectWithinLimits(timeline);
    expect(timeline.length).toBeGreaterThan(5);
    const all = buildTimeline(big, makeRef, { includeSuppressed: true });
    expectWithinLimits(all);
    expect(all.length).toBeGreaterThan(timeline.length);
    // The replies keep the actions in time order and lose none.
    const times = all.flatMap((m) =>
      (m.blocks ?? [])
        .filter(isSection)
        .flatMap((b) => [...textOf(b).matchAll(/^`(\d\d:\d\d:\d\d)`/gm)].map((x) => x[1])),
    );
    expect(times).toEqual([...times].sort());
    expect(times.length).toBe(collapseRepeats(big.signals).length);
  });

  it('150 findings with evidence (grouped by rule, paged in one reply), 5,000 unmapped events in 300 kinds', () => {
    const groups = groupFindings(big.findings);
    const pages = Math.ceil(groups.length / GROUPS_PER_PAGE);
    const findings = Array.from({ length: pages + 1 }, (_, i) => buildFindingsPage(big, recs, makeRef, i));
    expectWithinLimits(findings);
    // Past the last page it shows the last page again.
    expect(findings.at(-1)?.text).toBe(findings.at(-2)?.text);
    expect(findings[0]?.text).toMatch(/^Findings \(page 1 of \d+\): 150 findings from \d+ rules/);
    // Worst first across the pages, every finding counted once.
    const order = findings
      .slice(0, pages)
      .flatMap((m) =>
        (m.blocks ?? [])
          .filter(isSection)
          .map((b) => /· (critical|high|medium|low|info) ·/.exec(textOf(b))?.[1]),
      );
    const rank = ['info', 'low', 'medium', 'high', 'critical'];
    expect(order).toHaveLength(groups.length);
    expect(order[0]).toBe('critical');
    expect(order.map((o) => rank.indexOf(o ?? ''))).toEqual(
      order.map((o) => rank.indexOf(o ?? '')).sort((a, b) => b - a),
    );
    expect(groups.reduce((n, g) => n + g.findings.length, 0)).toBe(150);
    expect(findings.map((m) => JSON.stringify(m)).join('')).not.toContain('hunter2');
    const unmapped = buildUnmapped(big, recs, makeRef);
    expect(unmapped).toHaveLength(1);
    expectWithinLimits(unmapped);
  });

  it('small and empty sessions, notices, help, raw events, modal', () => {
    const small = session(3, 0, 0);
    expectWithinLimits([buildHeadline({ session: small, sourceLabel: 'local files' }, makeRef)]);
    expectWithinLimits(buildTimeline(session(0, 0, 0), makeRef));
    expectWithinLimits([buildFindingsPage(small, new Map(), makeRef)]);
    expectWithinLimits(buildUnmapped(small, new Map(), makeRef));
    expectWithinLimits([
      progressMessage(`Looking up ${NASTY.repeat(100)}`),
      usageMessage(NASTY.repeat(100), '/cartographer session <key>'),
      refusalMessage(NASTY.repeat(100)),
      failureMessage(NASTY.repeat(100), NASTY.repeat(200)),
      noResultsMessage(NASTY.repeat(100), NASTY.repeat(200)),
      infoMessage(NASTY.repeat(300)),
      buildHelp(createCommandRegistry().list(), 'local', {
        sessionKeys: ['ASIATFQR7NSCS5BLNV76'],
        users: ['bert-jan'],
        ips: ['192.168.10.20'],
      }),
    ]);
    const inline = buildRawEvents(
      [{ eventName: 'GetCallerIdentity', eventSource: 'sts.amazonaws.com', eventTime: iso(1) }],
      'x',
    );
    expect(inline.kind).toBe('inline');
    if (inline.kind === 'inline') expectWithinLimits([inline.message]);
    const file = buildRawEvents([...recs.values()].slice(0, 100), 'many');
    expect(file.kind).toBe('file');
    expect(
      checkModal(buildBenignModal({ ref: 'r', channel: 'C1', threadTs: '1.2' }, finding(7), big)),
    ).toEqual([]);
  });

  it('button values are opaque short references', () => {
    for (const m of buildTimeline(big, makeRef)) {
      for (const b of m.blocks ?? []) {
        for (const e of b.type === 'actions' ? b.elements : [])
          expect(e).toMatchObject({ value: expect.stringMatching(/^ref[0-9a-z]{10}$/) });
      }
    }
  });
});

describe('the limit checker', () => {
  const section = (text: string): SectionBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });
  const button = (text: string, value = 'v'): Button => ({
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: 'a',
    value,
  });
  const cases: [string, SlackMessage, RegExp][] = [
    ['missing fallback', { text: '', blocks: [section('x')] }, /fallback/],
    ['51 blocks', { text: 't', blocks: Array.from({ length: 51 }, () => section('x')) }, /51 blocks/],
    ['section text 3,001', { text: 't', blocks: [section('x'.repeat(3001))] }, /3001 chars \(max 3000\)/],
    [
      'header 151',
      { text: 't', blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }] },
      /max 150/,
    ],
    [
      'button text 76',
      { text: 't', blocks: [{ type: 'actions', elements: [button('b'.repeat(76))] }] },
      /max 75/,
    ],
    [
      'button value 2,001',
      { text: 't', blocks: [{ type: 'actions', elements: [button('b', 'v'.repeat(2001))] }] },
      /2000/,
    ],
    [
      '11 fields',
      {
        text: 't',
        blocks: [
          { type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) },
        ],
      },
      /11 fields/,
    ],
    [
      'field 2,001',
      { text: 't', blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }] },
      /max 2000/,
    ],
    [
      'more than 12,000 characters of text',
      { text: 't', blocks: Array.from({ length: 5 }, () => section('x'.repeat(2900))) },
      new RegExp(`max ${LIMITS.messageTextHard}`),
    ],
    ['unknown block type', { text: 't', blocks: [{ type: 'rich_text', elements: [] }] }, /not checked/],
  ];
  it.each(cases)('flags %s', (_name, message, pattern) => {
    const v = checkMessage(message);
    expect(v.map((x) => `${x.path}: ${x.message}`).join('\n')).toMatch(pattern);
  });
});
