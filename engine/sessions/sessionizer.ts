import type { EngineEvent } from '../model.ts';
import { SessionFacts } from './session-facts.ts';
import { sessionKeyOf } from './session-key.ts';

export interface OpenSession {
  facts: SessionFacts;
  events: EngineEvent[];
}

export interface SessionizerOptions {
  /** A gap longer than this between two events of one key starts a new session (`key#2`). */
  idleGapMs: number;
  /**
   * How far behind the newest event an event may still arrive (CloudTrail delivers within ~15 min and
   * files are read in delivery order). A session closes once the newest time seen passes its last
   * event + idle gap + this allowance.
   */
  latenessMs: number;
  onClose: (session: OpenSession) => void;
}

/**
 * Groups a stream of events into sessions (see session-key.ts for who is who) and closes them as soon
 * as no more events can belong to them, so memory holds only the sessions still open.
 */
export class Sessionizer {
  readonly #open = new Map<string, OpenSession>();
  readonly #splits = new Map<string, number>();
  readonly #options: SessionizerOptions;
  #watermark = Number.NEGATIVE_INFINITY;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: SessionizerOptions) {
    this.#options = options;
  }

  add(event: EngineEvent, file: string): void {
    const base = sessionKeyOf(event.record, file);
    let session = this.#open.get(base);
    // A gap on either side splits: LookupEvents and its exports list the newest events first.
    const gap = this.#options.idleGapMs;
    if (session && (event.time - session.facts.end > gap || session.facts.start - event.time > gap)) {
      this.#close(session);
      session = undefined;
    }
    if (!session) {
      const n = (this.#splits.get(base) ?? 0) + 1;
      this.#splits.set(base, n);
      session = { facts: new SessionFacts(n === 1 ? base : `${base}#${n}`, base), events: [] };
      this.#open.set(base, session);
    }
    session.facts.add(event);
    session.events.push(event);
    if (event.time > this.#watermark) {
      this.#watermark = event.time;
      // Sweeping costs one pass over the open sessions: do it once per minute of event time.
      if (this.#watermark - this.#lastSweep >= 60_000) this.#sweep();
    }
  }

  /** Newest event time seen: no session starting before `watermark - lateness` can still appear. */
  get watermark(): number {
    return this.#watermark;
  }

  /** Earliest start among open sessions (Infinity when none). */
  get earliestOpenStart(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.#open.values()) if (s.facts.start < min) min = s.facts.start;
    return min;
  }

  /** End of input: closes every open session. */
  closeAll(): void {
    for (const s of [...this.#open.values()]) this.#close(s);
  }

  #sweep(): void {
    this.#lastSweep = this.#watermark;
    const limit = this.#watermark - this.#options.idleGapMs - this.#options.latenessMs;
    for (const s of [...this.#open.values()]) if (s.facts.end < limit) this.#close(s);
  }

  #close(session: OpenSession): void {
    this.#open.delete(session.facts.baseKey);
    this.#options.onClose(session);
  }
}
