/**
 * Cross-check against Falco's CloudTrail rules: every Falco rule about a security-relevant change has a
 * Cartographer rule that looks at the same event. Falco's pure activity monitors (e.g. "List Buckets") are
 * listed, not required.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_RULES_ROOT, loadDetectionRules } from '../../../adapters/rules/detection-rules.ts';
import { toEngineEvent } from '../../../engine/events.ts';
import type { CloudTrailRecord } from '../../../engine/record.ts';
import { TEST_DIR } from '../../support/paths.ts';

const falco = parse(
  readFileSync(join(TEST_DIR, 'fixtures', 'falco-cloudtrail-rules', 'aws_cloudtrail_rules.yaml'), 'utf8'),
) as {
  rule?: string;
  condition?: string;
}[];
const ACTIVITY_ONLY = new Set([
  'All Cloudtrail Events',
  'Create Group',
  'Delete Group',
  'ECS Service Created',
  'ECS Task Run or Started',
  'Create Lambda Function',
  'Run Instances',
  'Run Instances in Non-approved Region',
  'List Buckets',
  'Console Login Through Assume Role',
]);

describe('Falco CloudTrail rules cross-check', () => {
  it('has a Cartographer rule on the event of every security-relevant Falco rule', () => {
    const { rules } = loadDetectionRules(DEFAULT_RULES_ROOT, undefined);
    const names = new Set(
      rules.flatMap((r) => [
        ...(r.eventNames ?? []),
        ...(r.sequence?.steps.flatMap((s) => [...(s.eventNames ?? [])]) ?? []),
      ]),
    );
    // Rules indexed by eventSource (e.g. `eventName startsWith UpdateFunctionCode`): try the event on them.
    const bySource = rules
      .filter((r) => !r.eventNames && r.eventSources && r.match)
      .map(
        (r) => (eventName: string) =>
          [...r.eventSources!].some((eventSource) =>
            r.match!(
              toEngineEvent(
                { eventTime: '2024-01-01T00:00:00Z', eventSource, eventName } as CloudTrailRecord,
                0,
              ),
            ),
          ),
      );
    const report: string[] = [];
    const missing: string[] = [];
    for (const r of falco.filter((x) => x.rule)) {
      const events = [...(r.condition ?? '').matchAll(/ct\.name\s*=\s*"([^"]+)"/g)].map((m) => m[1]!);
      const covered = events.filter((e) => names.has(e.toLowerCase()) || bySource.some((test) => test(e)));
      report.push(
        `${covered.length ? 'covered ' : ACTIVITY_ONLY.has(r.rule!) ? 'activity' : 'MISSING '} ${r.rule} (${events.join(', ') || 'any event'})`,
      );
      if (!ACTIVITY_ONLY.has(r.rule!) && covered.length === 0) missing.push(r.rule!);
    }
    console.log(report.join('\n'));
    expect(falco.filter((x) => x.rule)).toHaveLength(22);
    expect(missing).toEqual([]);
  });
});
