/**
 * How many detection rules each event is tried against (engine/detections/rule-index.ts), with and without the
 * pruning by key fields, over the first N records of a corpus (enriched first, as in the pipeline):
 *   node bin/run-ts.js bench/rule-candidates.ts DIR [N]      or      npm run bench -- --candidates DIR [N]
 * Prints one JSON line.
 */
import { loadDefaultStages } from '../compose/stages.ts';
import type { CompiledRule } from '../engine/detections/compiled-rule.ts';
import { isCrossSession } from '../engine/detections/cross-session.ts';
import { candidateLookup, indexRules, type RuleIndex } from '../engine/detections/rule-index.ts';
import { toEngineEvent } from '../engine/events.ts';
import type { EngineEvent } from '../engine/model.ts';
import { createLocalSource } from '../engine/sources/local-source.ts';

/** The candidates before pruning: by eventName, by eventSource, the rules indexed by neither, prefilter hits. */
function unpruned(index: RuleIndex, e: EngineEvent): number {
  const { eventSource, eventName } = e.record;
  const all = new Set([
    ...(index.byName.get(eventName.toLowerCase()) ?? []),
    ...(index.bySource.get(eventSource.toLowerCase()) ?? []),
    ...index.always,
  ]);
  for (const g of index.groups) for (const k of g.keys(e)) for (const s of g.byKey.get(k) ?? []) all.add(s);
  return all.size;
}

export async function main(argv: string[]): Promise<void> {
  const [dir, n] = argv.filter((a) => !a.startsWith('--'));
  if (!dir) throw new Error('usage: rule-candidates.ts DIR [N]');
  const limit = Number(n ?? 50_000);
  const stages = await loadDefaultStages();
  const rules = (stages.detector as unknown as { rules: CompiledRule[] }).rules;
  const index = indexRules(rules.filter((r) => !isCrossSession(r)));
  const lookup = candidateLookup(index);
  let events = 0;
  let before = 0;
  let after = 0;
  let most = 0;
  for await (const item of createLocalSource([dir]).read({})) {
    if (item.kind !== 'record') continue;
    const e = toEngineEvent(item.record, events);
    stages.enricher?.enrich(e);
    const c = lookup(e).length;
    before += unpruned(index, e);
    after += c;
    most = Math.max(most, c);
    if (++events >= limit) break;
  }
  const per = (x: number) => Number((x / events).toFixed(1));
  process.stdout.write(
    `${JSON.stringify({ events, rules: index.slotCount, triedPerEventUnpruned: per(before), triedPerEvent: per(after), mostTried: most })}\n`,
  );
}

if (process.argv[1]?.endsWith('rule-candidates.ts')) await main(process.argv.slice(2));
