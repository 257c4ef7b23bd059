/**
 * Assembly (FORMAT.md §2): labelled events → signals.
 *
 * Events are visited in the order of engine/order.ts (same-second anchors: most specific action
 * first). An unused event that anchors one of its labels tries them in order; the window of a label is every unused event with that label within
 * [anchor − lookback, anchor + lookahead]. Each label keeps a sorted list of its events, and a
 * "next unused" skip list per label lets window scans jump over events already taken, so the whole
 * pass costs O(events × labels per event × window) and never rescans the session.
 */

import type { EngineEvent } from '../model.ts';
import { compareEvents } from '../order.ts';
import {
  type DraftSignal,
  draftOf,
  dropped,
  type FollowupContext,
  type FollowupRules,
  mergeFor,
  renamed,
  renamedPrevious,
} from './followups.ts';
import type { LabelledEvent } from './labeller.ts';
import type { CompiledDef, SignalRuleSet } from './rule-set.ts';

/** Per-label sorted list of event indexes, with skip pointers over used events. */
class LabelIndex {
  readonly at: number[] = [];
  /**
   * For position p: the nearest position ≥ p (or ≤ p for prev) that may be unused (path-compressed). Made at
   * the first search, when `at` is complete: most labels of a session are never searched.
   */
  private nextFree: Int32Array | undefined = undefined;
  private prevFree: Int32Array | undefined = undefined;

  add(eventIndex: number): void {
    this.at.push(eventIndex);
  }

  /** Where event index i sits in `at` (binary search: `at` is ascending). */
  positionOf(i: number): number {
    let lo = 0;
    let hi = this.at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.at[mid]! < i) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The first position ≥ p whose event is unused (`at.length` when none). */
  findNext(p: number, used: Uint8Array): number {
    const at = this.at;
    const next = this.nextFree ?? this.pointers().next;
    let r = p;
    while (r < at.length && (next[r] !== r || used[at[r]!])) {
      if (next[r] === r) next[r] = r + 1;
      r = next[r]!;
    }
    // Path compression: later scans from anywhere on this path jump straight to r.
    let c = p;
    while (c < at.length && c !== r) {
      const n = next[c]!;
      next[c] = r;
      c = n;
    }
    return r;
  }

  /** The last position ≤ p whose event is unused (-1 when none). */
  findPrev(p: number, used: Uint8Array): number {
    const at = this.at;
    const prev = this.prevFree ?? this.pointers().prev;
    let r = p;
    while (r >= 0 && (prev[r] !== r || used[at[r]!])) {
      if (prev[r] === r) prev[r] = r - 1;
      r = prev[r]!;
    }
    let c = p;
    while (c >= 0 && c !== r) {
      const n = prev[c]!;
      prev[c] = r;
      c = n;
    }
    return r;
  }

  /** Every position points at itself: nothing used yet. */
  private pointers(): { next: Int32Array; prev: Int32Array } {
    const n = this.at.length;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i;
      prev[i] = i;
    }
    this.nextFree = next;
    this.prevFree = prev;
    return { next, prev };
  }
}

export interface Assembled {
  signals: DraftSignal[];
  used: Uint8Array;
  /** The follow-up context after these events (pass it to the next chunk when streaming). */
  previous: DraftSignal[];
}

export interface AssembleOptions {
  /**
   * How anchors sharing one second are taken: `specific-first` (default, independent of the order the
   * events arrive in) or `as-given` (plain order of `events`; used to compare with other tools'
   * tie-breaks, e.g. Cloud Console Cartographer's sort by eventID).
   */
  sameSecond?: 'specific-first' | 'as-given';
  /** Signals made before these events (streaming): the context follow-up rules look back on. */
  previous?: readonly DraftSignal[];
}

export function assemble(
  rules: SignalRuleSet,
  follow: FollowupRules,
  events: readonly LabelledEvent[],
  options: AssembleOptions = {},
): Assembled {
  const a = new Assembly(rules, follow, events, options.previous);
  const plain = options.sameSecond === 'as-given';
  for (const group of anchorGroups(events, a.anchorOf)) {
    if (plain || group.length === 1 || group.length > MAX_TIE_GROUP) {
      for (const i of group) {
        if (a.used[i]) continue;
        const c = a.candidateFor(i);
        if (c) a.commit(c);
      }
    } else {
      a.tieGroup(group);
    }
  }
  const signals: DraftSignal[] = [];
  for (const s of a.all) if (s.members.length > 0) signals.push(s);
  return { signals, used: a.used, previous: a.previous };
}

/**
 * One pass over one list of labelled events. A class rather than closures inside `assemble`: its methods are
 * one function each for the whole run, so V8 optimises them once (closures made per call were re-optimised
 * again and again).
 */
class Assembly {
  readonly used: Uint8Array;
  /** 1 where an event may anchor one of its labels' definitions. */
  readonly anchorOf: Uint8Array;
  /** Per label, its events in order. */
  readonly index = new Map<string, LabelIndex>();
  /** Every draft made, merged ones included (they end with no members). */
  readonly all: DraftSignal[] = [];
  /** Signals as the follow-up rules see them (without previousSkips; merged ones removed). */
  readonly previous: DraftSignal[] = [];
  /**
   * The window being looked at (its first `size` slots), refilled per label tried: most tries fail, and only a
   * candidate copies its members out. A window never holds more events than the session.
   */
  private readonly window: Int32Array;

  constructor(
    readonly rules: SignalRuleSet,
    readonly follow: FollowupRules,
    readonly events: readonly LabelledEvent[],
    previous: readonly DraftSignal[] | undefined,
  ) {
    const n = events.length;
    this.used = new Uint8Array(n);
    this.anchorOf = new Uint8Array(n);
    this.window = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const e = events[i]!;
      for (const label of e.labels) {
        let li = this.index.get(label);
        if (!li) {
          li = new LabelIndex();
          this.index.set(label, li);
        }
        li.add(i);
        const def = rules.defs.get(label);
        if (def && (def.anchors === null || def.anchors.has(e.key))) this.anchorOf[i] = 1;
      }
    }
    if (previous) for (const p of previous) this.previous.push(p);
  }

  /** What anchor i would make now: its first label whose required events are in the window. */
  candidateFor(i: number): Candidate | undefined {
    const events = this.events;
    const e = events[i]!;
    const t = e.event.time;
    for (const label of e.labels) {
      const def = this.rules.defs.get(label);
      if (!def || (def.anchors !== null && !def.anchors.has(e.key))) continue;
      const li = this.index.get(label) as LabelIndex;
      const p = li.positionOf(i);
      const window = this.window;
      const size = collectWindow(li, p, this.used, events, t - def.lookbackMs, t + def.lookaheadMs, window);
      if (!requiredPresent(def, window, size, events)) continue;
      if (def.eachEvent) return new Candidate(def, [i], i);
      const members = keptMembers(def.members, window, size, events);
      // The anchor is the first member that may anchor (it need not be the event that opened the window);
      // when none may, the definition cannot stand and the event tries nothing else.
      if (def.anchors === null) return members.length > 0 ? new Candidate(def, members, i) : undefined;
      const found = firstAnchor(def.anchors, members, events);
      return found < 0 ? undefined : new Candidate(def, members, found);
    }
    return undefined;
  }

  commit(c: Candidate): void {
    const { def, members } = c;
    const { rules, follow, previous } = this;
    const anchor = this.events[c.anchor]!.event;
    const draft = draftOf(def.reportId, def.id, anchor, eventsAt(this.events, members), def.suppressed);
    const ctx: FollowupContext = { previous, current: draft };
    const to = renamed(follow, ctx);
    if (to) retarget(rules, draft, to);
    if (dropped(follow, ctx)) return;

    for (const w of members) this.used[w] = 1;
    this.all.push(draft);

    const prevTo = renamedPrevious(follow, ctx);
    if (prevTo) retarget(rules, previous[previous.length - 1]!, prevTo);

    if (!follow.previousSkips.has(draft.id)) {
      previous.push(draft);
      const merge = mergeFor(follow, previous);
      if (merge) {
        absorb(merge.keep, merge.drop);
        previous.splice(previous.indexOf(merge.drop), 1);
      }
    }
  }

  /**
   * Anchors sharing one second: CloudTrail gives them no real order, so the candidates are ranked by what
   * they mean (see `better`), then engine/order.ts. Windows only shrink as events are used, so an anchor with
   * no candidate now never gets one and leaves the group.
   */
  tieGroup(group: number[]): void {
    const last = this.previous[this.previous.length - 1];
    const t = this.events[group[0]!]!.event.time;
    const open = last && t - last.end <= OPEN_PAGE_MS ? last.id : undefined;
    let remaining = group;
    while (remaining.length > 0) {
      let best: Candidate | undefined;
      let bestAt = -1;
      const next: number[] = [];
      for (const i of remaining) {
        if (this.used[i]) continue;
        const c = this.candidateFor(i);
        if (!c) continue;
        next.push(i);
        if (!best || better(c, best, open)) {
          best = c;
          bestAt = i;
        }
      }
      if (!best) break;
      this.commit(best);
      remaining = next;
      remaining.splice(remaining.indexOf(bestAt), 1);
    }
  }
}

class Candidate {
  constructor(
    readonly def: CompiledDef,
    readonly members: number[],
    readonly anchor: number,
  ) {}
}

/** The window's events a definition keeps as members (null: all of them), as a list of their own. */
function keptMembers(
  keep: ReadonlySet<string> | null,
  window: Int32Array,
  size: number,
  events: readonly LabelledEvent[],
): number[] {
  const out: number[] = [];
  for (let k = 0; k < size; k++) {
    const w = window[k]!;
    if (keep === null || keep.has(events[w]!.key)) out.push(w);
  }
  return out;
}

/** The first of `members` that may anchor the definition (-1 when none may). */
function firstAnchor(
  anchors: ReadonlySet<string>,
  members: readonly number[],
  events: readonly LabelledEvent[],
): number {
  for (const w of members) if (anchors.has(events[w]!.key)) return w;
  return -1;
}

function eventsAt(events: readonly LabelledEvent[], at: readonly number[]): EngineEvent[] {
  const out: EngineEvent[] = [];
  for (const w of at) out.push(events[w]!.event);
  return out;
}

/** A page whose last call is at most this old still counts as open (console pages poll every few seconds). */
const OPEN_PAGE_MS = 60_000;

/** Larger same-second groups are rare and taken in plain order, keeping the pass linear. */
const MAX_TIE_GROUP = 64;

/**
 * Which of two same-second candidates goes first (FORMAT.md §2), in this order:
 * 1. a lone call never splits off from a page that needs it too (the page goes first);
 * 2. the page the user already has open (`open`: the id of the previous action, if its last call is at
 *    most a minute old) keeps the calls it makes in that second: an open console page goes on polling and
 *    loading while the next one starts;
 * 3. the action that needs more distinct calls goes first.
 * A tie keeps the earlier anchor in engine/order.ts. Event IDs never decide.
 */
function better(a: Candidate, b: Candidate, open: string | undefined): boolean {
  const aLone = a.members.length === 1 && b.members.length > 1 && b.members.includes(a.members[0]!);
  const bLone = b.members.length === 1 && a.members.length > 1 && a.members.includes(b.members[0]!);
  if (aLone !== bLone) return bLone;
  const aOpen = open !== undefined && a.def.reportId === open;
  const bOpen = open !== undefined && b.def.reportId === open;
  if (aOpen !== bOpen) return aOpen;
  return (a.def.required?.length ?? 0) > (b.def.required?.length ?? 0);
}

/** Anchor events grouped by second, each group in the order of engine/order.ts. */
function anchorGroups(events: readonly LabelledEvent[], anchorOf: Uint8Array): number[][] {
  const groups: number[][] = [];
  let current: number[] = [];
  let t = Number.NaN;
  for (let i = 0; i < events.length; i++) {
    if (!anchorOf[i]) continue;
    const ti = events[i]!.event.time;
    if (ti !== t && current.length > 0) {
      groups.push(current);
      current = [];
    }
    t = ti;
    current.push(i);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

/**
 * Writes the unused events of the label's window [from, to] around position p, in order, to the start of
 * `out`; returns how many.
 */
function collectWindow(
  li: LabelIndex,
  p: number,
  used: Uint8Array,
  events: readonly LabelledEvent[],
  from: number,
  to: number,
  out: Int32Array,
): number {
  let size = 0;
  for (
    let q = li.findPrev(p - 1, used);
    q >= 0 && events[li.at[q]!]!.event.time >= from;
    q = li.findPrev(q - 1, used)
  ) {
    out[size++] = li.at[q]!;
  }
  for (let a = 0, b = size - 1; a < b; a++, b--) {
    const x = out[a]!;
    out[a] = out[b]!;
    out[b] = x;
  }
  out[size++] = li.at[p]!;
  for (
    let q = li.findNext(p + 1, used);
    q < li.at.length && events[li.at[q]!]!.event.time <= to;
    q = li.findNext(q + 1, used)
  ) {
    out[size++] = li.at[q]!;
  }
  return size;
}

/** Whether the window holds every event the definition requires (no set per try: both lists are short). */
function requiredPresent(
  def: CompiledDef,
  window: Int32Array,
  size: number,
  events: readonly LabelledEvent[],
): boolean {
  if (def.required === null) return true;
  for (const r of def.required) if (!hasKey(window, size, events, r)) return false;
  return true;
}

function hasKey(window: Int32Array, size: number, events: readonly LabelledEvent[], key: string): boolean {
  for (let k = 0; k < size; k++) if (events[window[k]!]!.key === key) return true;
  return false;
}

/** A follow-up renamed the signal: report the new id and render with its definition when it has one. */
function retarget(rules: SignalRuleSet, s: DraftSignal, to: string): void {
  const def = rules.defs.get(to);
  s.id = def?.reportId ?? to;
  if (def) {
    s.defId = def.id;
    s.suppressed = def.suppressed;
  }
}

function absorb(keep: DraftSignal, drop: DraftSignal): void {
  const merged: EngineEvent[] = [];
  for (const e of keep.members) merged.push(e);
  for (const e of drop.members) merged.push(e);
  merged.sort(compareEvents);
  keep.members = merged;
  keep.start = Math.min(keep.start, drop.start);
  keep.end = Math.max(keep.end, drop.end);
  drop.members = [];
}
