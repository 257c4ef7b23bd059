/**
 * One generated day of an AWS organisation's CloudTrail, written as the trail bucket holds it
 * (`AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/…json`), from the same real records as generate.ts:
 *
 *   - automation (default 85 % of the events): roles that poll configuration all day — the read-only
 *     Describe/List/Get calls of the recorded Invictus sessions (no secret, parameter or key reads), each role a
 *     new assumed-role session every hour from its own address — and AWS services assuming their roles;
 *   - people at work (the rest): the recorded console sessions replayed by different users between 07:00 and 19:00;
 *   - attacks (default 3 %): recorded Invictus sessions (Stratus Red Team techniques, Terraform, two humans), whole,
 *     replayed across the accounts.
 *
 * Most CloudTrail volume in an organisation is machine traffic; the shares are parameters, stated with every figure.
 * Deterministic: the same options give the same bytes.
 */
import { rmSync } from 'node:fs';
import {
  isoSeconds,
  loadTemplates,
  prng,
  randomKey,
  replay,
  type TemplateSession,
  uuid,
  writeDeliveryFile,
} from './generate.ts';

type Json = Record<string, unknown>;

export interface OrgDayOptions {
  /** `YYYY-MM-DD` (UTC day). */
  date: string;
  accounts: string[];
  /** The first one takes the global services (IAM, STS, sign-in) as us-east-1 does. */
  regions: string[];
  events: number;
  /** Share of automation and AWS-service events (default 0.85). */
  automationShare?: number;
  /** Share of the day's events in replayed attack sessions (whole sessions, default 0.03). */
  attackShare?: number;
  seed?: number;
}

export interface OrgDayResult {
  dir: string;
  records: number;
  files: number;
  bytes: number;
  byKind: { automation: number; console: number; attack: number };
}

const AUTOMATION_ROLES = ['inventory-scanner', 'ci-deployer', 'backup-agent', 'monitoring-collector'];
/** Reads of data or secrets, not configuration: not what a poller calls. */
const DATA_READS =
  /^(GetSecretValue|GetParameters?|GetParametersByPath|Decrypt|Encrypt|GenerateDataKey.*|GetObject|GetPasswordData|GetAuthorizationToken|GetSessionToken|GetFederationToken)$/;
const SDK_AGENT = 'Boto3/1.26.165 Python/3.10.6 Linux/5.19.0-46-generic Botocore/1.29.165';

export async function generateOrgDay(root: string, dir: string, o: OrgDayOptions): Promise<OrgDayResult> {
  const rand = prng(o.seed ?? 21);
  const templates = loadTemplates(root);
  const dayStart = Date.parse(`${o.date}T00:00:00Z`);
  const dayEnd = dayStart + 86_400_000 - 1000;
  const attacks = templates.filter((t) => t.name.startsWith('invictus:'));
  const consoles = templates.filter((t) => t.name.startsWith('console:'));
  const out: { at: number; record: Json; kind: keyof OrgDayResult['byKind'] }[] = [];
  const counts = { automation: 0, console: 0, attack: 0 };
  const push = (at: number, record: Json, kind: keyof OrgDayResult['byKind']) => {
    if (at < dayStart || at > dayEnd) return;
    out.push({ at, record, kind });
    counts[kind]++;
  };
  let n = 0;
  // Attacks first (whole recorded sessions up to their share), then people, then automation fills the rest.
  const attackTarget = Math.round(o.events * (o.attackShare ?? 0.03));
  for (let i = 0; counts.attack < attackTarget && i < 10_000; i++) {
    const t = attacks[Math.floor(rand() * attacks.length)]!;
    if (counts.attack + t.records.length > attackTarget * 1.1 && counts.attack > 0) continue;
    const account = o.accounts[i % o.accounts.length]!;
    const start = dayStart + (2 + rand() * 18) * 3_600_000;
    replaySession(t, start, account, o, rand, ++n, 'attack', push);
  }
  const automationTarget = Math.round(o.events * (o.automationShare ?? 0.85));
  const consoleTarget = o.events - automationTarget - out.length;
  while (counts.console < consoleTarget) {
    const t = consoles[Math.floor(rand() * consoles.length)]!;
    const account = o.accounts[Math.floor(rand() * o.accounts.length)]!;
    const start = dayStart + (7 + rand() * 11) * 3_600_000;
    replaySession(t, start, account, o, rand, ++n, 'console', push);
  }
  automation(templates, o, rand, dayStart, o.events - out.length, push);
  rmSync(dir, { recursive: true, force: true });
  const result: OrgDayResult = {
    dir,
    records: 0,
    files: 0,
    bytes: 0,
    byKind: { automation: 0, console: 0, attack: 0 },
  };
  for (const x of out) result.byKind[x.kind]++;
  await writeDay(dir, out, result);
  return result;
}

type Push = (at: number, record: Json, kind: 'automation' | 'console' | 'attack') => void;

/** One replay of a recorded session in `account`, as a new principal with its own key and address. */
function replaySession(
  t: TemplateSession,
  start: number,
  account: string,
  o: OrgDayOptions,
  rand: () => number,
  n: number,
  kind: 'console' | 'attack',
  push: Push,
): void {
  const shift = start - Date.parse(String(t.records[0]!.eventTime));
  const identity = {
    key: randomKey('ASIA', rand),
    user: `${kind === 'console' ? 'user' : 'actor'}${n}`,
    ip: `198.51.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
  };
  const placement = { home: o.regions[Math.floor(rand() * o.regions.length)]!, sweep: rand() < 0.2 };
  for (let i = 0; i < t.records.length; i++) {
    const at = start + t.offsets[i]!;
    const r = replay(t.records[i]!, at, shift, identity, kind === 'attack' ? placement : undefined, i, rand);
    push(at, inAccount(inRegions(r, o.regions), account), kind);
  }
}

/** Configuration polling by automation roles (hourly sessions) and AWS services assuming their roles. */
function automation(
  templates: TemplateSession[],
  o: OrgDayOptions,
  rand: () => number,
  dayStart: number,
  budget: number,
  push: Push,
): void {
  const reads = templates
    .filter((t) => t.name.startsWith('invictus:'))
    .flatMap((t) => t.records)
    .filter((r) => r.readOnly === true && !r.errorCode && /^(Describe|List|Get)/.test(String(r.eventName)))
    .filter(
      (r) =>
        !DATA_READS.test(String(r.eventName)) && (r.userIdentity as Json | undefined)?.type === 'IAMUser',
    );
  const services = templates
    .flatMap((t) => t.records)
    .filter(
      (r) => (r.userIdentity as Json | undefined)?.type === 'AWSService' && r.eventName === 'AssumeRole',
    );
  const streams = o.accounts.flatMap((account) =>
    o.regions.flatMap((region) => AUTOMATION_ROLES.map((role) => ({ account, region, role }))),
  );
  const perStream = Math.max(1, Math.floor(budget / (streams.length + 1)));
  for (const [s, stream] of streams.entries()) {
    const ip = `10.${s % 256}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
    const gap = 86_400_000 / perStream;
    let key = '';
    let hour = -1;
    for (let i = 0; i < perStream; i++) {
      const at = dayStart + Math.floor(i * gap + rand() * gap * 0.5);
      const h = Math.floor((at - dayStart) / 3_600_000);
      if (h !== hour) {
        hour = h;
        key = randomKey('ASIA', rand);
      }
      const template = reads[Math.floor(rand() * reads.length)]!;
      push(at, pollerRecord(template, at, stream, key, dayStart + h * 3_600_000, ip, rand), 'automation');
    }
  }
  const serviceEvents = Math.max(0, budget - perStream * streams.length);
  for (let i = 0; i < serviceEvents && services.length; i++) {
    const at = dayStart + Math.floor(rand() * 86_400_000);
    const t = services[Math.floor(rand() * services.length)]!;
    const account = o.accounts[i % o.accounts.length]!;
    const r: Json = { ...t, eventTime: isoSeconds(at), eventID: uuid(rand), awsRegion: o.regions[0] };
    push(at, inAccount(r, account), 'automation');
  }
}

function pollerRecord(
  t: Json,
  at: number,
  s: { account: string; region: string; role: string },
  key: string,
  created: number,
  ip: string,
  rand: () => number,
): Json {
  const roleArn = `arn:aws:iam::${s.account}:role/${s.role}`;
  const r: Json = {
    ...t,
    eventTime: isoSeconds(at),
    eventID: uuid(rand),
    requestID: uuid(rand),
    sourceIPAddress: ip,
    userAgent: SDK_AGENT,
    awsRegion: isGlobal(t) ? t.awsRegion : s.region,
    userIdentity: {
      type: 'AssumedRole',
      principalId: `AROA${s.role.toUpperCase().replace(/-/g, '')}:${s.role}`,
      arn: `arn:aws:sts::${s.account}:assumed-role/${s.role}/${s.role}`,
      accountId: s.account,
      accessKeyId: key,
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROA',
          arn: roleArn,
          accountId: s.account,
          userName: s.role,
        },
        attributes: { creationDate: isoSeconds(created), mfaAuthenticated: 'false' },
      },
    },
    recipientAccountId: s.account,
  };
  delete r.sessionCredentialFromConsole;
  delete r.tlsDetails;
  return r;
}

function isGlobal(r: Json): boolean {
  return /^(iam|sts|signin|organizations|health|cloudfront|route53|support|account)\./.test(
    String(r.eventSource),
  );
}

/** The template's own account replaced by `account` everywhere in the record (ARNs, ids, resources). */
function inAccount(r: Json, account: string): Json {
  const own = String(r.recipientAccountId ?? (r.userIdentity as Json | undefined)?.accountId ?? '');
  if (!/^\d{12}$/.test(own) || own === account) return { ...r, recipientAccountId: account };
  return { ...(JSON.parse(JSON.stringify(r).replaceAll(own, account)) as Json), recipientAccountId: account };
}

/** Regions outside the day's list become one of them (global services stay in the first). */
function inRegions(r: Json, regions: string[]): Json {
  const region = String(r.awsRegion ?? regions[0]);
  if (regions.includes(region)) return r;
  let h = 0;
  for (const c of region) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return { ...r, awsRegion: isGlobal(r) ? regions[0] : regions[h % regions.length] };
}

async function writeDay(
  dir: string,
  out: { at: number; record: Json }[],
  result: OrgDayResult,
): Promise<void> {
  const byPlace = new Map<string, { at: number; record: Json }[]>();
  for (const x of out) {
    const key = `${x.record.recipientAccountId}/${x.record.awsRegion}`;
    const list = byPlace.get(key) ?? [];
    list.push(x);
    byPlace.set(key, list);
  }
  for (const [place, list] of [...byPlace].sort(([a], [b]) => a.localeCompare(b))) {
    const [account, region] = place.split('/') as [string, string];
    list.sort((a, b) => a.at - b.at);
    for (let i = 0; i < list.length; ) {
      const first = list[i]!.at;
      let end = i + 1;
      while (end < list.length && end - i < 500 && list[end]!.at - first < 5 * 60_000) end++;
      const chunk = list.slice(i, end);
      i = end;
      result.bytes += await writeDeliveryFile(
        dir,
        region,
        first,
        result.files,
        chunk.map((c) => c.record),
        account,
      );
      result.files++;
      result.records += chunk.length;
    }
  }
}
