/**
 * The triage messages: console links for each partition and the resources the console has pages
 * for; the alert in every lifecycle state, the user/ip overview, the App Home tab and the digest's
 * open-alert section, each within Slack's limits (the bot's checker) at their largest. The builders
 * themselves are typed with @slack/types' Block Kit types, so tsc checks their shape.
 */
import { describe, expect, it } from 'vitest';
import type { AlertCase } from '../../adapters/state/triage-store.ts';
import { type CaseCommand, transition } from '../../bot/actions/case-transitions.ts';
import {
  type AlertInput,
  buildAlert,
  stateLine,
  titleFromHeader,
  withCase,
} from '../../bot/messages/alert.ts';
import {
  accessKeyLink,
  arnLink,
  eventLink,
  mrkdwnLink,
  principalLink,
  resourceLink,
} from '../../bot/messages/console-links.ts';
import { buildDigestMessage } from '../../bot/messages/digest.ts';
import { buildHome } from '../../bot/messages/home.ts';
import { type BotHomeView, checkMessage, checkView, LIMITS } from '../../bot/messages/limits.ts';
import { buildOverview } from '../../bot/messages/overview.ts';
import { buildTimelinePage } from '../../bot/messages/timeline.ts';
import type { Digest } from '../../engine/digest/build.ts';
import type { Finding, SessionSummary } from '../../engine/model.ts';
import type { CloudTrailRecord } from '../../engine/record.ts';
import { buttonsOf, textOf } from '../support/blocks.ts';

const NASTY = 'x<script>&amp;`code`*bold*_it_|> ';

describe('console links', () => {
  it('builds IAM, CloudTrail and resource pages for the event’s partition and region', () => {
    expect(principalLink('arn:aws:iam::123456789012:user/ops/alice')?.url).toBe(
      'https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/users/details/alice',
    );
    expect(principalLink('arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com')).toEqual({
      url: 'https://us-east-1.console.aws.amazon.com/iam/home?region=us-east-1#/roles/details/Admin',
      label: 'IAM role Admin',
    });
    expect(principalLink('arn:aws-cn:iam::123456789012:role/ops')?.url).toBe(
      'https://console.amazonaws.cn/iam/home?region=cn-north-1#/roles/details/ops',
    );
    expect(principalLink('arn:aws-us-gov:iam::123456789012:user/bob')?.url).toMatch(
      /^https:\/\/console\.amazonaws-us-gov\.com\/iam\/home\?region=us-gov-west-1#/,
    );
    expect(principalLink('arn:aws:iam::123456789012:root')).toBeUndefined();
    expect(principalLink('arn:aws-iso:iam::123456789012:user/x')).toBeUndefined();
    expect(eventLink('7e96f0e7-4d78', 'aws', 'eu-west-1')?.url).toBe(
      'https://eu-west-1.console.aws.amazon.com/cloudtrail/home?region=eu-west-1#/events?EventId=7e96f0e7-4d78',
    );
    expect(accessKeyLink('AKIAEXAMPLE', 'aws-cn', 'cn-northwest-1')?.url).toBe(
      'https://console.amazonaws.cn/cloudtrail/home?region=cn-northwest-1#/events?AccessKeyId=AKIAEXAMPLE',
    );
  });

  it('links the resource an event touched, from its resources ARN or its request', () => {
    const rec = (over: Partial<CloudTrailRecord>) =>
      ({
        eventTime: '2023-07-10T12:00:00Z',
        eventSource: 'x',
        eventName: 'y',
        awsRegion: 'eu-west-1',
        ...over,
      }) as CloudTrailRecord;
    const cases: [Partial<CloudTrailRecord>, string][] = [
      [{ requestParameters: { bucketName: 'logs bucket' } }, '/s3/buckets/logs%20bucket?region=eu-west-1'],
      [
        { requestParameters: { groupId: 'sg-0123' } },
        '/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0123',
      ],
      [{ requestParameters: { instanceId: 'i-0abc' } }, '#InstanceDetails:instanceId=i-0abc'],
      [
        { requestParameters: { functionName: 'arn:aws:lambda:eu-west-1:1:function:f1' } },
        '/lambda/home?region=eu-west-1#/functions/f1',
      ],
      [
        { requestParameters: { dBSnapshotIdentifier: 'snap1' } },
        '/rds/home?region=eu-west-1#db-snapshot:id=snap1',
      ],
      [
        { requestParameters: { secretId: 'prod/db' } },
        '/secretsmanager/secret?name=prod%2Fdb&region=eu-west-1',
      ],
      [{ requestParameters: { roleName: 'Admin' } }, '/iam/home?region=us-east-1#/roles/details/Admin'],
      [
        {
          resources: [{ ARN: 'arn:aws:ec2:us-west-2:123456789012:snapshot/snap-09' }],
        } as Partial<CloudTrailRecord>,
        'https://us-west-2.console.aws.amazon.com/ec2/home?region=us-west-2#SnapshotDetails:snapshotId=snap-09',
      ],
    ];
    for (const [over, want] of cases)
      expect(resourceLink(rec(over))?.url, JSON.stringify(over)).toContain(want);
    expect(arnLink('arn:aws:kms:eu-west-1:123456789012:key/abcd', 'us-east-1')?.url).toContain(
      '/kms/home?region=eu-west-1#/kms/keys/abcd',
    );
    expect(arnLink('arn:aws:iam::aws:policy/AdministratorAccess', 'us-east-1')).toBeUndefined();
    expect(resourceLink(rec({ requestParameters: { name: 'thing' } }))).toBeUndefined();
  });

  it('writes Slack link markup that no label or URL can break out of', () => {
    const l = mrkdwnLink({ url: 'https://example.com/a|b>c d&e', label: '' }, 'lab|el>');
    expect(l).toBe('<https://example.com/a%7Cb%3Ec%20d&amp;e|label&gt;>'.replace('label&gt;', 'label'));
    expect(mrkdwnLink({ url: 'javascript:alert(1)', label: '' }, 'text')).toBe('text');
    expect(mrkdwnLink(undefined, 'plain')).toBe('plain');
  });
});

const finding: Finding = {
  id: 'f1',
  ruleId: `cartographer.${'very-long-rule-'.repeat(10)}`,
  title: `${NASTY.repeat(12)}Security group opened to the whole internet`,
  severity: 'high',
  techniques: ['T1562.007', 'T1190', 'T1098', 'T1530', 'T1078'],
  tactics: ['Defense Evasion'],
  sessionKey: 'AKIATFQR7NSC8Q4X20BJ',
  principal: `arn:aws:iam::123456789012:user/${'bert-jan'.repeat(30)}`,
  time: '2023-07-10T12:10:05Z',
  eventIds: Array.from({ length: 40 }, (_, i) => `ev-${i}`),
  explanation: `${NASTY.repeat(200)} password=hunter2`,
};

function input(): AlertInput {
  const records = new Map<string, CloudTrailRecord>();
  for (const id of finding.eventIds) {
    records.set(id, {
      eventID: id,
      eventTime: '2023-07-10T12:10:05Z',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AuthorizeSecurityGroupIngress',
      awsRegion: 'us-east-1',
      sourceIPAddress: '203.0.113.9',
      recipientAccountId: '123456789012',
      userIdentity: { arn: finding.principal },
      requestParameters: { groupId: `sg-${NASTY.repeat(20)}` },
    } as unknown as CloudTrailRecord);
  }
  return {
    finding,
    alertKey: 'a'.repeat(24),
    sessionKey: 'AKIATFQR7NSC8Q4X20BJ',
    resource: `groupId=sg-${NASTY.repeat(30)}`,
    sourceIps: ['203.0.113.9', '198.51.100.2', '192.0.2.1', '192.0.2.2'],
    records,
    rawRef: 'ref0000000001',
    repeatWindowHours: 24,
    accountName: (id) => (id === '123456789012' ? `prod ${NASTY}` : undefined),
  };
}

describe('the alert through its lifecycle', () => {
  const posted = buildAlert(input());
  const open: AlertCase = {
    key: 'a'.repeat(24),
    channel: 'C1',
    ts: '1.1',
    ruleId: finding.ruleId,
    title: finding.title,
    severity: 'high',
    principal: finding.principal!,
    eventAt: 1,
    state: 'open',
    lastAction: 'opened',
    lastAt: 1,
    version: 1,
  };
  const steps: [CaseCommand, string][] = [
    [{ kind: 'acknowledge' }, 'U0ALICE'],
    [{ kind: 'assign', assignee: 'U0BOB' }, 'U0ALICE'],
    [{ kind: 'resolve', outcome: 'benign' }, 'U0BOB'],
    [{ kind: 'reopen' }, 'U0ALICE'],
    [{ kind: 'resolve', outcome: 'follow-up' }, 'U0ALICE'],
  ];

  it('posts within limits, links the principal, key, account name, events and resource, and redacts', () => {
    expect(checkMessage(posted)).toEqual([]);
    const json = JSON.stringify(posted.blocks);
    expect(json).toContain('/iam/home?region=us-east-1#/users/details/');
    expect(json).toContain('#/events?AccessKeyId=AKIATFQR7NSC8Q4X20BJ');
    expect(json).toContain('#/events?EventId=ev-0');
    expect(json).toContain('*account* 123456789012 (prod x&lt;script&gt;');
    expect(json).not.toContain('hunter2');
    // Only the header is plain text; every mrkdwn text has the markup escaped.
    expect(JSON.stringify(posted.blocks?.slice(1))).not.toContain('<script>');
  });

  it('every state: within limits, its header emoji and words, its line and buttons; the rest kept', () => {
    let c = open;
    const seen: string[] = [];
    let message = posted;
    for (const [command, by] of steps) {
      const t = transition(c, command, by, Date.parse('2026-12-01T03:00:00Z'));
      if ('refused' in t) throw new Error(t.refused);
      c = t.next;
      message = withCase(message, c, 'ref0000000002');
      expect(checkMessage(message)).toEqual([]);
      seen.push(`${textOf(message.blocks?.[0]).split(' · ')[0]} | ${stateLine(c).split(' at ')[0]}`);
      const kept = (m: typeof message) =>
        JSON.stringify(
          (m.blocks ?? []).filter((b) => !/^cartographer_alert_(header|state|case)/.test(b.block_id ?? '')),
        );
      expect(kept(message)).toBe(kept(posted));
    }
    expect(seen).toEqual([
      ':eyes: Acknowledged | :eyes: *Acknowledged* by <@U0ALICE>',
      ':bust_in_silhouette: Assigned | :bust_in_silhouette: *Assigned* to <@U0BOB> by <@U0ALICE>',
      ':white_check_mark: Resolved: benign | :white_check_mark: *Resolved as benign* by <@U0BOB>',
      ':repeat: Reopened | :repeat: *Reopened* by <@U0ALICE>',
      ':pushpin: Resolved: needs follow-up | :pushpin: *Resolved as needs follow-up* by <@U0ALICE>',
    ]);
    expect(titleFromHeader(':eyes: Acknowledged · High: Root login')).toBe('Root login');
    expect(titleFromHeader(':large_orange_circle: High: Root login')).toBe('Root login');
  });

  it('an alert posted before the lifecycle existed gets the state line and buttons on its first change', () => {
    const legacy = {
      text: 'High alert: x',
      blocks: (posted.blocks ?? []).filter((b) => !/^cartographer_alert_(state|case)/.test(b.block_id ?? '')),
    };
    const updated = withCase(legacy, {
      ...open,
      state: 'acknowledged',
      lastAction: 'acknowledged',
      lastBy: 'U0A',
    });
    expect(updated.blocks?.map((b) => b.block_id ?? b.type)).toEqual(
      posted.blocks?.map((b) => b.block_id ?? b.type),
    );
    expect(updated.text).toBe('[Acknowledged] High alert: x');
  });
});

function session(i: number, risk: number, findings: number): SessionSummary {
  return {
    key: `AKIA${String(i).padStart(16, '0')}`,
    kind: i % 2 ? 'console' : 'programmatic',
    principal: { arn: `arn:aws:iam::123456789012:user/${NASTY.repeat(10)}`, accountId: '123456789012' },
    accessKeyIds: [`AKIA${String(i).padStart(16, '0')}`],
    sourceIps: ['203.0.113.1', '203.0.113.2', '203.0.113.3'],
    userAgents: [],
    regions: ['eu-west-1'],
    start: '2023-07-10T11:54:33Z',
    end: '2023-07-10T12:28:39Z',
    eventCount: 2104,
    errorCount: 3,
    signals: [],
    unmappedEventIds: [],
    findings: Array.from({ length: findings }, (_, k) => ({
      ...finding,
      id: `f${k}`,
      severity: k % 2 ? 'medium' : 'high',
    })),
    risk: { score: risk, reasons: [] },
  };
}

describe('the timeline reply, paged in place', () => {
  it('pages cover every action once, in order, each page within limits with Previous / Show N more', () => {
    const signals = Array.from({ length: 3000 }, (_, i) => ({
      id: `s${i}`,
      name: `Changed thing ${i} ${NASTY}`,
      summary: `Changed thing ${i} with a long summary ${'x'.repeat(i % 200)}`,
      service: 'ec2',
      start: new Date(Date.parse('2023-07-10T00:00:00Z') + i * 1000).toISOString(),
      end: new Date(Date.parse('2023-07-10T00:00:00Z') + i * 1000).toISOString(),
      eventIds: [`e${i}`],
      suppressed: false,
      details: {},
    }));
    const s = { ...session(1, 50, 0), signals };
    let n = 0;
    const makeRef = () => `ref${String(++n).padStart(10, '0')}`;
    const ranges: [number, number][] = [];
    for (let page = 0; ; page++) {
      const m = buildTimelinePage(s, makeRef, page);
      expect(checkMessage(m)).toEqual([]);
      const range = /actions (\d+)–(\d+) of 3000 · page (\d+) of (\d+)/.exec(JSON.stringify(m.blocks));
      expect(range).not.toBeNull();
      ranges.push([Number(range![1]), Number(range![2])]);
      const buttons = buttonsOf(m.blocks);
      const ids = buttons.map((b) => b.action_id);
      expect(ids.includes('cartographer_page_prev')).toBe(page > 0);
      if (Number(range![3]) === Number(range![4])) {
        expect(ids).not.toContain('cartographer_page_next');
        break;
      }
      expect(buttons.find((b) => b.action_id === 'cartographer_page_next')?.text.text).toBe(
        `Show ${(3000 - Number(range![2])).toLocaleString('en-US')} more actions`,
      );
    }
    expect(ranges[0]![0]).toBe(1);
    expect(ranges.at(-1)![1]).toBe(3000);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1] + 1);
  });
});

describe('the user/ip overview', () => {
  it('ranks sessions with an Open button each, folds quiet ones, stays within limits at its largest', () => {
    const sessions = [
      ...Array.from({ length: 10 }, (_, i) => session(i, 100 - i, 56)),
      ...Array.from({ length: 4 }, (_, i) => session(20 + i, 0, 0)),
    ];
    const m = buildOverview({
      kind: 'user',
      value: `bert-jan${NASTY}`,
      sessions,
      others: Array.from({ length: 300 }, (_, i) => ({ key: `ASIA${i}${NASTY}`, risk: 0 })),
      openRef: (i) => `ref${String(i).padStart(10, '0')}`,
      sourceLabel: 'Athena',
      requestedBy: 'U0ANALYST1',
      truncated: NASTY.repeat(40),
      rejected: { count: 2, first: NASTY.repeat(40) },
      accountName: () => 'prod',
    });
    expect(checkMessage(m)).toEqual([]);
    const open = (m.blocks ?? []).filter(
      (b) =>
        b.type === 'section' &&
        b.accessory?.type === 'button' &&
        b.accessory.action_id === 'cartographer_open',
    );
    expect(open).toHaveLength(10);
    expect(JSON.stringify(m.blocks)).toMatch(/4 quiet sessions \(no findings, risk 0, 8,416 events\)/);
    expect(JSON.stringify(m.blocks)).toMatch(/300 more sessions not listed/);
    expect(textOf(m.blocks?.[0])).toMatch(/: 314 sessions, worst risk 100\/100$/);
  });
});

describe('App Home and the digest’s open alerts', () => {
  const cases: AlertCase[] = Array.from({ length: 200 }, (_, i) => ({
    key: `k${i}`,
    channel: 'C0SOCALERTS',
    ts: `1690000000.${String(i).padStart(6, '0')}`,
    ruleId: 'r',
    title: `${NASTY.repeat(10)} alert ${i}`,
    severity: (['high', 'critical', 'medium'] as const)[i % 3]!,
    principal: `arn:aws:iam::123456789012:user/${NASTY.repeat(8)}`,
    eventAt: 1_688_990_000_000 + i * 1000,
    state: i % 2 ? 'acknowledged' : 'open',
    ...(i % 4 === 1 ? { assignee: 'U0BOB' } : {}),
    ...(i % 2 ? { acknowledgedBy: 'U0ALICE' } : {}),
    lastAction: i % 2 ? 'acknowledged' : 'opened',
    lastAt: 1,
    version: 1,
  }));

  it('the Home tab stays within a view’s limits with 200 open alerts and links each to its message', () => {
    const view: BotHomeView = buildHome({
      userId: 'U0BOB',
      mine: cases.filter((c) => c.assignee === 'U0BOB'),
      open: cases,
      openTotal: 200,
      digest: {
        date: '2023-07-10',
        channel: 'C0DIGEST',
        ts: '1.2',
        text: `Digest ${NASTY.repeat(100)}`,
        postedAt: 1,
      },
      link: (ch, ts) => `https://team.slack.com/archives/${ch}/p${ts.replace('.', '')}`,
      now: Date.parse('2026-12-01T03:00:00Z'),
    });
    const blocks = view.blocks;
    expect(checkView(view)).toEqual([]);
    expect(blocks.length).toBeLessThanOrEqual(LIMITS.blocksPerModal);
    const text = JSON.stringify(view);
    expect(text).toContain('*Assigned to you* (50)');
    expect(text).toContain('*Open alerts* (200)');
    expect(text).toContain('<https://team.slack.com/archives/C0SOCALERTS/p1690000000000000|');
    expect(text).toMatch(/and 185 more/);
  });

  it('the digest lists the day’s open alerts with their holders, within limits', () => {
    const digest = {
      date: '2023-07-10',
      timeZone: 'UTC',
      quiet: false,
      totals: { sessions: 3, events: 10, findings: 2 },
      countsBySeverity: { info: 0, low: 0, medium: 0, high: 2, critical: 0 },
      countsByTactic: {},
      sessions: [],
      topFindings: [],
      new: { baselineDays: 0, principals: [], networks: [], regions: [], userAgents: [], services: [] },
    } as unknown as Digest;
    const m = buildDigestMessage(digest, {
      sessionRef: () => undefined,
      sourceLabel: 'x',
      openAlerts: cases,
    });
    expect(checkMessage(m)).toEqual([]);
    const section = String(textOf((m.blocks ?? []).find((b) => /Open alerts from/.test(textOf(b)))));
    expect(section).toMatch(/^\*Open alerts from 2023-07-10\* \(200, 50 held\) · in <#C0SOCALERTS>/);
    expect(section).toMatch(/held by <@U0BOB>/);
    expect(section).toMatch(/nobody holds it/);
    expect(section).toMatch(/acknowledged by <@U0ALICE>, nobody assigned/);
    const none = buildDigestMessage(digest, {
      sessionRef: () => undefined,
      sourceLabel: 'x',
      openAlerts: [],
    });
    expect(JSON.stringify(none.blocks)).toContain('every alert of the day is resolved');
  });
});
