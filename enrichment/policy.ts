/**
 * Policy analysis for IAM and resource-policy changes: parses the policy document the event carries
 * (URL-encoded JSON string, plain JSON string or object) and says what it grants that matters:
 * full admin, privilege-escalation actions, a public principal, principals of other accounts,
 * naming the statement (Sid or position) behind each flag. Managed-policy attachments are judged by ARN.
 */
import type { PolicyAnalysis } from '../engine/model.ts';
import type { CloudTrailRecord } from '../engine/record.ts';

/** requestParameters fields that hold a policy document, by service conventions. */
export const POLICY_FIELDS = [
  'policyDocument',
  'assumeRolePolicyDocument',
  'bucketPolicy',
  'policy',
  'resourcePolicy',
  'policyText',
  'Policy',
];

export const ATTACH_EVENTS = new Set(['AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy']);
/** AWS-managed policies that grant everything, or everything in IAM (which is the same thing one step later). */
const ADMIN_MANAGED_POLICIES = new Set([
  'arn:aws:iam::aws:policy/AdministratorAccess',
  'arn:aws:iam::aws:policy/IAMFullAccess',
  'arn:aws:iam::aws:policy/PowerUserAccess',
]);
const FULL_ADMIN_POLICY = 'arn:aws:iam::aws:policy/AdministratorAccess';

/**
 * Condition keys that pin a public principal down to known callers. Not `sts:ExternalId`: it is a value the
 * trusted party chooses and shares, not an identity, so `Principal: "*"` with only an external id lets any AWS
 * account that learns it assume the role (AWS documents it against the confused deputy, not as access control).
 */
const RESTRICTING_CONDITION_KEYS = [
  'aws:sourcearn',
  'aws:sourceaccount',
  'aws:sourceowner',
  'aws:principalorgid',
  'aws:principalorgpaths',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:sourcevpce',
  'aws:sourcevpc',
  'aws:sourceip',
  'aws:userid',
  'aws:username',
  'kms:calleraccount',
  'kms:viaservice',
  'lambda:functionurlauthtype',
];

const MAX_LISTED_ACTIONS = 25;

type Json = unknown;

/** Best-effort decode of a policy value; undefined when it is no policy. Never throws. */
export function parsePolicyDocument(value: unknown): Record<string, Json> | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, Json>;
  if (typeof value !== 'string' || value.length === 0) return undefined;
  const attempts = [value];
  if (value.includes('%')) {
    try {
      attempts.push(decodeURIComponent(value.replace(/\+/g, '%20')));
    } catch {
      // Not valid percent-encoding: keep the raw attempt only.
    }
  }
  for (const text of attempts) {
    try {
      const parsed = JSON.parse(text) as Json;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
        return parsed as Record<string, Json>;
    } catch {
      // try the next form
    }
  }
  return undefined;
}

const asList = (v: Json): Json[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
const strings = (v: Json): string[] => asList(v).filter((x): x is string => typeof x === 'string');

const matcherCache = new Map<string, (action: string) => boolean>();

/** IAM action pattern (`iam:Pass*`, `s3:Get?bject`) → predicate on lower-case actions; compiled once per pattern. */
function actionMatcher(pattern: string): (action: string) => boolean {
  const p = pattern.toLowerCase();
  let m = matcherCache.get(p);
  if (!m) {
    if (!p.includes('*') && !p.includes('?')) {
      m = (a) => a === p;
    } else {
      const escaped = p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.');
      const re = new RegExp(`^${escaped}$`);
      m = (a) => re.test(a);
    }
    if (matcherCache.size < 10_000) matcherCache.set(p, m);
  }
  return m;
}

/**
 * Who a statement admits. "Anyone" also when the AWS principal is an ARN of any account (`arn:aws:iam::*:root`),
 * and for Allow with `NotPrincipal` (everyone except the named ones).
 */
function principalValues(st: Record<string, Json>): { any: boolean; aws: string[] } {
  if (st.NotPrincipal !== undefined) return { any: true, aws: [] };
  const principal = st.Principal;
  if (principal === '*') return { any: true, aws: [] };
  if (!principal || typeof principal !== 'object') return { any: false, aws: [] };
  const aws = strings((principal as Record<string, Json>).AWS);
  const open = (a: string) => a === '*' || /^arn:aws[a-z-]*:(?:iam|sts)::\*:/.test(a);
  return { any: aws.some(open), aws: aws.filter((a) => !open(a)) };
}

function accountOf(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal;
  return /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(principal)?.[1];
}

/**
 * A condition block restricts callers only with a positive operator that must hold: `StringNotEquals` and the like
 * admit everyone else, and `…IfExists` admits every caller whose request lacks the key.
 */
function restrictingOperator(operator: string): boolean {
  const op = operator.toLowerCase();
  return !op.includes('not') && !op.endsWith('ifexists') && op !== 'null';
}

function hasRestrictingCondition(condition: Json): boolean {
  if (!condition || typeof condition !== 'object') return false;
  for (const [operator, block] of Object.entries(condition as Record<string, Json>)) {
    if (!block || typeof block !== 'object' || !restrictingOperator(operator.split(':').pop() ?? ''))
      continue;
    for (const [key, value] of Object.entries(block as Record<string, Json>)) {
      if (RESTRICTING_CONDITION_KEYS.includes(key.toLowerCase()) && !admitsAll(value)) return true;
    }
  }
  return false;
}

/** Values that admit every caller: a bare wildcard, or an address range of length 0 (`0.0.0.0/0`, `::/0`). */
function admitsAll(value: Json): boolean {
  const values = strings(value);
  return values.length > 0 && values.every((v) => v === '*' || /\/0+$/.test(v.trim()));
}

export interface PolicyContext {
  /** Lower-case `service:action` names that are privilege-escalation steps. */
  privilegeEscalationActions: ReadonlySet<string>;
  /** Canonical spelling for display (`iam:PassRole`), when known. */
  canonical?: (lowerAction: string) => string | undefined;
}

export function analyzePolicyDocument(
  doc: Record<string, Json>,
  ownAccount: string | undefined,
  ctx: PolicyContext,
): PolicyAnalysis {
  const result: PolicyAnalysis = {
    fullAdmin: false,
    privilegeEscalationActions: [],
    publicPrincipal: false,
    crossAccountPrincipals: [],
    notes: [],
  };
  const privesc = new Set<string>();
  const crossAccount = new Set<string>();
  asList(doc.Statement).forEach((raw, i) => {
    if (!raw || typeof raw !== 'object') return;
    const st = raw as Record<string, Json>;
    if (st.Effect !== 'Allow') return;
    const label = typeof st.Sid === 'string' && st.Sid ? `statement "${st.Sid}"` : `statement #${i + 1}`;
    const actions = strings(st.Action).map((a) => a.toLowerCase());
    const resources = strings(st.Resource);
    const anyResource = resources.includes('*') || (resources.length === 0 && st.NotResource === undefined);

    if (anyResource && actions.some((a) => a === '*' || a === '*:*')) {
      result.fullAdmin = true;
      result.notes.push(`${label} allows every action on every resource (full admin)`);
    }
    if (st.NotAction !== undefined && anyResource) {
      result.notes.push(
        `${label} allows everything except ${strings(st.NotAction).join(', ')} (Allow with NotAction)`,
      );
      if (!strings(st.NotAction).some((a) => a.toLowerCase().startsWith('iam:') || a === '*'))
        result.fullAdmin = true;
    }
    const matched: string[] = [];
    for (const pattern of actions) {
      const match = actionMatcher(pattern);
      for (const a of ctx.privilegeEscalationActions) {
        if (!privesc.has(a) && match(a)) {
          privesc.add(a);
          matched.push(ctx.canonical?.(a) ?? a);
        }
      }
    }
    if (matched.length > 0) {
      const shown = matched.slice(0, MAX_LISTED_ACTIONS).join(', ');
      const more =
        matched.length > MAX_LISTED_ACTIONS ? ` and ${matched.length - MAX_LISTED_ACTIONS} more` : '';
      result.notes.push(`${label} allows privilege-escalation actions: ${shown}${more}`);
    }

    const principal = principalValues(st);
    if (principal.any) {
      if (hasRestrictingCondition(st.Condition)) {
        result.notes.push(`${label} names a public principal (*) but conditions restrict the callers`);
      } else {
        result.publicPrincipal = true;
        result.notes.push(
          `${label} allows anyone (Principal *, any account or NotPrincipal) without a restricting condition`,
        );
      }
    }
    const foreign = principal.aws.filter((p) => {
      const account = accountOf(p);
      return account !== undefined && account !== ownAccount;
    });
    if (foreign.length > 0) {
      for (const p of foreign) crossAccount.add(p);
      result.notes.push(`${label} allows principals of another account: ${foreign.join(', ')}`);
    }
  });
  result.privilegeEscalationActions = [...privesc].map((a) => ctx.canonical?.(a) ?? a).sort();
  result.crossAccountPrincipals = [...crossAccount].sort();
  return result;
}

/**
 * A policy passed to AssumeRole/GetFederationToken is a session policy: it can only narrow what the issued
 * credentials may do, never grant more, so it raises no flag; what it says is kept as notes.
 */
function asSessionPolicy(a: PolicyAnalysis, eventName: string): PolicyAnalysis {
  return {
    fullAdmin: false,
    privilegeEscalationActions: [],
    publicPrincipal: false,
    crossAccountPrincipals: [],
    notes: [
      `session policy of ${eventName}: it limits the issued credentials and grants nothing by itself`,
      ...a.notes.map((n) => `session policy: ${n}`),
    ],
  };
}

function isEmpty(a: PolicyAnalysis): boolean {
  return (
    !a.fullAdmin &&
    !a.publicPrincipal &&
    a.privilegeEscalationActions.length === 0 &&
    a.crossAccountPrincipals.length === 0 &&
    a.notes.length === 0
  );
}

/** Where this request carries a policy document: the usual fields, SQS attributes, SNS attribute edits. */
function policyCandidates(rp: Record<string, unknown>): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const field of POLICY_FIELDS) if (field in rp) out.push([field, rp[field]]);
  const attributes = rp.attributes;
  if (attributes && typeof attributes === 'object' && 'Policy' in attributes) {
    out.push(['attributes.Policy', (attributes as Record<string, unknown>).Policy]);
  }
  if (rp.attributeName === 'Policy' && 'attributeValue' in rp)
    out.push(['attributeValue', rp.attributeValue]);
  return out;
}

/** Accounts (or `all`) an EC2 snapshot/AMI or RDS snapshot is being shared with. */
function sharedWith(record: CloudTrailRecord): string[] | undefined {
  const rp = record.requestParameters ?? {};
  if (record.eventSource === 'ec2.amazonaws.com') {
    const perm = rp.createVolumePermission ?? rp.launchPermission;
    if (!perm || typeof perm !== 'object') return undefined;
    const add = (perm as Record<string, Json>).add;
    const items = add && typeof add === 'object' ? asList((add as Record<string, Json>).items) : [];
    return items.flatMap((i) => {
      if (!i || typeof i !== 'object') return [];
      const item = i as Record<string, Json>;
      return [item.userId, item.group].filter((v): v is string => typeof v === 'string');
    });
  }
  if (record.eventSource === 'rds.amazonaws.com' && rp.attributeName === 'restore')
    return strings(rp.valuesToAdd);
  return undefined;
}

/** Snapshot and image sharing: the resource-policy change of EC2 and RDS, expressed as attribute edits. */
function analyzeSharing(
  record: CloudTrailRecord,
  ownAccount: string | undefined,
): PolicyAnalysis | undefined {
  const targets = sharedWith(record);
  if (!targets || targets.length === 0) return undefined;
  const isPublic = targets.includes('all');
  const accounts = targets.filter((t) => /^\d{12}$/.test(t) && t !== ownAccount);
  const what = record.eventName.replace(/^Modify/, '').replace(/Attribute$/, '');
  const notes: string[] = [];
  if (isPublic) notes.push(`${what} shared with everyone (group "all")`);
  if (accounts.length > 0) notes.push(`${what} shared with other accounts: ${accounts.join(', ')}`);
  return {
    fullAdmin: false,
    privilegeEscalationActions: [],
    publicPrincipal: isPublic,
    crossAccountPrincipals: accounts,
    notes,
  };
}

/**
 * Policy analysis of an event, or undefined when it carries no policy (most events).
 * Events whose document parses but grants nothing notable get an analysis with all flags off,
 * so "the policy was looked at and is fine" is distinguishable from "no policy here".
 */
export function analyzePolicyEvent(record: CloudTrailRecord, ctx: PolicyContext): PolicyAnalysis | undefined {
  const rp = record.requestParameters;
  // Records that skipped the record check (tests, other tools' logs) may carry a string here.
  if (!rp || typeof rp !== 'object' || Array.isArray(rp)) return undefined;
  return mayCarryPolicy(record, rp) ? analyzePolicyRequest(record, rp, ctx) : undefined;
}

/**
 * Whether analyzePolicyRequest could find anything (true for every request it answers, and some more): the
 * per-event test, small and allocation-free, so the analysis itself stays out of the enricher's hot code.
 */
function mayCarryPolicy(record: CloudTrailRecord, rp: Record<string, unknown>): boolean {
  for (let i = 0; i < POLICY_FIELDS.length; i++) if (POLICY_FIELDS[i]! in rp) return true;
  if (rp.attributes || rp.attributeName !== undefined || ATTACH_EVENTS.has(record.eventName)) return true;
  const source = record.eventSource;
  if (source === 'ec2.amazonaws.com') return rp.createVolumePermission != null || rp.launchPermission != null;
  return source === 'lambda.amazonaws.com';
}

function analyzePolicyRequest(
  record: CloudTrailRecord,
  rp: Record<string, unknown>,
  ctx: PolicyContext,
): PolicyAnalysis | undefined {
  const ownAccount = record.recipientAccountId ?? record.userIdentity?.accountId;

  if (ATTACH_EVENTS.has(record.eventName) && typeof rp.policyArn === 'string') {
    const arn = rp.policyArn;
    const fullAdmin = arn === FULL_ADMIN_POLICY;
    const notes = ADMIN_MANAGED_POLICIES.has(arn)
      ? [`attaches ${arn}${fullAdmin ? ' (full admin)' : ', which lets the holder grant itself anything'}`]
      : [];
    return {
      fullAdmin,
      privilegeEscalationActions: fullAdmin || !ADMIN_MANAGED_POLICIES.has(arn) ? [] : ['iam:*'],
      publicPrincipal: false,
      crossAccountPrincipals: [],
      notes,
    };
  }

  for (const [field, value] of policyCandidates(rp)) {
    const doc = parsePolicyDocument(value);
    if (!doc) {
      if (typeof value === 'string' && value) {
        return {
          fullAdmin: false,
          privilegeEscalationActions: [],
          publicPrincipal: false,
          crossAccountPrincipals: [],
          notes: [`requestParameters.${field} is not a readable policy document`],
        };
      }
      continue;
    }
    if (!('Statement' in doc)) continue;
    const analysis = analyzePolicyDocument(doc, ownAccount, ctx);
    if (record.eventSource.startsWith('sts.')) return asSessionPolicy(analysis, record.eventName);
    if (!isEmpty(analysis)) return analysis;
    analysis.notes = [`policy in requestParameters.${field}: nothing notable`];
    return analysis;
  }

  return analyzeSharing(record, ownAccount) ?? lambdaGrant(record, rp, ownAccount);
}

/** Lambda resource policies arrive as single grants, not documents. */
function lambdaGrant(
  record: CloudTrailRecord,
  rp: Record<string, unknown>,
  ownAccount: string | undefined,
): PolicyAnalysis | undefined {
  if (record.eventSource !== 'lambda.amazonaws.com' || !record.eventName.startsWith('AddPermission'))
    return undefined;
  const principal = typeof rp.principal === 'string' ? rp.principal : undefined;
  if (principal === '*' && !rp.sourceArn && !rp.sourceAccount && !rp.principalOrgID) {
    return {
      fullAdmin: false,
      privilegeEscalationActions: [],
      publicPrincipal: true,
      crossAccountPrincipals: [],
      notes: ['the added permission lets anyone (principal *) invoke the function'],
    };
  }
  const account = principal ? accountOf(principal) : undefined;
  if (principal && account && account !== ownAccount) {
    return {
      fullAdmin: false,
      privilegeEscalationActions: [],
      publicPrincipal: false,
      crossAccountPrincipals: [principal],
      notes: [`the added permission lets account ${account} invoke the function`],
    };
  }
  return undefined;
}
