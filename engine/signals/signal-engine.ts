/**
 * The shape of the compiled signal engine that batch mapping (index.ts) and streaming (stream.ts) share.
 * Types only, so neither of those modules needs to import the other.
 */

import type { EngineEvent, Signal } from '../model.ts';
import type { SessionContext } from '../stages.ts';
import type { DraftSignal } from './followups.ts';
import type { SignalRuleSet } from './rule-set.ts';

/** The follow-up context carried from one piece of a session to the next (earlier signals, oldest first). */
export interface ChunkContext {
  /** Signals of the label/def rules (without previousSkips; merged ones removed). */
  rules: readonly DraftSignal[];
  /** Signals of the console pages pass. */
  pages: readonly DraftSignal[];
}

/** One mapped piece of a session: rule signals as drafts (rendered late, follow-ups may still change them). */
export interface MappedChunk {
  drafts: DraftSignal[];
  /** Page-level and collapsed signals, already final. */
  extra: Signal[];
  unmappedEventIds: string[];
  previous: ChunkContext;
}

export interface SignalEngine {
  readonly rules: SignalRuleSet;
  /** Maps events already in engine order, continuing from `context` (the follow-up context). */
  mapChunk(events: readonly EngineEvent[], context?: ChunkContext, session?: SessionContext): MappedChunk;
  render(d: DraftSignal): Signal;
}
