/**
 * Example arguments for `/cartographer help`, taken from the configured local data (the bundled demo
 * by default) so the suggestions always work. Reads records through the RecordSource, never files.
 */
import type { RecordSource } from '../../engine/source.ts';
import type { HelpExamples } from '../messages/help.ts';
import { createTimeSlicer } from './time-slice.ts';

const SAMPLE = 5000;

export async function collectExamples(source: RecordSource): Promise<HelpExamples> {
  const keys = new Map<string, number>();
  const users = new Map<string, number>();
  const ips = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string | undefined) => {
    if (k) m.set(k, (m.get(k) ?? 0) + 1);
  };
  // The first `help` of a burst reads this sample: it takes turns like a lookup.
  const slicer = createTimeSlicer();
  for await (const item of source.read({ maxEvents: SAMPLE })) {
    await slicer.maybeYield();
    if (item.kind !== 'record') continue;
    const r = item.record;
    const id = r.userIdentity;
    if (id?.accessKeyId && /^(ASIA|AKIA)/.test(id.accessKeyId)) bump(keys, id.accessKeyId);
    bump(users, id?.userName ?? id?.sessionContext?.sessionIssuer?.userName);
    if (r.sourceIPAddress && /^\d+\.\d+\.\d+\.\d+$/.test(r.sourceIPAddress)) bump(ips, r.sourceIPAddress);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, n)
      .map(([k]) => k);
  return { sessionKeys: top(keys, 2), users: top(users, 1), ips: top(ips, 1) };
}
