import type { EngineEvent } from '../model.ts';
import { compareEvents } from '../order.ts';
import type { Rejected } from '../record.ts';
import { append, KeyParts } from './key-parts.ts';
import type { SessionFacts } from './session-facts.ts';
import { sessionKeyOf } from './session-key.ts';

export interface OpenSession {
  facts: SessionFacts;
  /** In the one event order (engine/order.ts). */
  events: EngineEvent[];
}

export interface SessionizerOptions {
  /** A gap longer than this between two events of one key (in time, not arrival) starts a new session. */
  idleGapMs: number;
  /**
   * How far behind the newest event an event may still arrive (CloudTrail delivers within ~15 min and
   * files are read in delivery order). A session closes once the newest time seen passes its last
   * event + idle gap + this allowance: then no event within the allowance can still join it.
   */
  latenessMs: number;
  /**
   * Memory bound for input far out of time order (newest first, say), where sessions stay open waiting for
   * the rest: past this many events in open sessions (and again after as many more), every session that no
   * record within the allowance can reach is closed at once. Input within the allowance is not affected.
   */
  maxOpenEvents?: number;
  onClose: (session: OpenSession) => void;
}

/** Records that arrived more than the allowance behind the newest record seen. */
interface LateInput {
  records: number;
  /** Of which: placed in a session still open, where time order puts them. */
  joined: number;
  /** Of which: their session was closed already, so they went to `<key>#late`. */
  separate: number;
  mostBehindMs: number;
  /** The first few keys that got a `#late` session, and how many did. */
  lateKeys: string[];
  lateKeyCount: number;
  /** Times the open-event bound closed sessions early. */
  pressureCloses: number;
}

/**
 * Groups a stream of events into sessions (see session-key.ts for who is who) and closes them as soon
 * as no more events can belong to them, so memory holds only the sessions still open. Any arrival order
 * within the lateness allowance gives the same sessions, numbered by time.
 */
export class Sessionizer {
  /** Every key seen (closed parts are counted so later parts are numbered on). */
  readonly #keys = new Map<string, KeyParts>();
  /** Keys with open parts. */
  readonly #open = new Set<KeyParts>();
  /** The key of the last event added and its parts. */
  #lastBase = '';
  #lastParts: KeyParts | undefined;
  readonly #gap: number;
  readonly #lateness: number;
  readonly #maxOpenEvents: number;
  readonly #onClose: (session: OpenSession) => void;
  #watermark = Number.NEGATIVE_INFINITY;
  /** watermark - lateness: an event older than this came later than the allowance. */
  #onTimeFrom = Number.NEGATIVE_INFINITY;
  #lastSweep = Number.NEGATIVE_INFINITY;
  #openEvents = 0;
  #pressureAt: number;
  readonly #late: LateInput = {
    records: 0,
    joined: 0,
    separate: 0,
    mostBehindMs: 0,
    lateKeys: [],
    lateKeyCount: 0,
    pressureCloses: 0,
  };

  constructor(options: SessionizerOptions) {
    this.#gap = options.idleGapMs;
    this.#lateness = options.latenessMs;
    this.#maxOpenEvents = options.maxOpenEvents ?? 200_000;
    this.#pressureAt = this.#maxOpenEvents;
    this.#onClose = options.onClose;
  }

  add(event: EngineEvent, file: string): void {
    const base = sessionKeyOf(event.record, file);
    // Records come grouped by session: most have the key of the one before (the same string, see session-key.ts).
    let parts = this.#lastParts;
    if (base !== this.#lastBase || !parts) {
      parts = this.#keys.get(base);
      if (parts) {
        this.#lastBase = base;
        this.#lastParts = parts;
      }
    }
    const t = event.time;
    // Almost every event: on time, inside or just after its key's newest part (which no older part can reach).
    const last = parts?.newest;
    if (last && t >= this.#onTimeFrom && t >= last.facts.start && t - last.facts.end <= this.#gap) {
      append(last, event);
      this.#openEvents++;
    } else this.#place(event, base, parts);
    if (t > this.#watermark) {
      this.#watermark = t;
      this.#onTimeFrom = t - this.#lateness;
      // Sweeping costs one pass over the open keys: do it once per minute of event time.
      if (t - this.#lastSweep >= 60_000) {
        this.#lastSweep = t;
        this.#sweep();
      }
    }
  }

  /** Newest event time seen: no session starting before `watermark - lateness` can still appear. */
  get watermark(): number {
    return this.#watermark;
  }

  /** Earliest start among open sessions (Infinity when none). */
  get earliestOpenStart(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const k of this.#open) if (k.open[0]!.facts.start < min) min = k.open[0]!.facts.start;
    return min;
  }

  /** The key (before idle splitting) of the open session that started first. */
  get earliestOpenKey(): string | undefined {
    let min = Number.POSITIVE_INFINITY;
    let key: string | undefined;
    for (const k of this.#open)
      if (k.open[0]!.facts.start < min) {
        min = k.open[0]!.facts.start;
        key = k.base;
      }
    return key;
  }

  /** End of input: closes every open session. */
  closeAll(): void {
    this.#closeBefore(Number.POSITIVE_INFINITY);
  }

  /** What happened to records that came later than the allowance (nothing when none did). */
  notes(): Rejected[] {
    const late = this.#late;
    if (late.records === 0) return [];
    const allowance = minutes(this.#lateness);
    let reason = `${late.records} record(s) arrived more than ${allowance} (the lateness allowance) behind the newest record seen, up to ${minutes(late.mostBehindMs)} (input not in time order, such as a newest-first export)`;
    if (late.joined > 0)
      reason += `; ${late.joined} still joined their sessions, which were held open for them and may come out after later-starting ones`;
    if (late.separate > 0)
      reason += `; ${late.separate} belonged to sessions already closed and were analysed as separate sessions named <key>#late (${late.lateKeys.join(', ')}${late.lateKeyCount > late.lateKeys.length ? `, … ${late.lateKeyCount} keys` : ''})`;
    if (late.pressureCloses > 0)
      reason += `; ${late.pressureCloses} time(s) more than ${this.#maxOpenEvents} events were waiting in open sessions, so sessions no record within the allowance could reach were closed to bound memory`;
    return [{ where: 'sessions', reason }];
  }

  /** Any other event: a new key or part, a merge, or a record later than the allowance. */
  #place(event: EngineEvent, base: string, known: KeyParts | undefined): void {
    let parts = known;
    if (!parts) {
      parts = new KeyParts(base, base);
      this.#keys.set(base, parts);
    }
    if (event.time < this.#onTimeFrom) parts = this.#tooLate(parts, event.time);
    if (parts.open.length === 0) this.#open.add(parts);
    parts.place(event, this.#gap);
    // Only this path can hold sessions open past the allowance: on-time events never need the bound.
    if (++this.#openEvents > this.#pressureAt) this.#relieve();
  }

  /** Where a record beyond the allowance goes: its session if still open, else `<key>#late`. */
  #tooLate(parts: KeyParts, t: number): KeyParts {
    const late = this.#late;
    late.records++;
    const behind = this.#watermark - t;
    if (behind > late.mostBehindMs) late.mostBehindMs = behind;
    if (t - parts.closedEnd > this.#gap) {
      late.joined++;
      return parts;
    }
    late.separate++;
    if (!parts.late) {
      parts.late = new KeyParts(parts.base, `${parts.base}#late`);
      if (++late.lateKeyCount <= 5) late.lateKeys.push(parts.late.prefix);
    }
    return parts.late;
  }

  #sweep(): void {
    this.#closeBefore(this.#watermark - this.#gap - this.#lateness);
  }

  /** Too many events in open sessions: close what the allowance lets close now, not a minute later. */
  #relieve(): void {
    const before = this.#openEvents;
    this.#sweep();
    if (this.#openEvents < before && this.#late.records > 0) this.#late.pressureCloses++;
    this.#pressureAt = this.#openEvents + this.#maxOpenEvents;
  }

  /** Closes every open part ending before `limit`, each key's oldest first. */
  #closeBefore(limit: number): void {
    for (const parts of this.#open) {
      while (parts.open.length > 0 && parts.open[0]!.facts.end < limit) this.#close(parts);
      if (parts.open.length === 0) this.#open.delete(parts);
    }
  }

  #close(parts: KeyParts): void {
    const part = parts.closeOldest();
    const events = part.inOrder ? part.events : part.events.sort(compareEvents);
    this.#openEvents -= events.length;
    this.#onClose({ facts: part.facts, events });
  }
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  if (m >= 120) return `${(m / 60).toFixed(1)} h`;
  return `${Number.isInteger(m) ? m : m.toFixed(1)} min`;
}
