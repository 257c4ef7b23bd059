/**
 * The alert scan reads context before its window as long as the longest window of the enabled rules (at least
 * 30 min for sessions), so a sequence or threshold that started before the window, further back than 30 min, still
 * fires when it completes in the window. Records: made for the test (an IAM user walking a pathfinding.cloud path
 * over 48 minutes, with calls in between that keep it one session).
 */
import { describe, expect, it } from 'vitest';
import { contextMs } from '../../../bot/scheduler/alert-window.ts';
import { loadDefaultStages } from '../../../compose/stages.ts';
import type { CompiledRule } from '../../../engine/detections/compiled-rule.ts';
import { createLocalSource } from '../../../engine/sources/local-source.ts';
import type { PipelineStages } from '../../../engine/stages.ts';
import { alertScheduler, recordsFolder } from '../../support/scheduler-harness.ts';

const windows = (stages: PipelineStages) =>
  ((stages.detector as unknown as { rules: CompiledRule[] }).rules ?? []).map((r) =>
    Math.max(r.threshold?.windowMs ?? 0, r.sequence?.windowMs ?? 0),
  );

describe('the alert scan context window', () => {
  it('is the longest window of the enabled rules, never under 30 min', async () => {
    const stages = await loadDefaultStages();
    const all = windows(stages);
    expect(all.length).toBeGreaterThan(100);
    expect(contextMs(stages)).toBe(Math.max(30 * 60_000, ...all));
    // The shipped rules today: pathfinding.cloud sequences within an hour.
    expect(contextMs(stages)).toBeGreaterThanOrEqual(60 * 60_000);
    const longer = {
      ...stages,
      detector: Object.assign(Object.create(stages.detector!), {
        rules: [{ threshold: { windowMs: 3 * 3_600_000 } }],
      }),
    };
    expect(contextMs(longer)).toBe(3 * 3_600_000);
    expect(contextMs({ ...stages, detector: undefined })).toBe(30 * 60_000);
  });

  it('a sequence that began 50 min before the window fires in it', async () => {
    const user = {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLE00000001',
      arn: 'arn:aws:iam::111111111111:user/dev',
      accountId: '111111111111',
      accessKeyId: 'AKIAEXAMPLE000000001',
      userName: 'dev',
    };
    const call = (time: string, source: string, name: string, i: number) => ({
      eventVersion: '1.09',
      userIdentity: user,
      eventTime: `2026-01-05T${time}Z`,
      eventSource: source,
      eventName: name,
      awsRegion: 'us-east-1',
      sourceIPAddress: '198.51.100.20',
      userAgent: 'aws-cli/2.15.0',
      requestParameters: null,
      responseElements: null,
      requestID: `req-${i}`,
      eventID: `00000000-0000-4000-8000-00000000000${i}`,
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: '111111111111',
      eventCategory: 'Management',
    });
    const records = [
      call('11:10:00', 'bedrock-agentcore.amazonaws.com', 'StartCodeInterpreterSession', 1),
      call('11:30:00', 's3.amazonaws.com', 'ListBuckets', 2),
      call('11:45:00', 's3.amazonaws.com', 'ListBuckets', 3),
      call('11:58:00', 'bedrock-agentcore.amazonaws.com', 'InvokeCodeInterpreter', 4),
    ];
    const folder = recordsFolder('context', 'trail.json', records);
    const { scheduler, state, clock, posted } = alertScheduler({
      env: {
        CARTOGRAPHER_ALERT_CHANNEL: 'C0ALERTS',
        CARTOGRAPHER_ALERT_MIN_SEVERITY: 'medium',
        CARTOGRAPHER_SCHEDULE: 'off',
        CARTOGRAPHER_LATE_DELIVERY_MINUTES: '0',
      },
      sourceName: 'local',
      source: async () => createLocalSource([folder.dir]),
      start: Date.parse('2026-01-05T11:55:00Z'),
    });
    await state.setWatermark('local/*/*', clock.now());
    clock.set(Date.parse('2026-01-05T12:00:00Z'));
    await scheduler.scanNow('12:00');
    // The window is 11:55–12:00; 30 min of context (11:25) would have missed the first step.
    expect(posted.filter((t) => t.includes('bedrock-002'))).toHaveLength(1);
    await state.close();
    folder.remove();
  }, 60_000);
});
