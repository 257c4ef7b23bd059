/**
 * The shape of the compiled signal engine that batch mapping (index.ts) and streaming (stream.ts) share.
 * Types only, so neither of those modules needs to import the other.
 */
import type { EngineEvent, Signal } from '../model.ts';
import type { SessionContext } from '../stages.ts';
import type { DraftSignal } from './followups.ts';
import type { SignalRuleSet } from './rules.ts';

/** One mapped piece of a session: rule signals as drafts (rendered late, follow-ups may still change them). */
export interface MappedChunk {
  drafts: DraftSignal[];
  /** Page-level and collapsed signals, already final. */
  extra: Signal[];
  unmappedEventIds: string[];
  previous: DraftSignal[];
}

export interface SignalEngine {
  readonly rules: SignalRuleSet;
  /** Maps events already in engine order, continuing from `previous` (the follow-up context). */
  mapChunk(
    events: readonly EngineEvent[],
    previous?: readonly DraftSignal[],
    session?: SessionContext,
  ): MappedChunk;
  render(d: DraftSignal): Signal;
}
