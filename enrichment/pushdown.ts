/**
 * What the enrichment facts rules test mean in record fields, so a store that filters (Athena) can be asked for the
 * events such a rule can hold for (engine/detections/pushdown.ts). Built from the same tables the enricher uses:
 *
 *   offensiveTool      the user agent matches an offensive-tool pattern (rules/user-agents.yaml `tools`)
 *   sourceKind         aws-internal / aws-service / missing from sourceIPAddress (network.yaml); other kinds: opaque
 *   errorKind          the error codes of that kind (error-codes.yaml), failed console sign-ins for `denied`
 *   lineage            only temporary keys (ASIA…) have one; the tracker must also see the STS issuances, the
 *                      instance-profile sessions and the people working from the same addresses (context events)
 *   policy             only requests with a policy, share or grant key carry one (account ids: their digits)
 *
 * Anything else stays undescribed (opaque): the rule then narrows by its event names only.
 */
import {
  and,
  type ContextEvents,
  type DerivedField,
  type EventFilter,
  type FieldFilter,
  field,
  not,
  or,
  within,
} from '../engine/detections/event-filter.ts';
import type { UserAgentTable, UserAgentTest } from '../engine/user-agent.ts';
import { ATTACH_EVENTS, POLICY_FIELDS } from './policy.ts';
import type { EnrichmentTables } from './tables.ts';

const ISSUING_EVENTS = [
  'AssumeRole',
  'AssumeRoleWithSAML',
  'AssumeRoleWithWebIdentity',
  'GetSessionToken',
  'GetFederationToken',
];

export function createFieldDescriber(
  tables: Pick<EnrichmentTables, 'userAgents' | 'network' | 'errorCodes'>,
): (test: FieldFilter) => DerivedField | undefined {
  const tool = offensiveToolFilters(tables.userAgents.table);
  const kinds = sourceKindFilters(tables.network);
  return (test) => {
    const path = test.field;
    if (path === 'enrichment.offensiveTool') return describeOffensiveTool(test, tool);
    if (path === 'enrichment.sourceKind') return describeKinds(test, kinds);
    if (path === 'enrichment.errorKind') return describeErrorKind(test, tables.errorCodes);
    if (path === 'enrichment.lineage' || path.startsWith('enrichment.lineage.')) return describeLineage(test);
    if (path === 'enrichment.policy.crossAccountPrincipals' && isDigitsTest(test)) {
      // The principals are read from the request (a policy document, a share, a grant), so the account id's digits
      // are in its text; a document that spells digits as JSON escapes (\u0031: 'u003') or URL escapes (%31) is let
      // through too.
      const rp = field('requestParameters', 'contains', [...test.values, 'u003', '%']);
      return { filter: within(rp, 'policy facts are read from the request parameters') };
    }
    if (path === 'enrichment.policy' || path.startsWith('enrichment.policy.')) {
      // enrichment/policy.ts reads a policy from these requests only (analyzePolicyEvent): a document under one of
      // its keys (or SQS attributes.Policy, SNS attributeName Policy), an attached managed policy, an EC2 or RDS
      // share (attributeName restore), a Lambda grant.
      const has = (key: string) => field(`requestParameters.${key}`, 'exists', []);
      const carriers = or([
        and([field('eventName', 'equals', [...ATTACH_EVENTS]), has('policyArn')]),
        ...POLICY_FIELDS.map(has),
        has('attributes.Policy'),
        field('requestParameters.attributeName', 'equals', ['Policy', 'restore']),
        has('createVolumePermission'),
        has('launchPermission'),
        and([field('eventName', 'startsWith', ['AddPermission']), has('principal')]),
      ]);
      // A policy passed to STS is a session policy: every flag stays off (asSessionPolicy).
      const filter = needsFlag(test)
        ? and([carriers, not(field('eventSource', 'startsWith', ['sts.']))])
        : carriers;
      return { filter: within(filter, 'policy facts are read from the request parameters') };
    }
    return undefined;
  };
}

/** A test that can hold only when a policy flag is raised (a list not empty, a boolean true). */
function needsFlag(test: FieldFilter): boolean {
  const name = test.field.slice('enrichment.policy.'.length);
  if (name === 'privilegeEscalationActions' || name === 'crossAccountPrincipals') return true;
  if (name === 'fullAdmin' || name === 'publicPrincipal')
    return test.op === 'equals' && !test.values.includes('false');
  return false;
}

/** A test that a value equals or contains one of some digit strings (account ids). */
function isDigitsTest(test: FieldFilter): boolean {
  return (
    (test.op === 'equals' || test.op === 'contains') &&
    test.values.length > 0 &&
    test.values.every((v) => /^\d+$/.test(v))
  );
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Tool id → the user-agent filter of that tool (rules/user-agents.yaml `tools`). Substring tests are exact; an
 * anchored test (equals, startsWith, endsWith, regex) is described by a wider one, as the classifier first trims
 * one pair of enclosing brackets.
 */
function offensiveToolFilters(table: UserAgentTable): Map<string, EventFilter> {
  const out = new Map<string, EventFilter>();
  for (const tool of table.tools) {
    const tests = Array.isArray(tool.match) ? tool.match : [tool.match];
    out.set(tool.id, or(tests.map(userAgentTestFilter)));
  }
  return out;
}

function userAgentTestFilter(t: UserAgentTest): EventFilter {
  const ignoreCase = { ignoreCase: t.ignoreCase === true };
  const contains = (values: readonly string[]) => field('userAgent', 'contains', values, ignoreCase);
  const all = t.contains === undefined ? [] : Array.isArray(t.contains) ? t.contains : [t.contains];
  const exact: EventFilter[] = [
    ...all.map((c) => contains([c])),
    ...(t.containsAny ? [contains(t.containsAny)] : []),
  ];
  const anchored = [t.equals, t.startsWith, t.endsWith].filter((v): v is string => v !== undefined);
  if (anchored.length === 0 && t.regex === undefined) return and(exact);
  const wider = [...exact, ...anchored.map((v) => contains([v]))];
  if (t.regex !== undefined)
    wider.push(field('userAgent', 'regex', [t.regex.replace(/^\^/, '')], ignoreCase));
  return within(
    and(wider),
    'a user-agent test anchored at the start or end is described by a substring test',
  );
}

function describeOffensiveTool(test: FieldFilter, tools: Map<string, EventFilter>): DerivedField | undefined {
  const any = and([field('userAgent', 'exists', [], { nonEmpty: true }), or([...tools.values()])]);
  if (test.op === 'exists') return { filter: any };
  if (test.op === 'equals' && !test.ignoreCase) {
    // The first matching tool names the event: another tool's pattern may win, so this is only a bound.
    const named = or(test.values.map((id) => tools.get(id) ?? { kind: 'const', value: false }));
    return { filter: within(and([any, named]), 'the first matching tool pattern wins') };
  }
  return { filter: within(any, 'only agents of offensive tools have a tool name') };
}

/** sourceKind values decided by the address text alone (classifier: trim, then internal values, then service). */
function sourceKindFilters(rules: EnrichmentTables['network']): Map<string, EventFilter> {
  const internal = field(
    'sourceIPAddress',
    'regex',
    [`^\\s*(?:${rules.awsInternalValues.map(escapeRegex).join('|')})\\s*$`],
    { ignoreCase: true },
  );
  const pattern = rules.servicePrincipalPattern.replace(/^\^/, '').replace(/\$$/, '');
  const service = field('sourceIPAddress', 'regex', [`^\\s*(?:${pattern})\\s*$`], { ignoreCase: true });
  return new Map<string, EventFilter>([
    ['aws-internal', internal],
    ['aws-service', and([service, not(internal)])],
    ['missing', not(field('sourceIPAddress', 'exists', [], { nonEmpty: true }))],
  ]);
}

function describeKinds(test: FieldFilter, kinds: Map<string, EventFilter>): DerivedField | undefined {
  if (test.op !== 'equals' || test.ignoreCase) return undefined;
  const parts = test.values.map((v) => kinds.get(v));
  if (parts.some((p) => p === undefined)) return undefined;
  return { filter: or(parts as EventFilter[]) };
}

function describeErrorKind(test: FieldFilter, rules: EnrichmentTables['errorCodes']): DerivedField {
  const failed = field('errorCode', 'exists', [], { nonEmpty: true });
  if (test.op !== 'equals' || test.ignoreCase)
    return { filter: within(failed, 'only failed calls have one') };
  const parts = test.values.map((kind): EventFilter => {
    const k = rules.kinds.find((x) => x.kind === kind);
    const codes = k
      ? [
          ...k.exact.map(escapeRegex),
          ...k.prefix.map((p) => `${escapeRegex(p)}.*`),
          ...k.suffix.map((s) => `.*${escapeRegex(s)}`),
        ]
      : [];
    const byCode =
      kind === 'other' || codes.length === 0
        ? failed
        : field('errorCode', 'regex', [`^(?:Client\\.|Server\\.)?(?:${codes.join('|')})$`]);
    // Failed console sign-ins carry no errorCode, only responseElements.ConsoleLogin = "Failure".
    return kind === 'denied'
      ? or([byCode, field('responseElements.ConsoleLogin', 'equals', ['Failure'])])
      : byCode;
  });
  // The first kind whose patterns match wins, so a code may match these patterns and still be another kind.
  return { filter: within(or(parts), 'error kinds are matched in table order') };
}

const INSTANCE_SESSION: EventFilter = or([
  field('userIdentity.sessionContext.ec2RoleDelivery', 'exists', [], { nonEmpty: true }),
  and([
    field('userIdentity.type', 'equals', ['AssumedRole']),
    field('userIdentity.arn', 'regex', ['\\/i-[0-9a-f]{8,17}$']),
  ]),
]);

const BY_SERVICE: EventFilter = or([
  field('userIdentity.type', 'equals', ['AWSService']),
  field('sourceIPAddress', 'endsWith', ['.amazonaws.com']),
]);
const BY_EC2: EventFilter = or([
  field('sourceIPAddress', 'equals', ['ec2.amazonaws.com']),
  field('userIdentity.invokedBy', 'equals', ['ec2.amazonaws.com']),
]);

/**
 * STS issuances the tracker links keys to. Keys an AWS service was issued never count as used elsewhere (the
 * service's addresses are not the holder's), so those issuances matter only for EC2 instance profiles.
 */
const ISSUANCES: EventFilter = and([
  field('eventName', 'equals', ISSUING_EVENTS),
  field('eventSource', 'startsWith', ['sts.']),
  not(field('errorCode', 'exists', [], { nonEmpty: true })),
  or([not(BY_SERVICE), BY_EC2]),
]);

/** What the lineage tracker learns from (enrichment/lineage.ts `observe`). */
export const LINEAGE_CONTEXT: ContextEvents[] = [
  { name: 'STS credential issuances', filter: ISSUANCES },
  { name: 'EC2 instance-profile sessions', filter: INSTANCE_SESSION },
  {
    name: 'people at instance-session addresses',
    filter: and([
      or([
        field('userIdentity.type', 'equals', ['IAMUser', 'Root']),
        field('sessionCredentialFromConsole', 'equals', ['true']),
      ]),
      { kind: 'sameValueAs', field: 'sourceIPAddress', of: INSTANCE_SESSION },
    ]),
  },
];

function describeLineage(test: FieldFilter): DerivedField {
  // A lineage needs a key issued by a call in the read (not to a service), or an instance-profile session.
  const issuedHere: EventFilter = {
    kind: 'sameValueAs',
    field: 'userIdentity.accessKeyId',
    otherField: 'responseElements.credentials.accessKeyId',
    of: ISSUANCES,
  };
  const known = or([issuedHere, INSTANCE_SESSION]);
  const mismatch = test.field === 'enrichment.lineage.originMismatch' && test.op === 'equals';
  const filter =
    mismatch && test.values.length === 1 && test.values[0] === 'true'
      ? and([known, not(field('vpcEndpointId', 'exists', [], { nonEmpty: true }))])
      : known;
  return { filter: within(filter, 'credential lineage is computed across events'), context: LINEAGE_CONTEXT };
}
