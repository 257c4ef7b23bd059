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

/** A rule as the assembler runs it: compiled once from followups.yaml, every field present. */
interface RenameRule {
  to: string;
  when: FollowupCondition | undefined;
}
interface RenamePreviousRule {
  from: string;
  to: string;
  when: FollowupCondition | undefined;
}
interface MergeRule {
  /** undefined: any signal. */
  first: readonly string[] | undefined;
  second: readonly string[];
  withinSeconds: number;
  skipOne: boolean;
  skipWithinSeconds: number;
  into: 'first' | 'second';
  when: FollowupCondition | undefined;
}

export interface FollowupRules {
  renames: Map<string, RenameRule[]>;
  drops: Map<string, (FollowupCondition | undefined)[]>;
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
    const when = condition(f.when);
    if ('rename' in f) push(out.renames, f.rename.from, { to: f.rename.to, when });
    else if ('drop' in f) push(out.drops, f.drop, when);
    else if ('renamePrevious' in f)
      out.renamePrevious.push({ from: f.renamePrevious.from, to: f.renamePrevious.to, when });
    else {
      const m = f.merge;
      out.merges.push({
        first: m.first === undefined ? undefined : ids(m.first),
        second: ids(m.second),
        withinSeconds: m.withinSeconds,
        skipOne: m.skipOne ?? false,
        skipWithinSeconds: m.skipWithinSeconds ?? m.withinSeconds,
        into: m.into ?? 'second',
        when,
      });
    }
  }
  return out;
}

const ids = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/**
 * The YAML's conditions and signal tests rebuilt with every field present (undefined when absent), in one
 * order: testCondition and testSignal then read one object shape whichever fields a rule sets.
 */
function condition(c: FollowupCondition | undefined): FollowupCondition | undefined {
  if (c === undefined) return undefined;
  const d = c.distinct;
  const r = c.recent;
  return {
    previous: signalTest(c.previous),
    current: signalTest(c.current),
    distinct: d && { event: d.event, path: d.path, startsWith: d.startsWith, moreThan: d.moreThan },
    recent: r && {
      find: signalTest(r.find)!,
      stopAt: signalTest(r.stopAt),
      withinSeconds: r.withinSeconds,
      always: r.always,
    },
    any: c.any?.map((alt) => condition(alt)!),
  };
}

function signalTest(t: SignalTest | undefined): SignalTest | undefined {
  if (t === undefined) return undefined;
  return {
    id: t.id,
    idIn: t.idIn,
    idStartsWith: t.idStartsWith,
    idEndsWith: t.idEndsWith,
    not: signalTest(t.not),
    back: t.back,
    withinSeconds: t.withinSeconds,
    maxEvents: t.maxEvents,
    minEvents: t.minEvents,
    onlyEvents: t.onlyEvents,
    anyEventParams: t.anyEventParams,
    anchorEvent: t.anchorEvent,
    anchorParams: t.anchorParams,
  };
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
    if (testCondition(r.when, ctx)) return r.to;
  }
  return undefined;
}

export function dropped(rules: FollowupRules, ctx: FollowupContext): boolean {
  const list = rules.drops.get(ctx.current.id);
  if (list === undefined) return false;
  for (const when of list) if (testCondition(when, ctx)) return true;
  return false;
}

/** The new id for the last previous signal, revealed by the current one. */
export function renamedPrevious(rules: FollowupRules, ctx: FollowupContext): string | undefined {
  const prev = ctx.previous[ctx.previous.length - 1];
  if (!prev) return undefined;
  for (const r of rules.renamePrevious) {
    if (r.from === prev.id && testCondition(r.when, ctx)) return r.to;
  }
  return undefined;
}

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
    const { first, second } = r;
    if (!second.includes(last.id)) continue;
    let candidate = list[n - 2];
    let limit = r.withinSeconds;
    if (
      r.skipOne &&
      candidate &&
      second.includes(candidate.id) &&
      !(first?.includes(candidate.id) ?? false)
    ) {
      candidate = list[n - 3];
      limit = r.skipWithinSeconds;
    }
    if (!candidate || (first !== undefined && !first.includes(candidate.id))) continue;
    if (last.start - candidate.end > limit * 1000) continue;
    if (!testCondition(r.when, { previous: list.slice(0, list.indexOf(candidate) + 1), current: last }))
      continue;
    return r.into === 'first' ? { keep: candidate, drop: last } : { keep: last, drop: candidate };
  }
  return undefined;
}
