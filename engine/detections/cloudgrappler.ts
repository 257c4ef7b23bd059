/**
 * CloudGrappler indicators (rules/cloudgrappler/queries.json, unchanged) as rules matched on the field each
 * query is about (rules/cloudgrappler/fields.yaml), not as regexes over the serialized record.
 */
import { z } from 'zod';
import type { EngineEvent, Severity } from '../model.ts';
import type { RuleProblem } from '../rule-yaml.ts';
import type { CompiledRule, Prefilter } from './compiled-rule.ts';
import {
  ConditionSchema,
  type CondNode,
  compileCondition,
  requiredEventNames,
  toPredicate,
} from './condition.ts';
import { field, or } from './event-filter.ts';

export const QueriesSchema = z.array(
  z.looseObject({
    Name: z.string(),
    Query: z.string(),
    Source: z.string(),
    Intel: z.looseObject({ Type: z.string(), Value: z.string() }).optional(),
    Severity: z.string(),
    Description: z.string().optional(),
  }),
);

const techniques = z.array(z.string().regex(/^T\d{4}(\.\d{3})?$/)).default([]);
const severity = z.enum(['info', 'low', 'medium', 'high', 'critical']).optional();
export const FieldMapSchema = z.strictObject({
  groups: z.array(
    z.union([
      z.strictObject({
        match: z.enum(['userAgent', 'eventName', 'principalName', 'accountId', 'arn']),
        techniques,
        severity,
        queries: z.array(z.string().min(1)).min(1),
      }),
      z.strictObject({
        match: z.literal('where'),
        techniques,
        severity,
        queries: z.array(z.strictObject({ query: z.string().min(1), where: ConditionSchema })).min(1),
      }),
    ]),
  ),
});
export type FieldMap = z.infer<typeof FieldMapSchema>;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function lastArnPart(arn: string | undefined): string | undefined {
  return arn ? arn.slice(arn.lastIndexOf('/') + 1) : undefined;
}

// Rules are tried event by event, so the prefilter and every principal-name rule ask about the same event in
// a row: remembering the last one is enough, and unlike a WeakMap entry per event it costs the GC nothing.
let namesEvent: EngineEvent | undefined;
let namesOfEvent: string[] = [];

function principalNames(e: EngineEvent): string[] {
  if (e !== namesEvent) {
    namesOfEvent = computePrincipalNames(e);
    namesEvent = e;
  }
  return namesOfEvent;
}

// The events of a session repeat their caller: the names from userIdentity are kept for the last caller seen
// (shared, never changed by the readers) and copied only when the request names a user, group or role.
let idUserName: unknown;
let idArn: unknown;
let idIssuerName: unknown;
let idNames: string[] = [];

function computePrincipalNames(e: EngineEvent): string[] {
  const id = e.record.userIdentity;
  const userName = id?.userName;
  const arn = id?.arn;
  const issuerName = id?.sessionContext?.sessionIssuer?.userName;
  if (userName !== idUserName || arn !== idArn || issuerName !== idIssuerName) {
    idNames = nonEmptyTexts([userName, lastArnPart(arn), issuerName]);
    idUserName = userName;
    idArn = arn;
    idIssuerName = issuerName;
  }
  const rp = e.record.requestParameters as Record<string, unknown> | null | undefined;
  if (!rp || (!nonEmptyText(rp.userName) && !nonEmptyText(rp.groupName) && !nonEmptyText(rp.roleName)))
    return idNames;
  return [...idNames, ...nonEmptyTexts([rp.userName, rp.groupName, rp.roleName])];
}

function nonEmptyText(x: unknown): x is string {
  return typeof x === 'string' && x.length > 0;
}

function nonEmptyTexts(xs: unknown[]): string[] {
  return xs.filter(nonEmptyText);
}

/** User-agent tokens: what a user-agent query's first token is looked up against. */
const tokenCache = new Map<string, string[]>();
const NO_TOKENS: string[] = [];

let lastAgent: string | undefined;
let lastTokens: string[] = NO_TOKENS;

function userAgentTokens(e: EngineEvent): string[] {
  const ua = e.record.userAgent;
  if (typeof ua !== 'string' || ua === '') return NO_TOKENS;
  // A session's events repeat their user agent: compared with the last one before any hashing.
  if (ua === lastAgent) return lastTokens;
  let tokens = tokenCache.get(ua);
  if (!tokens) {
    tokens = ua.split(/[\s()[\]]+/).filter(Boolean);
    // User agents repeat endlessly; a few thousand distinct ones cover a day.
    if (tokenCache.size > 5000) tokenCache.clear();
    tokenCache.set(ua, tokens);
  }
  lastAgent = ua;
  lastTokens = tokens;
  return tokens;
}

let arnsArn: unknown;
let arnsIssuer: unknown;
let arnsList: string[] = [];

/** The caller's ARN and its issuer's: one shared list while the caller repeats (readers never change it). */
function arnsOf(e: EngineEvent): string[] {
  const id = e.record.userIdentity;
  const arn = id?.arn;
  const issuer = id?.sessionContext?.sessionIssuer?.arn;
  if (arn !== arnsArn || issuer !== arnsIssuer) {
    arnsList = [arn, issuer].filter((a): a is string => typeof a === 'string');
    arnsArn = arn;
    arnsIssuer = issuer;
  }
  return arnsList;
}

/** Indicator kinds whose rules share one lookup per event (see Prefilter). */
function prefilterFor(kind: string, query: string): Prefilter | undefined {
  if (kind === 'principalName')
    return { group: 'cloudgrappler:principalName', keys: principalNames, key: query };
  if (kind === 'userAgent')
    return {
      group: 'cloudgrappler:userAgent',
      keys: userAgentTokens,
      key: query.split(/[\s()[\]]+/).filter(Boolean)[0] ?? query,
    };
  if (kind === 'arn') return { group: 'cloudgrappler:arn', keys: arnsOf, key: query };
  return undefined;
}

/**
 * Is the fifth `:`-separated part of the ARN (its account) `account`? As `arn.split(':')[4] === account`,
 * without the array or a slice per event.
 */
function arnAccountIs(arn: string, account: string): boolean {
  let start = 0;
  for (let i = 0; i < 4; i++) {
    const colon = arn.indexOf(':', start);
    if (colon < 0) return false;
    start = colon + 1;
  }
  const end = start + account.length;
  return arn.startsWith(account, start) && (end === arn.length || arn.charCodeAt(end) === 58) /* : */;
}

/** Any string value anywhere inside (keys excluded), without serialising the whole object or a values array. */
function someString(value: unknown, pred: (s: string) => boolean, depth = 0): boolean {
  if (typeof value === 'string') return pred(value);
  if (depth > 20 || value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (someInner(value[i], pred, depth)) return true;
    return false;
  }
  const o = value as Record<string, unknown>;
  for (const k in o) if (Object.hasOwn(o, k) && someInner(o[k], pred, depth)) return true;
  return false;
}

/** someString of a member one level down: strings tested here, numbers and booleans skipped without a call. */
function someInner(v: unknown, pred: (s: string) => boolean, depth: number): boolean {
  if (typeof v === 'string') return pred(v);
  return typeof v === 'object' && v !== null && someString(v, pred, depth + 1);
}

function matcherNode(kind: string, query: string): CondNode {
  switch (kind) {
    case 'userAgent': {
      // A token of the user agent, not any substring: "axios/1.6.1" must not match "axios/1.6.10".
      const re = new RegExp(`(^|[\\s(\\[])${escapeRegExp(query)}($|[\\s)\\]])`);
      return {
        kind: 'test',
        field: 'userAgent',
        test: (vs) => vs.some((v) => typeof v === 'string' && re.test(v)),
        describe: { filter: field('userAgent', 'regex', [re.source]), exact: true },
      };
    }
    case 'eventName':
      return {
        kind: 'test',
        field: 'eventName',
        test: (vs) => vs.includes(query),
        exact: [query],
        describe: { filter: field('eventName', 'equals', [query]), exact: true },
      };
    case 'principalName':
      return {
        kind: 'test',
        field: '',
        test: (_vs, e) => principalNames(e).includes(query),
        describe: { filter: principalNameFilter(query), exact: false },
      };
    case 'arn':
      return {
        kind: 'test',
        field: '',
        test: (_vs, e) =>
          e.record.userIdentity?.arn === query ||
          e.record.userIdentity?.sessionContext?.sessionIssuer?.arn === query,
        describe: {
          filter: or([
            field('userIdentity.arn', 'equals', [query]),
            field('userIdentity.sessionContext.sessionIssuer.arn', 'equals', [query]),
          ]),
          exact: false,
        },
      };
    default: {
      const bounded = new RegExp(`(^|\\D)${escapeRegExp(query)}(\\D|$)`);
      const mentions = (v: string) => v.includes(query) && bounded.test(v);
      return {
        kind: 'test',
        field: '',
        test: (_vs, e) => {
          const id = e.record.userIdentity;
          if (id?.accountId === query || e.record.recipientAccountId === query) return true;
          if (id?.arn && arnAccountIs(id.arn, query)) return true;
          const rp = e.record.requestParameters;
          return rp ? someString(rp, mentions) : false;
        },
        describe: {
          filter: or([
            field('userIdentity.accountId', 'equals', [query]),
            field('recipientAccountId', 'equals', [query]),
            field('userIdentity.arn', 'contains', [query]),
            field('requestParameters', 'contains', [query]),
          ]),
          exact: false,
        },
      };
    }
  }
}

/** Wider than principalNames(e).includes(query): the same fields, arrays walked. */
function principalNameFilter(query: string) {
  return or([
    field('userIdentity.userName', 'equals', [query]),
    field('userIdentity.arn', 'endsWith', [`/${query}`]),
    field('userIdentity.arn', 'equals', [query]),
    field('userIdentity.sessionContext.sessionIssuer.userName', 'equals', [query]),
    ...['userName', 'groupName', 'roleName'].map((k) => field(`requestParameters.${k}`, 'equals', [query])),
  ]);
}

const SEVERITY: Record<string, Severity> = {
  HIGH: 'high',
  MEDIUM: 'medium',
  LOW: 'low',
  CRITICAL: 'critical',
};

export function compileCloudGrappler(
  queriesText: string,
  fieldMap: FieldMap,
  tacticsOf: (techniques: string[]) => string[],
  file: string,
): { rules: CompiledRule[]; problems: RuleProblem[] } {
  const problems: RuleProblem[] = [];
  const queries = QueriesSchema.parse(JSON.parse(queriesText)).filter(
    (q) => q.Source === 'AWS' || q.Source === '*',
  );
  const mapped = new Map<
    string,
    { kind: string; node: CondNode; techniques: string[]; severity?: Severity }
  >();
  for (const g of fieldMap.groups) {
    for (const q of g.queries) {
      const query = typeof q === 'string' ? q : q.query;
      const node = typeof q === 'string' ? matcherNode(g.match, q) : compileCondition(q.where);
      mapped.set(query, {
        kind: g.match,
        node,
        techniques: g.techniques,
        ...(g.severity ? { severity: g.severity } : {}),
      });
    }
  }
  // Several entries can share one query (e.g. one user agent in three campaigns): one rule, all intel named.
  const byQuery = new Map<string, typeof queries>();
  for (const q of queries) {
    const list = byQuery.get(q.Query) ?? [];
    list.push(q);
    byQuery.set(q.Query, list);
  }
  const rules: CompiledRule[] = [];
  for (const [query, entries] of byQuery) {
    const m = mapped.get(query);
    if (!m) {
      problems.push({
        file,
        line: 1,
        message: `CloudGrappler query '${query}' (${entries[0]!.Name}) has no field mapping in fields.yaml; not loaded`,
      });
      continue;
    }
    const first = entries[0]!;
    const intel = [
      ...new Set(entries.map((e) => (e.Intel ? `${e.Intel.Type}: ${e.Intel.Value}` : '')).filter(Boolean)),
    ];
    const severity = m.severity ?? SEVERITY[first.Severity.toUpperCase()] ?? 'medium';
    const names = requiredEventNames(m.node);
    rules.push({
      id: `cloudgrappler:${query}`,
      title: `CloudGrappler indicator: ${first.Name} (${query})`,
      description: `${first.Description ?? first.Name}${intel.length ? ` Intel: ${intel.join('; ')}.` : ''}`,
      severity,
      severityOnError: 'info',
      techniques: m.techniques,
      tactics: tacticsOf(m.techniques),
      show:
        m.kind === 'userAgent'
          ? ['userAgent', 'eventName']
          : m.kind === 'eventName'
            ? ['eventName', 'userAgent']
            : ['userIdentity.arn', 'eventName', 'requestParameters'],
      source: 'cloudgrappler',
      provenance: 'cloudgrappler',
      where: file,
      author: 'Permiso Security (CloudGrappler)',
      license: 'Apache-2.0',
      references: ['https://github.com/Permiso-io-tools/CloudGrappler'],
      kind: 'event',
      condition: m.node,
      match: toPredicate(m.node),
      ...(names ? { eventNames: names } : {}),
      ...(prefilterFor(m.kind, query) ? { prefilter: prefilterFor(m.kind, query)! } : {}),
    });
  }
  for (const query of mapped.keys()) {
    if (!byQuery.has(query))
      problems.push({
        file,
        line: 1,
        message: `fields.yaml maps '${query}', which is not an AWS query in queries.json`,
      });
  }
  return { rules, problems };
}
