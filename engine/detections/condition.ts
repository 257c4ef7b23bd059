/**
 * The condition grammar of Cartographer's detection rules, and its compiled form (shared with Sigma).
 *
 *   match: { eventSource: iam.amazonaws.com, eventName: [CreateUser, CreateLoginProfile] }   # shorthand: equals / in
 *   where:
 *     all:
 *       - { field: requestParameters.ipPermissions.items[].ipRanges.items[].cidrIp, in: [0.0.0.0/0] }
 *       - not: { field: errorCode, exists: true }
 *       - any: [ { field: enrichment.policy.fullAdmin, equals: true }, { field: policyArn, endsWith: /AdministratorAccess } ]
 *
 * A field test holds when ANY value reached by the path satisfies it (`exists: false` holds when none is reached).
 */
import { z } from 'zod';
import { CartographerError } from '../errors.ts';
import { asText, eventFieldGetter } from '../field-path.ts';
import { cidrContains, parseCidr } from '../ip-address.ts';
import type { EngineEvent } from '../model.ts';
import { accountOf } from './account.ts';
import {
  and as andFilter,
  type EventFilter,
  type FilterDescription,
  field as fieldFilter,
  not as notFilter,
} from './event-filter.ts';
import type { CompiledList, ListKind, OrgContext } from './lists.ts';
import { fastRegexTest } from './regex-literal.ts';

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

const operators = {
  equals: scalar,
  in: z.array(scalar).min(1),
  contains: oneOrMany(z.string()),
  startsWith: oneOrMany(z.string()),
  endsWith: oneOrMany(z.string()),
  regex: z.string(),
  cidr: oneOrMany(z.string()),
  exists: z.boolean(),
  gt: z.number(),
  lt: z.number(),
  sameAs: z.string(),
  notSameAs: z.string(),
  /** The value is an ARN (or account id) of an AWS account other than the one in the named field. */
  otherAccountThan: z.string(),
  /** The value equals the name at the end of the ARN in the named field (role session or user name). */
  sameAsArnName: z.string(),
  /** `true`: the value (ARN or account id) is of an account that is neither the event's own nor a known one. */
  unknownAccount: z.literal(true),
  /** The value is in the named org-context list (rules/context/), by the list's kind (text, cidr, glob, account). */
  inList: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a list name is snake_case'),
  /**
   * The field has a value and none is in the named list. An empty list never holds: "outside the approved
   * regions" means nothing until someone approved some.
   */
  notInList: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a list name is snake_case'),
} as const;
type OperatorName = keyof typeof operators;
const OPERATOR_NAMES = Object.keys(operators) as OperatorName[];

export const FieldTestSchema = z
  .strictObject({
    field: z.string().min(1),
    ignoreCase: z.boolean().optional(),
    ...Object.fromEntries(OPERATOR_NAMES.map((k) => [k, operators[k].optional()])),
  })
  .superRefine((v, ctx) => {
    const used = OPERATOR_NAMES.filter((k) => (v as Record<string, unknown>)[k] !== undefined);
    if (used.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a field test needs exactly one operator (${OPERATOR_NAMES.join(', ')}); found ${used.length ? used.join(', ') : 'none'}`,
      });
    }
    const regex = (v as { regex?: string }).regex;
    if (regex !== undefined) {
      try {
        new RegExp(regex);
      } catch (e) {
        ctx.addIssue({
          code: 'custom',
          path: ['regex'],
          message: `invalid regular expression: ${(e as Error).message}`,
        });
      }
    }
    const cidr = (v as { cidr?: string | string[] }).cidr;
    for (const c of cidr === undefined ? [] : [cidr].flat()) {
      if (!parseCidr(c)) ctx.addIssue({ code: 'custom', path: ['cidr'], message: `invalid CIDR '${c}'` });
    }
  });
export type FieldTest = z.infer<typeof FieldTestSchema> & Partial<Record<OperatorName, unknown>>;

export type ConditionInput =
  | FieldTest
  | { all: ConditionInput[] }
  | { any: ConditionInput[] }
  | { not: ConditionInput }
  /** A named condition from rules/context/ (`human_caller`, `sso_session` …), expanded at compile time. */
  | { ref: string };

export const ConditionSchema: z.ZodType<ConditionInput> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(ConditionSchema).min(1) }),
    z.strictObject({ any: z.array(ConditionSchema).min(1) }),
    z.strictObject({ not: ConditionSchema }),
    z.strictObject({ ref: z.string().regex(/^[a-z][a-z0-9_]*$/, 'a condition name is snake_case') }),
    FieldTestSchema,
  ]),
) as z.ZodType<ConditionInput>;

/** `match:` shorthand: field → value (equals) or list (in). */
export const MatchSchema = z.record(z.string().min(1), z.union([scalar, z.array(scalar).min(1)]));
export type MatchInput = z.infer<typeof MatchSchema>;

/** The compiled tree; Sigma rules compile to the same nodes so one index and evaluator serve both. */
export type CondNode =
  | { kind: 'all'; children: CondNode[] }
  | { kind: 'any'; children: CondNode[] }
  | { kind: 'not'; child: CondNode }
  | { kind: 'const'; value: boolean }
  | {
      kind: 'test';
      field: string;
      test: (values: unknown[], event: EngineEvent) => boolean;
      /** Exact values the field must equal (for indexing by eventName); absent when the test is not an equality. */
      exact?: string[];
      /** Other field paths the test reads (`sameAs`, `otherAccountThan`, Sigma `fieldref` …). */
      reads?: string[];
      /** The test as a backend-neutral filter (event-filter.ts), for pushing it down to a store; absent: opaque. */
      describe?: FilterDescription;
    }
  | {
      /** The field's value is in an org-context list (entries still valid at the event's time). */
      kind: 'list';
      field: string;
      list: string;
      match: ListKind;
      /** `notInList`: a value is present, the list is not empty, and no value is in it. */
      negated?: boolean;
      /** The list's values (as written), for compilers that need them (e.g. SQL prefilters). */
      values: string[];
      /** The entries with their expiry (epoch ms, Infinity: none): an entry counts for events before it. */
      entries?: { value: string; expiresMs: number }[];
      test: (values: unknown[], event: EngineEvent) => boolean;
    };

export type Predicate = (event: EngineEvent) => boolean;

/**
 * Facts from configuration some operators need: the organisation's own accounts (allow-list `knownAccounts` and
 * the `org_accounts` context list) and the org-context lists `inList` names.
 */
export interface CompileContext {
  knownAccounts: ReadonlySet<string>;
  lists?: OrgContext;
  /** Named conditions (`{ ref: name }`). */
  conditions?: ReadonlyMap<string, ConditionInput>;
}

const NO_CONTEXT: CompileContext = { knownAccounts: new Set() };

/** A rule names a list or condition that rules/context/ does not define (or conditions that refer to each other). */
export class UnknownListError extends CartographerError {
  override readonly name = 'UnknownListError';
  readonly code = 'rules';
}

export function compileCondition(
  input: ConditionInput,
  ctx: CompileContext = NO_CONTEXT,
  expanding: readonly string[] = [],
): CondNode {
  const sub = (c: ConditionInput) => compileCondition(c, ctx, expanding);
  if ('all' in input) return { kind: 'all', children: input.all.map(sub) };
  if ('any' in input) return { kind: 'any', children: input.any.map(sub) };
  if ('not' in input) return { kind: 'not', child: sub(input.not) };
  if ('ref' in input) return expandRef(input.ref, ctx, expanding);
  return compileFieldTest(input as FieldTest, ctx);
}

function expandRef(name: string, ctx: CompileContext, expanding: readonly string[]): CondNode {
  const def = ctx.conditions?.get(name);
  if (!def) {
    const known = [...(ctx.conditions?.keys() ?? [])];
    throw new UnknownListError(
      `unknown named condition '${name}' (rules/context/ defines ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  if (expanding.includes(name)) {
    throw new UnknownListError(`named conditions refer to each other: ${[...expanding, name].join(' → ')}`);
  }
  return compileCondition(def, ctx, [...expanding, name]);
}

export function compileMatch(match: MatchInput): CondNode {
  const children: CondNode[] = Object.entries(match).map(([field, value]) =>
    Array.isArray(value)
      ? compileFieldTest({ field, in: value })
      : compileFieldTest({ field, equals: value }),
  );
  return children.length === 1 ? children[0]! : { kind: 'all', children };
}

function compileFieldTest(t: FieldTest, ctx: CompileContext = NO_CONTEXT): CondNode {
  if (t.inList !== undefined) return listNode(t.field, t.inList as string, ctx, false);
  if (t.notInList !== undefined) return listNode(t.field, t.notInList as string, ctx, true);
  const ignoreCase = t.ignoreCase === true;
  const fold = ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  // Tests run for every candidate event of every rule, and the events of a session mostly repeat their user
  // agent, principal and address: each text test remembers its last input and answer (its own, as rules are
  // tried event by event). Without ignoreCase, no identity call per value.
  const anyText = (pred: (s: string) => boolean) => {
    const once = remembered(ignoreCase ? (s: string) => pred(s.toLowerCase()) : pred);
    return (values: unknown[]) => {
      for (const v of values) if (once(asText(v))) return true;
      return false;
    };
  };
  const list = (v: unknown) => [v].flat().map((x) => fold(String(x)));
  let test: (values: unknown[], event: EngineEvent) => boolean;
  let exact: string[] | undefined;
  const other = (t.sameAs ?? t.notSameAs ?? t.otherAccountThan ?? t.sameAsArnName) as string | undefined;
  if (t.equals !== undefined || t.in !== undefined) {
    const wanted = new Set(list(t.equals ?? t.in));
    test = anyText((s) => wanted.has(s));
    exact = [...wanted];
  } else if (t.contains !== undefined) {
    const needles = list(t.contains);
    test = anyText((s) => needles.some((n) => s.includes(n)));
  } else if (t.startsWith !== undefined) {
    const needles = list(t.startsWith);
    test = anyText((s) => needles.some((n) => s.startsWith(n)));
  } else if (t.endsWith !== undefined) {
    const needles = list(t.endsWith);
    test = anyText((s) => needles.some((n) => s.endsWith(n)));
  } else if (t.regex !== undefined) {
    const re = remembered(fastRegexTest(new RegExp(t.regex as string, t.ignoreCase ? 'i' : '')));
    test = (values) => {
      for (const v of values) if (re(asText(v))) return true;
      return false;
    };
  } else if (t.cidr !== undefined) {
    const nets = [t.cidr as string | string[]].flat().map((c) => parseCidr(c)!);
    test = (values) => values.some((v) => typeof v === 'string' && nets.some((n) => cidrContains(n, v)));
  } else if (t.exists !== undefined) {
    const want = t.exists as boolean;
    test = (values) => values.some((v) => v !== '') === want;
  } else if (t.gt !== undefined || t.lt !== undefined) {
    const bound = (t.gt ?? t.lt) as number;
    const above = t.gt !== undefined;
    test = (values) =>
      values.some((v) => {
        const n = typeof v === 'number' ? v : Number(v);
        return Number.isFinite(n) && (above ? n > bound : n < bound);
      });
  } else if (t.unknownAccount !== undefined) {
    const own = [eventFieldGetter('recipientAccountId'), eventFieldGetter('userIdentity.accountId')];
    test = (values, event) => {
      const mine = new Set(own.flatMap((g) => g(event)).map((v) => accountOf(asText(v)) ?? asText(v)));
      return values.some((v) => {
        const account = accountOf(asText(v));
        return account !== undefined && !mine.has(account) && !ctx.knownAccounts.has(account);
      });
    };
  } else if (t.sameAsArnName !== undefined) {
    const arn = eventFieldGetter(t.sameAsArnName as string);
    test = (values, event) => {
      const names = new Set(arn(event).map((a) => fold(asText(a).slice(asText(a).lastIndexOf('/') + 1))));
      return values.some((v) => names.has(fold(asText(v))));
    };
  } else if (t.otherAccountThan !== undefined) {
    const own = eventFieldGetter(t.otherAccountThan as string);
    // The event's own account: a record without recipientAccountId (event versions before 1.02, hand-written or
    // exported records) is read as the caller's account, the one CloudTrail would have named for a same-account call.
    const caller =
      t.otherAccountThan === 'recipientAccountId' ? eventFieldGetter('userIdentity.accountId') : undefined;
    const accounts = (vs: unknown[]) => vs.map((v) => accountOf(asText(v))).filter((a) => a !== undefined);
    test = (values, event) => {
      let found = accounts(own(event));
      if (found.length === 0 && caller) found = accounts(caller(event));
      const mine = new Set(found);
      if (mine.size === 0) return false;
      return values.some((v) => {
        const account = accountOf(asText(v));
        return account !== undefined && !mine.has(account);
      });
    };
  } else {
    const other = eventFieldGetter((t.sameAs ?? t.notSameAs) as string);
    const same = t.sameAs !== undefined;
    test = (values, event) => {
      const others = new Set(other(event).map((v) => fold(asText(v))));
      // notSameAs needs both sides present: a missing field is "unknown", not "different".
      if (!same && (others.size === 0 || values.length === 0)) return false;
      const hit = values.some((v) => others.has(fold(asText(v))));
      return same ? hit : !hit;
    };
  }
  return {
    kind: 'test',
    field: t.field,
    test,
    ...(exact ? { exact } : {}),
    ...(other !== undefined ? { reads: [other] } : {}),
    describe: describeFieldTest(t),
  };
}

/** `pred` with its last input and answer remembered (pred must depend on its input alone). */
export function remembered(pred: (s: string) => boolean): (s: string) => boolean {
  let lastIn: string | undefined;
  let lastOut = false;
  return (s) => {
    if (s !== lastIn) {
      lastOut = pred(s);
      lastIn = s;
    }
    return lastOut;
  };
}

function listNode(field: string, name: string, ctx: CompileContext, negated: boolean): CondNode {
  const list: CompiledList | undefined = ctx.lists?.get(name);
  if (!list) {
    const known = [...(ctx.lists?.keys() ?? [])];
    throw new UnknownListError(
      `unknown org-context list '${name}' (rules/context/ defines ${known.length ? known.join(', ') : 'none'})`,
    );
  }
  const has = list.has;
  const values = list.entries.map((e) => e.value);
  const inside = (vs: unknown[], time: number) => {
    for (const v of vs) if (typeof v === 'string' && has(v, time)) return true;
    return false;
  };
  const empty = values.length === 0;
  return {
    kind: 'list',
    field,
    list: name,
    match: list.kind,
    values,
    entries: list.entries.map((e) => ({ value: e.value, expiresMs: e.expiresMs })),
    ...(negated ? { negated: true } : {}),
    test: negated
      ? (vs, event) => !empty && vs.length > 0 && !inside(vs, event.time)
      : (vs, event) => inside(vs, event.time),
  };
}

/** The field test as an event filter: exact for the text operators, wider (the field is reached) for the rest. */
function describeFieldTest(t: FieldTest): FilterDescription {
  const opts = { ignoreCase: t.ignoreCase === true };
  const texts = (v: unknown) => [v].flat().map((x) => String(x));
  if (t.equals !== undefined || t.in !== undefined)
    return { filter: fieldFilter(t.field, 'equals', texts(t.equals ?? t.in), opts), exact: true };
  for (const op of ['contains', 'startsWith', 'endsWith'] as const) {
    if (t[op] !== undefined) return { filter: fieldFilter(t.field, op, texts(t[op]), opts), exact: true };
  }
  if (t.regex !== undefined)
    return { filter: fieldFilter(t.field, 'regex', [t.regex as string], opts), exact: true };
  if (t.exists !== undefined) {
    const present = fieldFilter(t.field, 'exists', [], { nonEmpty: true });
    return { filter: t.exists ? present : notFilter(present), exact: true };
  }
  const present = fieldFilter(t.field, 'exists', []);
  // An account other than the event's own: not where the value names the event's own account (most service calls).
  const own = (fields: string[]): EventFilter =>
    andFilter([present, notFilter({ kind: 'sameAccount', field: t.field, as: fields })]);
  if (t.unknownAccount !== undefined)
    return { filter: own(['recipientAccountId', 'userIdentity.accountId']), exact: false };
  if (t.otherAccountThan !== undefined) return { filter: own([t.otherAccountThan as string]), exact: false };
  // cidr, gt/lt and the other cross-field operators only hold for a value that is there.
  return { filter: present, exact: false };
}

export function toPredicate(node: CondNode): Predicate {
  switch (node.kind) {
    case 'const':
      return () => node.value;
    case 'all': {
      const parts = node.children.map(toPredicate);
      return (e) => {
        for (const p of parts) if (!p(e)) return false;
        return true;
      };
    }
    case 'any': {
      const parts = node.children.map(toPredicate);
      return (e) => {
        for (const p of parts) if (p(e)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = toPredicate(node.child);
      return (e) => !inner(e);
    }
    case 'test':
    case 'list': {
      const get = eventFieldGetter(node.field);
      const test = node.test;
      return (e) => test(get(e), e);
    }
  }
}

/** Every field path the node reads, in tree order (repeats kept). */
export function fieldsRead(node: CondNode, out: string[] = []): string[] {
  switch (node.kind) {
    case 'all':
    case 'any':
      for (const c of node.children) fieldsRead(c, out);
      break;
    case 'not':
      fieldsRead(node.child, out);
      break;
    case 'test':
      out.push(node.field, ...(node.reads ?? []));
      break;
    case 'list':
      out.push(node.field);
      break;
  }
  return out;
}

/** A path into `event.enrichment` (filled in when a session closes), not into the record. */
export function isEnrichmentPath(path: string): boolean {
  return /^enrichment(?:$|[.[])/.test(path);
}

/** The eventSources (lower case) an event must have for the node to hold, or undefined when any could. */
export function requiredEventSources(node: CondNode): Set<string> | undefined {
  return requiredValues(node, 'eventSource');
}

/**
 * The eventNames (lower case) an event must have for the node to hold, or undefined when any name could.
 * Used to index rules so each event is only checked against rules that can match it.
 */
export function requiredEventNames(node: CondNode): Set<string> | undefined {
  return requiredValues(node, 'eventName');
}

function requiredValues(node: CondNode, field: string): Set<string> | undefined {
  switch (node.kind) {
    case 'test':
      return node.field === field && node.exact ? new Set(node.exact.map((s) => s.toLowerCase())) : undefined;
    case 'all': {
      let best: Set<string> | undefined;
      for (const c of node.children) {
        const s = requiredValues(c, field);
        if (s && (!best || s.size < best.size)) best = s;
      }
      return best;
    }
    case 'any': {
      const union = new Set<string>();
      for (const c of node.children) {
        const s = requiredValues(c, field);
        if (!s) return undefined;
        for (const n of s) union.add(n);
      }
      return union;
    }
    case 'const':
      return node.value ? undefined : new Set();
    default:
      return undefined;
  }
}
