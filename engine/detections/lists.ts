/**
 * Named lists of the organisation context (rules/context/*.yaml) as the matchers see them: how a list compares
 * values, and a list compiled for matching. context.ts loads them; condition.ts matches with them.
 */

/** How a list's values are compared with a field's values. */
export const LIST_KINDS = ['text', 'cidr', 'glob', 'account'] as const;
export type ListKind = (typeof LIST_KINDS)[number];

/** A list ready for matching: values normalised once, expiry as epoch ms (Infinity: none). */
export interface CompiledList {
  name: string;
  kind: ListKind;
  owner: string;
  /** Every entry with its expiry, for reporting and for compilers that need the values (e.g. SQL prefilters). */
  entries: { value: string; expiresMs: number; owner: string }[];
  /** Does the value match an entry that is still valid at `timeMs`? */
  has(value: string, timeMs: number): boolean;
}

export type OrgContext = ReadonlyMap<string, CompiledList>;
