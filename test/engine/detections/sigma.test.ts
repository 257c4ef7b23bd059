/**
 * Native Sigma: all 57 SigmaHQ CloudTrail rules load unchanged, unsupported ones are named, the grammar
 * (modifiers, wildcards, conditions) behaves per the Sigma spec, and rules fire on real Invictus records.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDetectionRules } from '../../../adapters/rules/detection-rules.ts';
import { EMPTY_ATTACK_TABLE } from '../../../engine/attack.ts';
import { compileSigmaRule, SigmaUnsupported } from '../../../engine/detections/sigma.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { TEST_DIR } from '../../support/paths.ts';

const FIXTURE = join(TEST_DIR, 'fixtures', 'sigma-aws-cloudtrail-rules');
const noTactics = EMPTY_ATTACK_TABLE;

function sigmaRoot(...folders: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'carto-sigma-'));
  mkdirSync(join(root, 'sigma'));
  // The ATT&CK table: Sigma's tactic tags are read through its spellings.
  writeFileSync(join(root, 'attack.yaml'), readFileSync(join(TEST_DIR, '..', 'rules', 'attack.yaml')));
  for (const folder of folders) {
    for (const f of readdirSync(join(FIXTURE, folder))) {
      writeFileSync(join(root, 'sigma', f), readFileSync(join(FIXTURE, folder, f)));
    }
  }
  return root;
}

function rule(detection: string, extra = ''): string {
  return `title: Test rule
id: 00000000-0000-0000-0000-000000000001
author: Tester
${extra}logsource:
    product: aws
    service: cloudtrail
detection:
${detection}
level: high
`;
}

let seq = 0;
const event = (r: Partial<CloudTrailRecord> & Record<string, unknown>) =>
  toEngineEvent(
    {
      eventTime: '2024-01-01T00:00:00Z',
      eventSource: 'iam.amazonaws.com',
      eventName: 'GetUser',
      ...r,
    } as CloudTrailRecord,
    seq++,
  );

describe('SigmaHQ CloudTrail rules', () => {
  it('loads all 57 rules with their author, level, techniques and DRL licence', () => {
    const loaded = loadDetectionRules(sigmaRoot('rules'), undefined);
    expect(loaded.problems).toEqual([]);
    expect(loaded.unsupported).toEqual([]);
    const sigma = loaded.rules.filter((r) => r.source === 'sigma');
    expect(sigma).toHaveLength(57);
    for (const r of sigma) {
      expect(r.id).toMatch(/^sigma:[0-9a-f-]{36}$/);
      expect(r.author, r.title).toBeTruthy();
      expect(r.license).toContain('DRL 1.1');
    }
    const trail = sigma.find((r) => r.title === 'AWS CloudTrail Important Change')!;
    expect(trail.severity).toBe('medium');
    expect(trail.tactics).toContain('Defense Evasion'); // attack.defense-impairment, normalised
    // Every rule that names eventName values is indexed by them: an event only meets rules that can match it.
    expect(sigma.filter((r) => r.eventNames).length).toBeGreaterThanOrEqual(50);
  });

  it('loads count() aggregations as thresholds and names the rules it still cannot evaluate', () => {
    const loaded = loadDetectionRules(sigmaRoot('unsupported', 'rules-placeholder'), undefined);
    const thresholds = loaded.rules.map((r) => [r.title, r.kind, r.threshold?.count]).sort();
    expect(thresholds).toEqual([
      ['AWS EC2 Download Userdata', 'threshold', 11],
      ['AWS Macie Evasion', 'threshold', 6],
      ['Account Enumeration on AWS', 'threshold', 51],
      ['Potential Backup Enumeration on AWS', 'threshold', 6],
      ['Potential Network Enumeration on AWS', 'threshold', 6],
      ['Potential Storage Enumeration on AWS', 'threshold', 6],
    ]);
    const names = loaded.unsupported.map((u) => u.rule).sort();
    expect(names).toEqual([
      'AWS Console Login Monitoring',
      'AWS Lambda Function Created or Invoked',
      'Potential AWS Cloud Email Service Abuse',
    ]);
    const reason = (title: string) => loaded.unsupported.find((u) => u.rule === title)!.reason;
    expect(reason('AWS Lambda Function Created or Invoked')).toMatch(/'near selection2'/);
    expect(reason('Potential AWS Cloud Email Service Abuse')).toMatch(/timeframe.*without an aggregation/);
    expect(reason('AWS Console Login Monitoring')).toMatch(/'expand'/);
  });

  it('matches real Invictus records: CloudTrail stopped and VPC flow logs deleted', () => {
    const loaded = loadDetectionRules(sigmaRoot('rules'), undefined);
    const dir = join(TEST_DIR, '..', 'demo', 'invictus');
    const records: CloudTrailRecord[] = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).Records as CloudTrailRecord[]);
    const events = records.map((r, i) => toEngineEvent(r, i));
    const firing = new Map<string, number>();
    for (const r of loaded.rules) {
      const n = events.filter((e) => r.match!(e)).length;
      if (n) firing.set(r.title, n);
    }
    expect(firing.get('AWS CloudTrail Important Change')).toBeGreaterThanOrEqual(2);
    expect(firing.get('AWS VPC Flow Logs Deleted')).toBe(1);
    // The rule set is specific: most of the 57 rules stay quiet on 2,900 records.
    expect(firing.size).toBeLessThan(20);
  });
});

describe('Sigma grammar', () => {
  it('matches case-insensitively with wildcards and escapes', () => {
    const r = compileSigmaRule(
      rule(`    sel:
        eventName: 'Delete*'
        userAgent: 'aws-cli/?.*'
        errorMessage: 'literal \\* star'
    condition: sel`),
      'x.yml',
      noTactics,
    );
    expect(
      r.match!(event({ eventName: 'deletetrail', userAgent: 'AWS-CLI/2.1', errorMessage: 'literal * star' })),
    ).toBe(true);
    expect(
      r.match!(
        event({ eventName: 'DeleteTrail', userAgent: 'aws-cli/22.1', errorMessage: 'literal * star' }),
      ),
    ).toBe(false);
    expect(
      r.match!(event({ eventName: 'DeleteTrail', userAgent: 'aws-cli/2.1', errorMessage: 'literal x star' })),
    ).toBe(false);
  });

  it('answers each event for itself when plain values repeat or change (the last value is remembered)', () => {
    const r = compileSigmaRule(
      rule(`    sel:
        eventName: [DeleteTrail, StopLogging]
        userAgent|cased: Boto3
    condition: sel`),
      'x.yml',
      noTactics,
    );
    const seen = [
      'deletetrail',
      'DeleteTrail',
      'GetTrail',
      'GetTrail',
      'STOPLOGGING',
      'x',
      'DeleteTrail',
    ].map((eventName) => r.match!(event({ eventName, userAgent: 'Boto3' })));
    expect(seen).toEqual([true, true, false, false, true, false, true]);
    expect(r.match!(event({ eventName: 'DeleteTrail', userAgent: 'boto3' }))).toBe(false);
  });

  it('supports contains|all, startswith, endswith, re, cidr, exists, null and value lists', () => {
    const r = compileSigmaRule(
      rule(`    sel_all:
        requestParameters|contains|all:
            - '"s3:GetObject"'
            - 'Allow'
    sel_start:
        eventSource|startswith: 'ec2'
    sel_end:
        eventName|endswith: ['Snapshot', 'Image']
    sel_re:
        userIdentity.arn|re: '.+:assumed-role/aws:.+'
    sel_cidr:
        sourceIPAddress|cidr: '10.0.0.0/8'
    sel_exists:
        errorCode|exists: true
    sel_null:
        userIdentity.invokedBy: null
    condition: sel_all or (sel_start and sel_end and not sel_exists) or (sel_re and sel_cidr and sel_null)`),
      'x.yml',
      noTactics,
    );
    const policy = { policyDocument: { Statement: [{ Effect: 'Allow', Action: 's3:GetObject' }] } };
    expect(r.match!(event({ requestParameters: policy }))).toBe(true);
    expect(
      r.match!(
        event({
          requestParameters: { policyDocument: { Statement: [{ Effect: 'Deny', Action: 's3:GetObject' }] } },
        }),
      ),
    ).toBe(false);
    expect(r.match!(event({ eventSource: 'ec2.amazonaws.com', eventName: 'CreateSnapshot' }))).toBe(true);
    expect(
      r.match!(
        event({ eventSource: 'ec2.amazonaws.com', eventName: 'CreateSnapshot', errorCode: 'AccessDenied' }),
      ),
    ).toBe(false);
    expect(r.match!(event({ eventSource: 'ec2.amazonaws.com', eventName: 'CreateVolume' }))).toBe(false);
    const role = { type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1' };
    expect(r.match!(event({ userIdentity: role, sourceIPAddress: '10.1.2.3' }))).toBe(true);
    expect(r.match!(event({ userIdentity: role, sourceIPAddress: '11.1.2.3' }))).toBe(false);
    expect(
      r.match!(
        event({ userIdentity: { ...role, invokedBy: 'ec2.amazonaws.com' }, sourceIPAddress: '10.1.2.3' }),
      ),
    ).toBe(false);
  });

  it('evaluates 1 of / all of with wildcards and them, with not binding tighter than and/or', () => {
    const r = compileSigmaRule(
      rule(`    selection_a:
        eventName: A
    selection_b:
        eventName: B
    filter_main_x:
        userAgent: x
    filter_main_y:
        sourceIPAddress: 1.1.1.1
    condition: 1 of selection_* and not 1 of filter_main_*`),
      'x.yml',
      noTactics,
    );
    expect(r.match!(event({ eventName: 'B' }))).toBe(true);
    expect(r.match!(event({ eventName: 'B', userAgent: 'x' }))).toBe(false);
    expect(r.match!(event({ eventName: 'C' }))).toBe(false);
    const all = compileSigmaRule(
      rule(`    s1:
        eventName: A
    s2:
        userAgent|contains: cli
    condition: all of them`),
      'x.yml',
      noTactics,
    );
    expect(all.match!(event({ eventName: 'A', userAgent: 'aws-cli' }))).toBe(true);
    expect(all.match!(event({ eventName: 'A', userAgent: 'boto3' }))).toBe(false);
  });

  it('finds base64-encoded values at any offset (base64offset)', () => {
    const r = compileSigmaRule(
      rule(`    sel:
        requestParameters.userData|base64offset|contains: '/bin/bash'
    condition: sel`),
      'x.yml',
      noTactics,
    );
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const userData = Buffer.from(`#!${prefix}/bin/bash -c id`).toString('base64');
      expect(r.match!(event({ requestParameters: { userData } })), prefix).toBe(true);
    }
    expect(
      r.match!(event({ requestParameters: { userData: Buffer.from('#!/bin/sh -c id').toString('base64') } })),
    ).toBe(false);
  });

  it('compares a field with another field (fieldref)', () => {
    const r = compileSigmaRule(
      rule(`    sel:
        eventName: CreateAccessKey
    same:
        userIdentity.userName|fieldref: requestParameters.userName
    condition: sel and not same`),
      'x.yml',
      noTactics,
    );
    expect(
      r.match!(
        event({
          eventName: 'CreateAccessKey',
          userIdentity: { userName: 'a' },
          requestParameters: { userName: 'b' },
        }),
      ),
    ).toBe(true);
    expect(
      r.match!(
        event({
          eventName: 'CreateAccessKey',
          userIdentity: { userName: 'a' },
          requestParameters: { userName: 'A' },
        }),
      ),
    ).toBe(false);
  });

  it('rejects what it cannot evaluate, saying what', () => {
    const bad =
      (detection: string, extra = '') =>
      () =>
        compileSigmaRule(rule(detection, extra), 'x.yml', noTactics);
    expect(bad(`    sel:\n        eventName: A\n    condition: sel | count() > 5`)).toThrow(SigmaUnsupported);
    expect(bad(`    sel:\n        eventName|windash|contains: A\n    condition: sel`)).toThrow(
      /modifier 'windash'/,
    );
    expect(bad(`    sel:\n        eventName: A\n    timeframe: 5m\n    condition: sel`)).toThrow(/timeframe/);
    expect(() =>
      compileSigmaRule(
        rule(`    sel:\n        eventName: A\n    condition: sel`).replace(
          'service: cloudtrail',
          'service: s3',
        ),
        'x.yml',
        noTactics,
      ),
    ).toThrow(SigmaUnsupported);
    expect(bad(`    sel:\n        eventName: A\n    condition: sel and missing`)).toThrow(
      /unknown search identifier 'missing'/,
    );
  });
});
