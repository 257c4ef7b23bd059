import type { EngineEvent } from '../model.ts';
import { SessionFacts } from './session-facts.ts';

/** Events of one session key that no idle gap separates, and their facts: one session once it is closed. */
export interface Part {
  facts: SessionFacts;
  events: EngineEvent[];
}

/**
 * The open parts of one session key, oldest first, and how many of its parts were closed already.
 *
 * Parts are cut by the idle gap on the events' times, never on their arrival: an event joins the part it is
 * within the gap of (an event within the gap of two parts merges them) or starts a part of its own, wherever in
 * time it falls. Parts are closed oldest first and numbered as they close (`KEY`, `KEY#2`, …), so numbers
 * follow time.
 */
export class KeyParts {
  /** The session key before idle splitting. */
  readonly base: string;
  /** What closed parts are named after: the base key, or `<base>#late` for records that came too late. */
  readonly prefix: string;
  /** Open parts, oldest first; consecutive parts are more than the idle gap apart. */
  readonly open: Part[] = [];
  /** The newest open part (the last of `open`). */
  newest: Part | undefined;
  closed = 0;
  /** End of the newest closed part: an event within the idle gap after it belonged in a part already closed. */
  closedEnd = Number.NEGATIVE_INFINITY;
  /** Where records go that belonged in a part already closed (made on first use). */
  late: KeyParts | undefined;

  constructor(base: string, prefix: string) {
    this.base = base;
    this.prefix = prefix;
  }

  /** Adds an event to the part(s) it is within `gap` of, or to a new part in its place in time. */
  place(event: EngineEvent, gap: number): void {
    const t = event.time;
    const open = this.open;
    let i = open.length - 1;
    const last = open[i];
    // Almost every event: inside or just after the newest part (which no older part can reach).
    if (last && t >= last.facts.start && t - last.facts.end <= gap) {
      last.facts.add(event);
      last.events.push(event);
      return;
    }
    // Otherwise the event falls between `before` (the newest part starting at or before it) and `after`.
    while (i >= 0 && open[i]!.facts.start > t) i--;
    const before = open[i];
    const after = open[i + 1];
    const joinsBefore = before !== undefined && t - before.facts.end <= gap;
    const joinsAfter = after !== undefined && after.facts.start - t <= gap;
    let part: Part;
    if (joinsBefore && joinsAfter) {
      // The event bridges two parts: they become one.
      before.facts.merge(after.facts);
      for (const e of after.events) before.events.push(e);
      open.splice(i + 1, 1);
      part = before;
    } else if (joinsBefore) part = before;
    else if (joinsAfter) part = after;
    else {
      part = { facts: new SessionFacts(this.base, this.base), events: [] };
      open.splice(i + 1, 0, part);
    }
    this.newest = open[open.length - 1];
    part.facts.add(event);
    part.events.push(event);
  }

  /** Removes the oldest open part and names it: `prefix` for the first, `prefix#n` for the n-th. */
  closeOldest(): Part {
    const part = this.open.shift()!;
    this.newest = this.open[this.open.length - 1];
    const n = ++this.closed;
    if (part.facts.end > this.closedEnd) this.closedEnd = part.facts.end;
    part.facts.key = n === 1 ? this.prefix : `${this.prefix}#${n}`;
    return part;
  }
}
