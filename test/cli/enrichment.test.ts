import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEST_DIR } from '../support/paths.ts';

const ROOT = join(TEST_DIR, '..');

interface JsonSignal {
  id: string;
  eventIds: string[];
  details: {
    enrichment?: { accessLevels: Record<string, number>; riskCategories: string[]; mitre: { id: string }[] };
  };
}

interface JsonEvent {
  id: string;
  eventName: string;
  enrichment?: { accessLevel?: string; riskCategories: string[]; mitre: { id: string; name: string }[] };
}

describe('cartographer summarize --format json on the bundled demo', () => {
  it('shows access level, risk categories and MITRE techniques on events, and the table versions', () => {
    const out = execFileSync(
      process.execPath,
      ['bin/cartographer.js', 'summarize', 'demo/invictus', '--format', 'json', '--events'],
      {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const doc = JSON.parse(out) as {
      sessions: { events?: JsonEvent[]; signals: JsonSignal[] }[];
      meta: { enrichment: Record<string, string> };
    };
    expect(doc.meta.enrichment.iamDataVersion).toMatch(/^\d+\.\d+\.\d+$/);
    const events = doc.sessions.flatMap((s) => s.events ?? []);
    expect(events.length).toBeGreaterThan(2800);
    expect(events.every((e) => e.enrichment)).toBe(true);
    const stop = events.find((e) => e.eventName === 'StopLogging')!;
    expect(stop.enrichment!.accessLevel).toBe('Write');
    expect(stop.enrichment!.mitre.map((t) => `${t.id} ${t.name}`)).toContain(
      'T1562.008 Disable or Modify Cloud Logs',
    );
    const attach = events.find((e) => e.eventName === 'AttachUserPolicy')!;
    expect(attach.enrichment!.riskCategories).toContain('privilege-escalation');
    expect(attach.enrichment!.accessLevel).toBe('Permissions management');

    // Signals carry the facts of their member events.
    const signals = doc.sessions.flatMap((s) => s.signals);
    expect(signals.length).toBeGreaterThan(0);
    for (const signal of signals) {
      const levels = signal.details.enrichment?.accessLevels ?? {};
      const counted = Object.values(levels).reduce((a, b) => a + b, 0);
      expect(counted, signal.id).toBeLessThanOrEqual(signal.eventIds.length);
    }
    const stopSignal = signals.find((s) => s.eventIds.includes(stop.id));
    expect(stopSignal?.details.enrichment?.mitre.map((t) => t.id)).toContain('T1562.008');
  });
});
