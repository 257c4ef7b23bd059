/**
 * Follow-up rules (rules/signals/followups.yaml): context between consecutive actions.
 * Console steps that look the same in the logs are told apart by the action before or after them.
 */

import { asString, valuesAt } from '../field-path.ts';
import type { EngineEvent } from '../model.ts';
import { compileObjectTest, eventKey, ObjectFacts } from './conditions.ts';
import type { Followup, FollowupCondition, SignalTest } from './schema.ts';

/** A signal while it is being assembled. */
export interface DraftSignal {
  id: string;
  /** The definition whose texts render it (changes when a follow-up renames it). */
  defId: string;
  anchor: EngineEvent;
  members: EngineEvent[];
  start: number;
  end: number;
  suppressed: boolean;
}

export interface FollowupContext {
  /** Signals so far, oldest first, without `previousSkips`. */
  previous: readonly DraftSignal[];
  /** The signal being made (or just made). */
  current: DraftSignal;
}

/** Every draft is made here, fields in one order: one object shape for the assembler, follow-ups and render. */
export function draftOf(
  id: string,
  defId: string,
  anchor: EngineEvent,
  members: EngineEvent[],
  suppressed: boolean,
): DraftSignal {
  const start = members.length > 0 ? members[0]!.time : Number.NEGATIVE_INFINITY;
  const end = members.length > 0 ? members[members.length - 1]!.time : Number.NEGATIVE_INFINITY;
  return { id, defId, anchor, members, start, end, suppressed };
}

const objectTests = new WeakMap<object, (o: ObjectFacts) => boolean>();

/** Stands in for a previous signal that does not exist: `{not: {id: X}}` holds for it, `{id: X}` does not. */
const NONE: DraftSignal = draftOf(
  '',
  '',
  {
    record: { eventTime: '', eventSource: '', eventName: '' },
    time: Number.NEGATIVE_INFINITY,
    id: '',
    seq: -1,
  },
  [],
  false,
);

export function testSignal(t: SignalTest, given: DraftSignal | undefined, current?: DraftSignal): boolean {
  const s = given ?? NONE;
  if (s === NONE && t.withinSeconds !== undefined) return false;
  if (t.id !== undefined && s.id !== t.id) return false;
  if (t.idIn && !t.idIn.includes(s.id)) return false;
  if (t.idStartsWith !== undefined && !s.id.startsWith(t.idStartsWith)) return false;
  if (t.idEndsWith !== undefined && !s.id.endsWith(t.idEndsWith)) return false;
  if (t.not && testSignal(t.not, s, current)) return false;
  if (t.withinSeconds !== undefined && current && current.start - s.end > t.withinSeconds * 1000)
    return false;
  if (t.maxEvents !== undefined && s.members.length > t.maxEvents) return false;
  if (t.minEvents !== undefined && s.members.length < t.minEvents) return false;
  if (t.onlyEvents && !s.members.every((e) => t.onlyEvents?.includes(eventKey(e.record)))) return false;
  if (t.anyEventParams) {
    const test = objectTest(t.anyEventParams);
    if (!s.members.some((e) => test(new ObjectFacts(e.record.requestParameters, e.record.awsRegion))))
      return false;
  }
  if (t.anchorEvent !== undefined && (s === NONE || eventKey(s.anchor.record) !== t.anchorEvent))
    return false;
  if (t.anchorParams) {
    if (
      s === NONE ||
      !objectTest(t.anchorParams)(
        new ObjectFacts(s.anchor.record.requestParameters, s.anchor.record.awsRegion),
      )
    ) {
      return false;
    }
  }
  return true;
}

function objectTest(t: object): (o: ObjectFacts) => boolean {
  let test = objectTests.get(t);
  if (!test) {
    test = compileObjectTest(t);
    objectTests.set(t, test);
  }
  return test;
}

export function testCondition(c: FollowupCondition | undefined, ctx: FollowupContext): boolean {
  if (!c) return true;
  const { previous, current } = ctx;
  if (c.previous) {
    const back = c.previous.back ?? 1;
    if (!testSignal(c.previous, previous[previous.length - back], current)) return false;
  }
  if (c.current && !testSignal(c.current, current)) return false;
  if (c.distinct) {
    const { event, path, startsWith, moreThan } = c.distinct;
    const values = new Set<string>();
    for (const e of current.members) {
      if (eventKey(e.record) !== event) continue;
      for (const v of valuesAt(e.record.requestParameters, path)) {
        const s = asString(v);
        if (startsWith === undefined || s.startsWith(startsWith)) values.add(s);
      }
    }
    if (values.size <= moreThan) return false;
  }
  if (c.recent) {
    const r = c.recent;
    let found = false;
    for (let k = previous.length - 1; k >= 0; k--) {
      const s = previous[k]!;
      const old = s.anchor.time < current.anchor.time - r.withinSeconds * 1000;
      if (old && k < previous.length - r.always) break;
      if (r.stopAt && testSignal(r.stopAt, s)) break;
      if (testSignal(r.find, s)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  if (c.any && !c.any.some((alt) => testCondition(alt, ctx))) return false;
  return true;
}

type RenameRule = Extract<Followup, { rename: unknown }>;
type DropRule = Extract<Followup, { drop: unknown }>;
type RenamePreviousRule = Extract<Followup, { renamePrevious: unknown }>;
type MergeRule = Extract<Followup, { merge: unknown }>;

export interface FollowupRules {
  renames: Map<string, RenameRule[]>;
  drops: Map<string, DropRule[]>;
  renamePrevious: RenamePreviousRule[];
  merges: MergeRule[];
  previousSkips: ReadonlySet<string>;
}

export function indexFollowups(list: readonly Followup[], previousSkips: readonly string[]): FollowupRules {
  const out: FollowupRules = {
    renames: new Map(),
    drops: new Map(),
    renamePrevious: [],
    merges: [],
    previousSkips: new Set(previousSkips),
  };
  for (const f of list) {
    if ('rename' in f) push(out.renames, f.rename.from, f);
    else if ('drop' in f) push(out.drops, f.drop, f);
    else if ('renamePrevious' in f) out.renamePrevious.push(f);
    else out.merges.push(f);
  }
  return out;
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** The id the signal gets: the first rename rule that holds (an else-if chain, as in the console flows). */
export function renamed(rules: FollowupRules, ctx: FollowupContext): string | undefined {
  const list = rules.renames.get(ctx.current.id);
  if (list === undefined) return undefined;
  for (const r of list) {
    if (testCondition(r.when, ctx)) return r.rename.to;
  }
  return undefined;
}

export function dropped(rules: FollowupRules, ctx: FollowupContext): boolean {
  const list = rules.drops.get(ctx.current.id);
  if (list === undefined) return false;
  for (const r of list) if (testCondition(r.when, ctx)) return true;
  return false;
}

/** The new id for the last previous signal, revealed by the current one. */
export function renamedPrevious(rules: FollowupRules, ctx: FollowupContext): string | undefined {
  const prev = ctx.previous[ctx.previous.length - 1];
  if (!prev) return undefined;
  for (const r of rules.renamePrevious) {
    if (r.renamePrevious.from === prev.id && testCondition(r.when, ctx)) return r.renamePrevious.to;
  }
  return undefined;
}

const ids = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/**
 * Looks at the end of the previous-signal list (the current signal already appended) and says
 * which two signals become one: `keep` absorbs `drop`.
 */
export function mergeFor(
  rules: FollowupRules,
  list: readonly DraftSignal[],
): { keep: DraftSignal; drop: DraftSignal } | undefined {
  const n = list.length;
  const last = list[n - 1];
  if (!last) return undefined;
  for (const r of rules.merges) {
    const m = r.merge;
    const second = ids(m.second);
    if (!second.includes(last.id)) continue;
    const first = m.first === undefined ? undefined : ids(m.first);
    const isFirst = (s: DraftSignal | undefined) => !!s && (first === undefined || first.includes(s.id));
    let candidate = list[n - 2];
    let limit = m.withinSeconds;
    if (
      m.skipOne &&
      candidate &&
      second.includes(candidate.id) &&
      !(first?.includes(candidate.id) ?? false)
    ) {
      candidate = list[n - 3];
      limit = m.skipWithinSeconds ?? m.withinSeconds;
    }
    if (!candidate || !isFirst(candidate)) continue;
    if (last.start - candidate.end > limit * 1000) continue;
    if (!testCondition(r.when, { previous: list.slice(0, list.indexOf(candidate) + 1), current: last }))
      continue;
    return m.into === 'first' ? { keep: candidate, drop: last } : { keep: last, drop: candidate };
  }
  return undefined;
}
