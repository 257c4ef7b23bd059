/**
 * The signal engine, incrementally: push one session's events in time order and get each action as soon
 * as nothing later can change it.
 *
 * The stream cuts the session at quiet gaps longer than anything the rules can bridge (the widest window,
 * the longest merge, the page-visit and collapse gaps) and maps each piece as it closes, carrying the
 * follow-up context across. The last signal follow-up rules may still rename is held back until a later
 * signal takes its place. The result is exactly what the batch `map()` gives; memory holds one piece.
 */

import type { EngineEvent, Signal } from '../model.ts';
import { compareEvents } from '../order.ts';
import type { SessionContext } from '../stages.ts';
import type { DraftSignal } from './followups.ts';
import type { SignalRuleSet } from './rule-set.ts';
import type { ChunkContext, SignalEngine } from './signal-engine.ts';
import { compareSignals } from './signal-order.ts';

export interface SignalStream {
  /** Adds the next event; returns the actions that became final. */
  push(event: EngineEvent): Signal[];
  /** Ends the session; returns the remaining actions. */
  end(): Signal[];
  /** Events no action explains so far. */
  readonly unmappedEventIds: readonly string[];
}

/** Longest quiet time (ms) that a window, merge or fallback run can bridge under these rules. */
export function bridgeableGapMs(rules: SignalRuleSet): number {
  let seconds = 0;
  for (const defs of [rules.defs, rules.pages?.defs ?? new Map()]) {
    for (const d of defs.values()) seconds = Math.max(seconds, (d.lookbackMs + d.lookaheadMs) / 1000);
  }
  for (const f of rules.followups.followups) {
    if ('merge' in f) seconds = Math.max(seconds, f.merge.withinSeconds, f.merge.skipWithinSeconds ?? 0);
  }
  if (rules.fallback) {
    // Page-level visits, and the programmatic summaries' tool runs and read bursts (summaries.ts).
    const { pages, collapse } = rules.fallback;
    const { runGapMs, burstGapMs } = rules.phrases;
    seconds = Math.max(seconds, pages.gapSeconds, collapse.gapSeconds, runGapMs / 1000, burstGapMs / 1000);
  }
  return seconds * 1000;
}

/** How many earlier signals follow-up rules may look at (`back`, `recent`); older ones are dropped. */
const CONTEXT = 50;

export function createSignalStream(engine: SignalEngine, session?: SessionContext): SignalStream {
  const gap = bridgeableGapMs(engine.rules);
  /** Ids a later signal may rename (renamePrevious); only those are held back. */
  const renameable = new Set(
    engine.rules.followups.followups.flatMap((f) => ('renamePrevious' in f ? [f.renamePrevious.from] : [])),
  );
  let buffer: EngineEvent[] = [];
  let lastTime = Number.NEGATIVE_INFINITY;
  let context: ChunkContext = { rules: [], pages: [] };
  /** Rendered-late signals of earlier pieces not yet final, with the draft follow-ups may still change. */
  let held: { draft?: DraftSignal; signal?: Signal }[] = [];
  const unmapped: string[] = [];

  const flush = (final: boolean): Signal[] => {
    const out: { draft?: DraftSignal; signal?: Signal }[] = [...held];
    held = [];
    if (buffer.length > 0) {
      buffer.sort(compareEvents);
      const chunk = engine.mapChunk(buffer, context, session);
      buffer = [];
      context = {
        rules: chunk.previous.rules.slice(-CONTEXT),
        pages: chunk.previous.pages.slice(-CONTEXT),
      };
      unmapped.push(...chunk.unmappedEventIds);
      for (const d of chunk.drafts) out.push({ draft: d });
      for (const s of chunk.extra) out.push({ signal: s });
    }
    const items = out
      .filter((x) => !x.draft || x.draft.members.length > 0) // merged away
      .map((x) => ({ ...x, rendered: x.signal ?? engine.render(x.draft as DraftSignal) }));
    items.sort((a, b) => compareSignals(a.rendered, b.rendered));
    if (final) return items.map((x) => x.rendered);
    // The last follow-up context signal may still be renamed by the next one: hold it and everything after it.
    const last = context.rules[context.rules.length - 1];
    const cut = last && renameable.has(last.id) ? items.findIndex((x) => x.draft === last) : -1;
    if (cut < 0) return items.map((x) => x.rendered);
    held = items.slice(cut).map(({ draft, signal }) => (draft ? { draft } : { signal }));
    return items.slice(0, cut).map((x) => x.rendered);
  };

  return {
    unmappedEventIds: unmapped,
    push(event) {
      const ready = buffer.length > 0 && event.time - lastTime > gap ? flush(false) : [];
      buffer.push(event);
      lastTime = Math.max(lastTime, event.time);
      return ready;
    },
    end() {
      return flush(true);
    },
  };
}
