import type { EngineEvent } from '../model.ts';
import { compareEvents } from '../order.ts';
import { SessionFacts } from './session-facts.ts';

/** Events of one session key that no idle gap separates, and their facts: one session once it is closed. */
export interface Part {
  facts: SessionFacts;
  /** In the one event order (engine/order.ts) while `inOrder`; otherwise sorted when the part closes. */
  events: EngineEvent[];
  inOrder: boolean;
}

/** How far back an event not after the part's last one is moved into place before the part is left unsorted. */
const MAX_STEPS_BACK = 64;

/**
 * Adds an event to a part. An event of the same second as the last ones (a burst: its place depends on source,
 * name and id) is moved into place now, while those events are still in the processor's cache; an event earlier
 * than that (another region's file read later, say) leaves the part to be sorted when it closes.
 */
export function append(part: Part, event: EngineEvent): void {
  part.facts.add(event);
  const events = part.events;
  let j = events.length;
  if (!part.inOrder || j === 0 || events[j - 1]!.time < event.time) {
    events.push(event);
    return;
  }
  const stop = j > MAX_STEPS_BACK ? j - MAX_STEPS_BACK : 0;
  while (j > stop && compareEvents(events[j - 1]!, event) > 0) j--;
  if (j === stop && j > 0 && compareEvents(events[j - 1]!, event) > 0) {
    // Further back than a burst: sorted when the part closes.
    part.inOrder = false;
    events.push(event);
    return;
  }
  // Into place at j (no splice: it would build an array of the removed elements every time).
  for (let k = events.length; k > j; k--) events[k] = events[k - 1]!;
  events[j] = event;
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
      append(last, event);
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
      // Every event of `after` is later than every event of `before` (they were more than the gap apart).
      before.facts.merge(after.facts);
      for (const e of after.events) before.events.push(e);
      before.inOrder &&= after.inOrder;
      open.splice(i + 1, 1);
      part = before;
    } else if (joinsBefore) part = before;
    else if (joinsAfter) part = after;
    else {
      part = { facts: new SessionFacts(this.base, this.base), events: [], inOrder: true };
      open.splice(i + 1, 0, part);
    }
    this.newest = open[open.length - 1];
    append(part, event);
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
