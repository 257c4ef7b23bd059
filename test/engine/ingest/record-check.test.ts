import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRecord } from '../../../engine/ingest/record-check.ts';
import { CloudTrailRecordSchema } from '../../../engine/record.ts';

const demo: Record<string, unknown>[] = readdirSync('demo/invictus')
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => JSON.parse(readFileSync(join('demo/invictus', f), 'utf8')).Records);

/** Variants of real records that break one typed field each. */
function mutants(r: Record<string, unknown>): Record<string, unknown>[] {
  const u = r.userIdentity as Record<string, unknown> | undefined;
  return [
    { ...r, eventSource: '' },
    { ...r, eventName: undefined },
    { ...r, awsRegion: 5 },
    { ...r, readOnly: 'true' },
    { ...r, requestParameters: [] },
    { ...r, resources: [{ ARN: 'x' }, 'y'] },
    { ...r, userIdentity: 'root' },
    { ...r, userIdentity: { ...u, accessKeyId: 12 } },
    { ...r, userIdentity: { ...u, sessionContext: { attributes: { mfaAuthenticated: true } } } },
    { ...r, userIdentity: { ...u, sessionContext: { sessionIssuer: { arn: null } } } },
    { ...r, additionalEventData: null, responseElements: null, brandNewField: { x: 1 } },
  ];
}

describe('record check: the fast path and the normaliser agree with the zod schema', () => {
  it('accepts every real record and keeps it as the same object', () => {
    for (const r of demo) {
      const copy = structuredClone(r);
      const res = checkRecord(copy);
      expect(res.ok).toBe(true);
      if (res.ok) expect(res.record).toBe(copy);
    }
  });

  it('keeps every variant that still has a time and a name, typed as zod wants it; names what is missing', () => {
    let rejected = 0;
    for (const r of demo.slice(0, 200)) {
      for (const m of mutants(structuredClone(r))) {
        const res = checkRecord(m);
        const hasName = typeof m.eventName === 'string' && m.eventName !== '';
        expect(res.ok).toBe(hasName);
        if (res.ok) expect(CloudTrailRecordSchema.safeParse(res.record).success).toBe(true);
        else {
          rejected++;
          expect(res.reason).toBe('missing eventName');
        }
      }
    }
    expect(rejected).toBe(200);
  });
});
