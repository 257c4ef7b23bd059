/**
 * Thresholds with `acrossSessions: true` (password spraying, Sigma `count()` aggregations and correlations) count
 * the matching events of every session in a group (one source address, one account …). What such a burst counts
 * must depend only on the set of events, never on the order records arrive or sessions close (CloudTrail delivers
 * out of order; a folder, one file, Athena or an SQS feed order the same events differently). So:
 *
 * - Matches are collected when each event is first seen (`observe`, before any session closes), per rule and
 *   group, kept in the one event order (engine/order.ts). Only the record is known then, not the enrichment:
 *   such rules may read record fields only (`rules check` refuses the rest, see observeTimeProblem).
 * - A closing session is judged on that history: the first of its own events at which the window ending there
 *   holds the count completes the burst; the evidence is the group's events from the window's start, up to one
 *   window later but never past the session's last event. Everything read lies at or before that last event, and
 *   the pipeline closes a session only after the newest time seen has passed its last event + idle gap + the
 *   lateness allowance (or a later event of its own key came past the idle gap), so, as long as records arrive
 *   within the lateness allowance, the history it reads is complete, whatever the window's length.
 * - Memory stays one window deep: an event is dropped once no still-open session has a match within one window
 *   of it and no new event (never older than newest − lateness) can come within one window of it.
 *
 * An event later than the lateness allowance is still counted, against a history that may be trimmed by then:
 * the same limit as the sessions themselves (it would also start a session of its own).
 */
import type { EngineEvent, Finding } from '../model.ts';
import { compareEvents } from '../order.ts';
import type { CompiledAllowList } from './allowlist.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { fieldsRead, isEnrichmentPath } from './condition.ts';
import { buildFinding, thresholdLead } from './finding.ts';
import { candidateLookup, indexRules, type Slot, safeTest } from './rule-index.ts';

export function isCrossSession(rule: CompiledRule): boolean {
  return rule.kind === 'threshold' && rule.threshold?.acrossSessions === true;
}

/** Why fields cannot be used by a cross-session threshold (undefined: they can). */
export function observeTimeFieldProblem(fields: readonly string[]): string | undefined {
  const used = [...new Set(fields.filter(isEnrichmentPath))];
  if (used.length === 0) return undefined;
  return (
    `reads ${used.join(', ')}, but a threshold counted across sessions (acrossSessions, Sigma count() and ` +
    'correlations) matches events as they arrive, before enrichment: use record fields, or count within sessions'
  );
}

/** Why the rule cannot run as a cross-session threshold (undefined: it can, or it is not one). */
export function observeTimeProblem(rule: CompiledRule): string | undefined {
  if (!isCrossSession(rule)) return undefined;
  const condition = rule.condition ? fieldsRead(rule.condition) : [];
  return observeTimeFieldProblem([...condition, ...(rule.threshold!.reads ?? [])]);
}

interface Entry {
  event: EngineEvent;
  group: Group;
  /** Its session has not closed yet: it stays, and so does every entry within one window of it. */
  open: boolean;
}

interface Group {
  rule: CompiledRule;
  /** In the event order, always (an entry arriving out of order is put in its place). */
  entries: Entry[];
  open: number;
  oldest: number;
  /** Length after the last trim: a group holding open entries is compacted when it has doubled since. */
  trimmedAt: number;
}

export interface MemoryOptions {
  /** How far behind the newest event an event may still arrive (the pipeline's allowance). */
  latenessMs: number;
  /**
   * true: every event passes through observe() before its session closes (the pipeline). false: sessions bring
   * their own events to sessionFindings() (direct detect() calls, sessions handed over in time order).
   */
  observed: boolean;
}

/** Per-analysis history of cross-session threshold matches. */
export class CrossSessionMemory {
  readonly #candidates: (e: EngineEvent) => Slot[];
  readonly #allow: () => CompiledAllowList;
  readonly #options: MemoryOptions;
  readonly #groups = new Map<CompiledRule, Map<string, Group>>();
  readonly #byId = new Map<string, Entry[]>();
  readonly #none: boolean;
  #watermark = Number.NEGATIVE_INFINITY;
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(rules: readonly CompiledRule[], allow: () => CompiledAllowList, options: MemoryOptions) {
    const across = rules.filter(isCrossSession);
    this.#none = across.length === 0;
    this.#candidates = candidateLookup(indexRules(across));
    this.#allow = allow;
    this.#options = options;
  }

  /** Matching events held (for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const groups of this.#groups.values()) for (const g of groups.values()) n += g.entries.length;
    return n;
  }

  /** Every event once, in arrival order, before its session closes. */
  observe(e: EngineEvent): void {
    if (this.#none) return;
    this.#advance(e.time);
    this.#match(e);
  }

  /** A session closed without detection (filtered out): its events no longer keep anything. */
  forget(events: readonly EngineEvent[]): void {
    if (this.#none) return;
    for (const e of events) for (const x of this.#byId.get(e.id) ?? []) close(x);
  }

  /** Findings of the cross-session thresholds for a closing session. */
  sessionFindings(sessionKey: string, events: readonly EngineEvent[], sessionEnd?: number): Finding[] {
    if (this.#none) return [];
    const own = new Map<Group, Set<EngineEvent>>();
    const touched: Entry[] = [];
    let end = sessionEnd ?? Number.NEGATIVE_INFINITY;
    for (const e of events) {
      if (e.time > end) end = e.time;
      let entries = this.#byId.get(e.id);
      if (!entries && !this.#options.observed) {
        this.#advance(e.time);
        entries = this.#match(e);
      }
      if (!entries) continue;
      for (const x of entries) {
        touched.push(x);
        let set = own.get(x.group);
        if (!set) {
          set = new Set();
          own.set(x.group, set);
        }
        set.add(x.event);
      }
    }
    for (const x of touched) close(x);
    const out: Finding[] = [];
    for (const [group, mine] of own) {
      const f = burstFinding(group, mine, end, sessionKey);
      if (f) out.push(f);
    }
    return out;
  }

  #advance(time: number): void {
    if (!(time > this.#watermark)) return;
    this.#watermark = time;
    // One pass over the groups per minute of event time, as the sessionizer sweeps its open sessions.
    if (time - this.#lastSweep >= 60_000) this.#sweep();
  }

  #match(e: EngineEvent): Entry[] | undefined {
    if (!Number.isFinite(e.time)) return undefined;
    let out: Entry[] | undefined;
    let allow: CompiledAllowList | undefined;
    for (const slot of this.#candidates(e)) {
      if (!safeTest(slot, e)) continue;
      const rule = slot.rule;
      allow ??= this.#allow();
      if (allow.allows(e, rule.id) || rule.allow?.allows(e, rule.id)) continue;
      const key = groupKeyOf(rule, e);
      if (key === undefined) continue;
      const entry: Entry = { event: e, group: this.#group(rule, key), open: true };
      append(entry);
      if (out) out.push(entry);
      else out = [entry];
    }
    if (out) this.#byId.set(e.id, out);
    return out;
  }

  #group(rule: CompiledRule, key: string): Group {
    let groups = this.#groups.get(rule);
    if (!groups) {
      groups = new Map();
      this.#groups.set(rule, groups);
    }
    let g = groups.get(key);
    if (!g) {
      g = { rule, entries: [], open: 0, oldest: Number.POSITIVE_INFINITY, trimmedAt: 0 };
      groups.set(key, g);
    }
    return g;
  }

  #sweep(): void {
    this.#lastSweep = this.#watermark;
    for (const [rule, groups] of this.#groups) {
      const windowMs = rule.threshold!.windowMs;
      // No event still to come can reach back before this.
      const cutoff = this.#watermark - this.#options.latenessMs - windowMs;
      for (const [key, g] of groups) {
        if (g.oldest >= cutoff) continue;
        if (g.open > 0 && g.entries.length < 2 * g.trimmedAt) continue;
        this.#trim(g, cutoff, windowMs);
        if (g.entries.length === 0) groups.delete(key);
      }
    }
  }

  /** Keeps the entries still needed: open ones, those within one window of an open one, and those past `cutoff`. */
  #trim(g: Group, cutoff: number, windowMs: number): void {
    const list = g.entries;
    const keep = new Uint8Array(list.length);
    let lastOpen = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < list.length; i++) {
      const x = list[i]!;
      if (x.open) lastOpen = x.event.time;
      if (x.open || x.event.time >= cutoff || x.event.time - lastOpen <= windowMs) keep[i] = 1;
    }
    let nextOpen = Number.POSITIVE_INFINITY;
    for (let i = list.length - 1; i >= 0; i--) {
      const x = list[i]!;
      if (x.open) nextOpen = x.event.time;
      else if (nextOpen - x.event.time <= windowMs) keep[i] = 1;
    }
    const kept: Entry[] = [];
    for (let i = 0; i < list.length; i++) {
      if (keep[i]) kept.push(list[i]!);
      else this.#drop(list[i]!);
    }
    g.entries = kept;
    g.oldest = kept.length ? kept[0]!.event.time : Number.POSITIVE_INFINITY;
    g.trimmedAt = kept.length;
  }

  #drop(x: Entry): void {
    const id = x.event.id;
    const entries = this.#byId.get(id);
    if (!entries) return;
    const rest = entries.filter((y) => y !== x);
    if (rest.length) this.#byId.set(id, rest);
    else this.#byId.delete(id);
  }
}

function close(x: Entry): void {
  if (!x.open) return;
  x.open = false;
  x.group.open--;
}

/**
 * Adds the entry in its place in the event order: after the last entry when it arrives in order (most do), else
 * where a binary search puts it (events of one file arrive together, a group's matches come from many files). The
 * group stays sorted without re-sorting it whole at every session that reads it.
 */
function append(x: Entry): void {
  const g = x.group;
  const list = g.entries;
  const last = list.length - 1;
  if (last >= 0 && compareEvents(list[last]!.event, x.event) > 0) {
    // The first entry after x (the event order is total: distinct events never compare equal).
    let lo = 0;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareEvents(list[mid]!.event, x.event) > 0) hi = mid;
      else lo = mid + 1;
    }
    list.splice(lo, 0, x);
  } else list.push(x);
  g.open++;
  if (x.event.time < g.oldest) g.oldest = x.event.time;
}

function groupKeyOf(rule: CompiledRule, e: EngineEvent): string | undefined {
  try {
    return rule.threshold!.groupKey(e);
  } catch {
    return undefined;
  }
}

/** First index whose event time is at or after `time` (entries sorted). */
function lowerBound(list: readonly Entry[], time: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.event.time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function tally(counts: Map<string, number>, keys: readonly string[], delta: 1 | -1): void {
  for (const k of keys) {
    const n = (counts.get(k) ?? 0) + delta;
    if (n === 0) counts.delete(k);
    else counts.set(k, n);
  }
}

/**
 * One finding per group for the session: the first of its own events at which the window ending there (every
 * session's matches, in the event order) holds the count or distinct count. Linear in the group's matches from one
 * window before the session's first match to its last event.
 */
function burstFinding(
  g: Group,
  own: ReadonlySet<EngineEvent>,
  end: number,
  sessionKey: string,
): Finding | undefined {
  const reached = reachedAt(g, own, end);
  return reached && burst(g.rule, sessionKey, g.entries, reached, end, own);
}

/** Where the count is reached: the window [lo, at] of the group's entries, holding n (distinct) events. */
interface Reached {
  lo: number;
  at: number;
  n: number;
}

/**
 * The counting alone, apart from building the finding (burst): this loop runs for every closing session with
 * matches and is compiled once, without the finding's code and its records of many shapes inlined into it.
 */
function reachedAt(g: Group, own: ReadonlySet<EngineEvent>, end: number): Reached | undefined {
  const t = g.rule.threshold!;
  const list = g.entries;
  let first = Number.POSITIVE_INFINITY;
  for (const e of own) if (e.time < first) first = e.time;
  let lo = lowerBound(list, first - t.windowMs);
  const counts = t.distinct ? new Map<string, number>() : undefined;
  for (let i = lo; i < list.length; i++) {
    const e = list[i]!.event;
    if (e.time > end) break;
    if (counts) tally(counts, t.distinct!(e), 1);
    while (e.time - list[lo]!.event.time > t.windowMs) {
      if (counts) tally(counts, t.distinct!(list[lo]!.event), -1);
      lo++;
    }
    const n = counts ? counts.size : i - lo + 1;
    if (n >= t.count && own.has(e)) return { lo, at: i, n };
  }
  return undefined;
}

/** The whole burst: the group's matches from the window's start, up to one window on, not past the session's end. */
function burst(
  rule: CompiledRule,
  sessionKey: string,
  list: readonly Entry[],
  reached: Reached,
  end: number,
  own: ReadonlySet<EngineEvent>,
): Finding {
  const { lo, at, n } = reached;
  const t = rule.threshold!;
  const from = list[lo]!.event.time;
  const evidence: EngineEvent[] = [];
  let earlier = false;
  let other = false;
  for (let j = lo; j < list.length; j++) {
    const x = list[j]!.event;
    if (x.time > from + t.windowMs || x.time > end) break;
    evidence.push(x);
    if (!own.has(x)) {
      other = true;
      if (j < at) earlier = true;
    }
  }
  const across = earlier ? 'earlier' : other ? 'other' : undefined;
  return buildFinding(rule, sessionKey, evidence, thresholdLead(rule, n, evidence.length, across));
}
