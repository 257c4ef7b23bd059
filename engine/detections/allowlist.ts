/**
 * Allow-lists: tune noise without editing rules. Global lists (rules/detections/allowlist.yaml and the
 * user file named by CARTOGRAPHER_ALLOWLIST), per-rule `allow:` blocks, and scoped entries such as the
 * ones the Slack "Mark benign" button appends (`addAllowlistEntry`).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { z } from 'zod';
import { cidrContains, parseCidr } from '../ip-address.ts';
import type { EngineEvent } from '../model.ts';

const cidrOrIp = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, { message: 'not an IP address or CIDR' });

export const AllowEntrySchema = z.strictObject({
  ruleId: z.string().optional(),
  principal: z.string().optional(),
  ip: cidrOrIp.optional(),
  account: z.string().optional(),
  userAgent: z.string().optional(),
  reason: z.string().min(1),
  by: z.string().optional(),
  at: z.string().optional(),
});
export type AllowEntry = z.infer<typeof AllowEntrySchema>;

export const AllowListSchema = z.strictObject({
  /** ARN or user-name globs (`*` any run, `?` one character), case-insensitive. */
  principals: z.array(z.string().min(1)).default([]),
  ips: z.array(cidrOrIp).default([]),
  accounts: z.array(z.string().regex(/^\d{12}$/, 'an account id has 12 digits')).default([]),
  userAgents: z.array(z.string().min(1)).default([]),
  entries: z.array(AllowEntrySchema).default([]),
  /**
   * The organisation's own AWS accounts. Not silenced: rules that ask whether a trust policy or a shared snapshot
   * reaches an *unknown* account treat these as known.
   */
  knownAccounts: z.array(z.string().regex(/^\d{12}$/, 'an account id has 12 digits')).default([]),
});
export type AllowList = z.infer<typeof AllowListSchema>;

/** A compiled allow-list: `allows(event, ruleId)` says the event must not count for that rule. */
export interface CompiledAllowList {
  allows(event: EngineEvent, ruleId: string): boolean;
  readonly empty: boolean;
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

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

interface Matchers {
  principal?: RegExp[];
  ip?: ReturnType<typeof parseCidr>[];
  account?: Set<string>;
  userAgent?: RegExp[];
}

function matchesAny(m: Matchers, e: EngineEvent): boolean {
  if (m.principal?.length && principalNames(e).some((n) => m.principal!.some((r) => r.test(n)))) return true;
  const ip = e.record.sourceIPAddress;
  if (m.ip?.length && ip && m.ip.some((c) => c && cidrContains(c, ip))) return true;
  const account = accountOf(e);
  if (m.account?.size && account && m.account.has(account)) return true;
  const ua = e.record.userAgent;
  if (m.userAgent?.length && ua && m.userAgent.some((r) => r.test(ua))) return true;
  return false;
}

/** A scoped entry holds only when every field it names matches (AND), unlike the lists (OR). */
function matchesAll(entry: AllowEntry, e: EngineEvent, ruleId: string): boolean {
  if (entry.ruleId && entry.ruleId !== ruleId) return false;
  let named = false;
  if (entry.principal) {
    named = true;
    const r = globToRegExp(entry.principal);
    if (!principalNames(e).some((n) => r.test(n))) return false;
  }
  if (entry.ip) {
    named = true;
    const c = parseCidr(entry.ip);
    if (!c || !e.record.sourceIPAddress || !cidrContains(c, e.record.sourceIPAddress)) return false;
  }
  if (entry.account) {
    named = true;
    if (accountOf(e) !== entry.account) return false;
  }
  if (entry.userAgent) {
    named = true;
    if (!e.record.userAgent || !globToRegExp(entry.userAgent).test(e.record.userAgent)) return false;
  }
  // An entry naming only a rule silences that rule everywhere; one naming nothing silences nothing.
  return named || entry.ruleId !== undefined;
}

export function compileAllowList(...lists: (AllowList | undefined)[]): CompiledAllowList {
  const present = lists.filter((l): l is AllowList => l !== undefined);
  const m: Matchers = {
    principal: present.flatMap((l) => l.principals.map(globToRegExp)),
    ip: present.flatMap((l) => l.ips.map(parseCidr)),
    account: new Set(present.flatMap((l) => l.accounts)),
    userAgent: present.flatMap((l) => l.userAgents.map(globToRegExp)),
  };
  const entries = present.flatMap((l) => l.entries);
  const empty =
    !m.principal?.length && !m.ip?.length && !m.account?.size && !m.userAgent?.length && !entries.length;
  return {
    empty,
    allows: empty
      ? () => false
      : (e, ruleId) => matchesAny(m, e) || entries.some((x) => matchesAll(x, e, ruleId)),
  };
}

/**
 * Appends a scoped entry to a user allow-list file (creating it), e.g. from the Slack "Mark benign" button.
 * The file stays valid YAML that `loadAllowListFile` reads back; existing content is kept as written.
 */
export function addAllowlistEntry(
  file: string,
  entry: {
    ruleId?: string;
    principal?: string;
    ip?: string;
    account?: string;
    userAgent?: string;
    reason: string;
    by: string;
  },
  now: Date = new Date(),
): AllowEntry {
  const full = AllowEntrySchema.parse({ ...entry, at: now.toISOString() });
  if (!full.principal && !full.ip && !full.account && !full.userAgent && !full.ruleId) {
    throw new Error('an allow-list entry needs a rule id, principal, ip, account or user agent');
  }
  const item = stringify([full], { lineWidth: 0 });
  if (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
    writeFileSync(file, `# Cartographer allow-list (entries added by analysts)\nentries:\n${indent(item)}`);
  } else {
    const text = readFileSync(file, 'utf8');
    if (!/^entries:\s*$/m.test(text)) {
      if (/^entries:/m.test(text)) throw new Error(`${file}: 'entries:' must be a block list to append to`);
      appendFileSync(file, `${text.endsWith('\n') ? '' : '\n'}entries:\n${indent(item)}`);
    } else if (isLastTopLevelKey(text, 'entries')) {
      appendFileSync(file, `${text.endsWith('\n') ? '' : '\n'}${indent(item)}`);
    } else {
      throw new Error(`${file}: put 'entries:' last so new entries can be appended`);
    }
  }
  return full;
}

function indent(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => `  ${l}`)
    .join('\n')
    .concat('\n');
}

function isLastTopLevelKey(text: string, key: string): boolean {
  const keys = [...text.matchAll(/^([A-Za-z_][\w-]*):/gm)].map((m) => m[1]);
  return keys[keys.length - 1] === key;
}
