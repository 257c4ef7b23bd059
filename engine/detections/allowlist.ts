/**
 * Allow-lists: tune noise without editing rules. Global lists (rules/detections/allowlist.yaml and the user file
 * the Slack "Mark benign" button writes), per-rule `allow:` blocks, and scoped entries.
 *
 * Every list item and entry may carry an `owner` and an `expires` date: an entry silences events before its
 * expiry (the event's own time, so re-running old logs gives the same answer), never after. Reading and writing
 * the files is the adapter's job (adapters/rules/allowlist-store.ts); this module is the data and the matching.
 */
import { z } from 'zod';
import { cidrContains, parseCidr } from '../ip-address.ts';
import type { EngineEvent } from '../model.ts';
import { globToRegExp } from './glob.ts';

export { globToRegExp } from './glob.ts';

const cidrOrIp = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, { message: 'not an IP address or CIDR' });
const isoDate = z
  .string()
  .refine((s) => Number.isFinite(Date.parse(s)), { message: 'not a date (use 2026-12-31 or an ISO time)' });

/** Who answers for an entry, and until when it holds. */
const stewardship = {
  owner: z.string().min(1).optional(),
  expires: isoDate.optional(),
};

export const AllowEntrySchema = z.strictObject({
  ruleId: z.string().optional(),
  principal: z.string().optional(),
  ip: cidrOrIp.optional(),
  account: z.string().optional(),
  userAgent: z.string().optional(),
  reason: z.string().min(1),
  /** Who added it (e.g. `slack:U123`); `owner` is who answers for it now. */
  by: z.string().optional(),
  at: z.string().optional(),
  ...stewardship,
});
export type AllowEntry = z.infer<typeof AllowEntrySchema>;

/** A list item: the value alone, or with its owner, expiry and reason. */
const item = <T extends z.ZodType<string>>(value: T) =>
  z.union([value, z.strictObject({ value, reason: z.string().min(1).optional(), ...stewardship })]);
const accountId = z.string().regex(/^\d{12}$/, 'an account id has 12 digits');

export const AllowListSchema = z.strictObject({
  /** ARN or user-name globs (`*` any run, `?` one character), case-insensitive. */
  principals: z.array(item(z.string().min(1))).default([]),
  ips: z.array(item(cidrOrIp)).default([]),
  accounts: z.array(item(accountId)).default([]),
  userAgents: z.array(item(z.string().min(1))).default([]),
  entries: z.array(AllowEntrySchema).default([]),
  /**
   * The organisation's own AWS accounts. Not silenced: rules that ask whether a trust policy or a shared snapshot
   * reaches an *unknown* account treat these as known.
   */
  knownAccounts: z.array(accountId).default([]),
});
export type AllowList = z.infer<typeof AllowListSchema>;
type Item = AllowList['principals'][number];

/** A compiled allow-list: `allows(event, ruleId)` says the event must not count for that rule. */
export interface CompiledAllowList {
  allows(event: EngineEvent, ruleId: string): boolean;
  readonly empty: boolean;
  /** Whether some entry can silence this rule's events (list items and entries without a rule id: every rule). */
  silences?(ruleId: string): boolean;
}

export const EMPTY_ALLOW_LIST: CompiledAllowList = {
  empty: true,
  allows: () => false,
  silences: () => false,
};

function principalNames(e: EngineEvent): string[] {
  const id = e.record.userIdentity;
  if (!id) return [];
  const out: string[] = [];
  if (id.arn) out.push(id.arn);
  if (id.userName) out.push(id.userName);
  const issuer = id.sessionContext?.sessionIssuer;
  if (issuer?.arn) out.push(issuer.arn);
  if (issuer?.userName) out.push(issuer.userName);
  return out;
}

function accountOf(e: EngineEvent): string | undefined {
  return e.record.userIdentity?.accountId ?? e.record.recipientAccountId;
}

const NEVER = Number.POSITIVE_INFINITY;
const untilOf = (expires: string | undefined) => (expires ? Date.parse(expires) : NEVER);
/** Valid for this event: no expiry, or the event happened before it. */
const live = (until: number, e: EngineEvent) => until === NEVER || e.time < until;

interface Matcher<T> {
  value: T;
  until: number;
}

function items<T>(list: Item[], make: (value: string) => T | undefined): Matcher<T>[] {
  const out: Matcher<T>[] = [];
  for (const x of list) {
    const { value, expires } = typeof x === 'string' ? { value: x, expires: undefined } : x;
    const made = make(value);
    if (made !== undefined) out.push({ value: made, until: untilOf(expires) });
  }
  return out;
}

interface Matchers {
  principal: Matcher<RegExp>[];
  ip: Matcher<NonNullable<ReturnType<typeof parseCidr>>>[];
  account: Matcher<string>[];
  userAgent: Matcher<RegExp>[];
}

function matchesAny(m: Matchers, e: EngineEvent): boolean {
  if (m.principal.length) {
    const names = principalNames(e);
    for (const r of m.principal) {
      if (!live(r.until, e)) continue;
      for (const n of names) if (r.value.test(n)) return true;
    }
  }
  const ip = e.record.sourceIPAddress;
  if (ip) for (const c of m.ip) if (live(c.until, e) && cidrContains(c.value, ip)) return true;
  const account = accountOf(e);
  if (account) for (const a of m.account) if (live(a.until, e) && a.value === account) return true;
  const ua = e.record.userAgent;
  if (ua) for (const r of m.userAgent) if (live(r.until, e) && r.value.test(ua)) return true;
  return false;
}

/** A scoped entry, compiled once: holds only when every field it names matches (AND), unlike the lists (OR). */
interface CompiledEntry {
  ruleId?: string;
  principal?: RegExp;
  ip?: NonNullable<ReturnType<typeof parseCidr>>;
  account?: string;
  userAgent?: RegExp;
  until: number;
  /** Names nothing but (maybe) a rule. */
  named: boolean;
}

function compileEntry(entry: AllowEntry): CompiledEntry {
  const ip = entry.ip ? parseCidr(entry.ip) : undefined;
  return {
    ...(entry.ruleId ? { ruleId: entry.ruleId } : {}),
    ...(entry.principal ? { principal: globToRegExp(entry.principal) } : {}),
    ...(ip ? { ip } : {}),
    ...(entry.account ? { account: entry.account } : {}),
    ...(entry.userAgent ? { userAgent: globToRegExp(entry.userAgent) } : {}),
    until: untilOf(entry.expires),
    named: Boolean(entry.principal || entry.ip || entry.account || entry.userAgent),
  };
}

function matchesAll(x: CompiledEntry, e: EngineEvent, ruleId: string): boolean {
  if (x.ruleId && x.ruleId !== ruleId) return false;
  if (!live(x.until, e)) return false;
  if (x.principal && !anyMatches(x.principal, principalNames(e))) return false;
  if (x.ip && (!e.record.sourceIPAddress || !cidrContains(x.ip, e.record.sourceIPAddress))) return false;
  if (x.account && accountOf(e) !== x.account) return false;
  if (x.userAgent && (!e.record.userAgent || !x.userAgent.test(e.record.userAgent))) return false;
  // An entry naming only a rule silences that rule everywhere; one naming nothing silences nothing.
  return x.named || x.ruleId !== undefined;
}

function anyMatches(re: RegExp, texts: string[]): boolean {
  for (const t of texts) if (re.test(t)) return true;
  return false;
}

export function compileAllowList(...lists: (AllowList | undefined)[]): CompiledAllowList {
  const present = lists.filter((l): l is AllowList => l !== undefined);
  const m: Matchers = {
    principal: items(
      present.flatMap((l) => l.principals),
      globToRegExp,
    ),
    ip: items(
      present.flatMap((l) => l.ips),
      (v) => parseCidr(v),
    ),
    account: items(
      present.flatMap((l) => l.accounts),
      (v) => v,
    ),
    userAgent: items(
      present.flatMap((l) => l.userAgents),
      globToRegExp,
    ),
  };
  const entries = present.flatMap((l) => l.entries).map(compileEntry);
  const empty =
    !m.principal.length && !m.ip.length && !m.account.length && !m.userAgent.length && !entries.length;
  if (empty) return EMPTY_ALLOW_LIST;
  const anyItem = m.principal.length + m.ip.length + m.account.length + m.userAgent.length > 0;
  const scoped = new Set(entries.map((x) => x.ruleId));
  return {
    empty,
    silences: (ruleId) => anyItem || scoped.has(undefined) || scoped.has(ruleId),
    allows(e, ruleId) {
      if (matchesAny(m, e)) return true;
      for (const x of entries) if (matchesAll(x, e, ruleId)) return true;
      return false;
    },
  };
}

/** A new scoped entry, validated: it must name something to match on. */
export function newAllowEntry(entry: Omit<AllowEntry, 'at'>, now: Date): AllowEntry {
  const full = AllowEntrySchema.parse({ ...entry, at: now.toISOString() });
  if (!full.principal && !full.ip && !full.account && !full.userAgent && !full.ruleId) {
    throw new Error('an allow-list entry needs a rule id, principal, ip, account or user agent');
  }
  return full;
}

/** Entries (and list items) past their expiry at `nowMs`, for `rules check` to name. */
export function expiredAllowItems(
  list: AllowList,
  nowMs: number,
): { path: (string | number)[]; text: string }[] {
  const out: { path: (string | number)[]; text: string }[] = [];
  for (const key of ['principals', 'ips', 'accounts', 'userAgents'] as const) {
    list[key].forEach((x, i) => {
      if (typeof x !== 'string' && x.expires && Date.parse(x.expires) <= nowMs)
        out.push({ path: [key, i], text: `${key} '${x.value}' expired on ${x.expires}${owned(x.owner)}` });
    });
  }
  list.entries.forEach((x, i) => {
    if (x.expires && Date.parse(x.expires) <= nowMs)
      out.push({
        path: ['entries', i],
        text: `entry '${x.reason}' (${x.ruleId ?? 'every rule'}) expired on ${x.expires}${owned(x.owner ?? x.by)}`,
      });
  });
  return out;
}

function owned(owner: string | undefined): string {
  return owner ? ` (owner ${owner})` : '';
}
