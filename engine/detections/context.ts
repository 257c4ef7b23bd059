/**
 * Organisation context (rules/context/*.yaml): named lists and named conditions rules refer to by name, e.g.
 *
 *   where: { all: [ { not: { field: awsRegion, inList: approved_regions } }, { ref: human_caller } ] }
 *
 * Lists: approved regions, expected automation principals, known-good networks, the organisation's accounts,
 * indicator (IOC) lists. Every list has an owner; any entry may carry its own owner, an expiry and a reason.
 * An entry counts for events before its expiry (event time, so a re-run of old logs gives the same answer);
 * `rules check` warns about expired entries so someone removes or renews them.
 */
import { z } from 'zod';
import { inCidr, parseCidr, parseIp } from '../ip-address.ts';
import { accountOf } from './account.ts';
import { ConditionSchema } from './condition.ts';
import { globToRegExp } from './glob.ts';
import { type CompiledList, LIST_KINDS, type ListKind } from './lists.ts';

const isoDate = z
  .string()
  .refine((s) => Number.isFinite(Date.parse(s)), { message: 'not a date (use 2026-12-31 or an ISO time)' });

export const ListEntrySchema = z.union([
  z.string().min(1),
  z.strictObject({
    value: z.string().min(1),
    owner: z.string().min(1).optional(),
    expires: isoDate.optional(),
    reason: z.string().min(1).optional(),
    /** Where an indicator came from (a report, a ticket). */
    source: z.string().min(1).optional(),
  }),
]);
export type ListEntry = z.infer<typeof ListEntrySchema>;

export const ContextListSchema = z.strictObject({
  kind: z.enum(LIST_KINDS).default('text'),
  description: z.string().min(1),
  owner: z.string().min(1),
  /** Default expiry for entries that name none (IOC lists usually have one). */
  expires: isoDate.optional(),
  entries: z.array(ListEntrySchema).default([]),
});
export type ContextList = z.infer<typeof ContextListSchema>;

const snake = z.string().regex(/^[a-z][a-z0-9_]*$/, 'names are snake_case');

export const ContextFileSchema = z.strictObject({
  lists: z.record(snake, ContextListSchema).default({}),
  /**
   * Named conditions rules and tuning refer to (`{ ref: human_caller }`, `exclude: [sso_session]`), so "who is a
   * person", "what is an SSO session" is written once.
   */
  conditions: z
    .record(snake, z.strictObject({ description: z.string().min(1), where: ConditionSchema }))
    .default({}),
});

export function compileList(name: string, list: ContextList): CompiledList {
  const entries = list.entries.map((e) => {
    const x = typeof e === 'string' ? { value: e } : e;
    const expires = x.expires ?? list.expires;
    return {
      value: x.value,
      expiresMs: expires ? Date.parse(expires) : Number.POSITIVE_INFINITY,
      owner: x.owner ?? list.owner,
    };
  });
  return { name, kind: list.kind, owner: list.owner, entries, has: matcherFor(list.kind, entries) };
}

type Entry = { value: string; expiresMs: number };

function matcherFor(kind: ListKind, entries: Entry[]): (value: string, timeMs: number) => boolean {
  if (kind === 'text' || kind === 'account') {
    const byValue = new Map<string, number>();
    for (const e of entries) {
      const key = (kind === 'account' ? accountOf(e.value) : undefined) ?? e.value.toLowerCase();
      byValue.set(key, Math.max(byValue.get(key) ?? 0, e.expiresMs));
    }
    const keyOf = kind === 'account' ? accountOf : (v: string) => v.toLowerCase();
    // The events of a session repeat their account ids and names: the last value's key is kept.
    let lastValue: string | undefined;
    let lastKey: string | undefined;
    return (value, time) => {
      if (value !== lastValue) {
        lastKey = keyOf(value);
        lastValue = value;
      }
      const key = lastKey;
      if (key === undefined) return false;
      const until = byValue.get(key);
      return until !== undefined && !(time >= until);
    };
  }
  if (kind === 'cidr') {
    const nets = entries.flatMap((e) => {
      const c = parseCidr(e.value);
      return c ? [{ c, until: e.expiresMs }] : [];
    });
    return byLatestExpiry((value) => {
      const ip = parseIp(value);
      let until: number | undefined;
      if (ip) for (const n of nets) if (inCidr(ip, n.c)) until = later(until, n.until);
      return until;
    });
  }
  const globs = entries.map((e) => ({ re: globToRegExp(e.value), until: e.expiresMs }));
  return byLatestExpiry((value) => {
    let until: number | undefined;
    for (const g of globs) if (g.re.test(value)) until = later(until, g.until);
    return until;
  });
}

/** The later of two expiries; an unreadable one (NaN) never expires, as `!(time >= NaN)` always holds. */
function later(a: number | undefined, b: number): number {
  const x = Number.isNaN(b) ? Number.POSITIVE_INFINITY : b;
  return a === undefined || x > a ? x : a;
}

/**
 * A list test from `latest(value)`: the latest expiry among the entries matching the value (undefined: none
 * matches). A value is in the list at `time` when some matching entry has not expired by then, that is when
 * the latest one has not. Addresses, user agents and ARNs repeat from event to event: the latest expiry is
 * remembered per value (a bounded cache), so a CIDR or glob list costs one lookup per event, not a parse and a
 * test per entry.
 */
function byLatestExpiry(
  latest: (value: string) => number | undefined,
): (value: string, time: number) => boolean {
  const known = new Map<string, number | undefined>();
  // The events of a session repeat one caller: the last value is compared before any hashing.
  let lastValue: string | undefined;
  let lastUntil: number | undefined;
  return (value, time) => {
    let until: number | undefined;
    if (value === lastValue) until = lastUntil;
    else {
      until = known.get(value);
      if (until === undefined && !known.has(value)) {
        until = latest(value);
        if (known.size >= 10_000) known.clear();
        known.set(value, until);
      }
      lastValue = value;
      lastUntil = until;
    }
    return until !== undefined && !(time >= until);
  };
}

/** Problems a list can have that do not stop it loading: bad CIDRs are errors, expired entries warnings. */
export function listProblems(
  name: string,
  list: ContextList,
  nowMs: number,
): { index: number; message: string; warning: boolean }[] {
  const out: { index: number; message: string; warning: boolean }[] = [];
  list.entries.forEach((e, index) => {
    const x = typeof e === 'string' ? { value: e } : e;
    if (list.kind === 'cidr' && !parseCidr(x.value))
      out.push({ index, message: `list ${name}: '${x.value}' is not an IP address or CIDR`, warning: false });
    if (list.kind === 'account' && !/^\d{12}$/.test(x.value))
      out.push({ index, message: `list ${name}: '${x.value}' is not a 12-digit account id`, warning: false });
    const expires = x.expires ?? list.expires;
    if (expires && Date.parse(expires) <= nowMs)
      out.push({
        index,
        message: `list ${name}: entry '${x.value}' expired on ${expires} (owner ${x.owner ?? list.owner}); renew or remove it`,
        warning: true,
      });
  });
  return out;
}
