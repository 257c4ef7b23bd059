/**
 * Generates large, realistic CloudTrail inputs for the benchmarks from the real records the
 * project bundles: the Invictus data set (full-field records: attacks, Terraform, console users)
 * and Cloud Console Cartographer's recorded console sessions (console noise).
 *
 * Each template session is replayed many times with a fresh access key, principal, source IP,
 * event IDs and a shifted clock, and written as CloudTrail S3 delivery files in the
 * `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/` layout, in time order batch by batch,
 * the way a trail bucket looks. Deterministic: the same size gives the same bytes.
 */

import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;

export interface TemplateSession {
  name: string;
  records: Json[];
  /** Milliseconds from the session's first event, per record. */
  offsets: number[];
}

const ACCOUNT = '111122223333';
const BATCH_SESSIONS = 40;
const RECORDS_PER_FILE = 500;
const FILE_SPAN_MS = 5 * 60_000;

/** Mulberry32: small, fast, seeded PRNG so inputs are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function toSession(name: string, records: Json[]): TemplateSession {
  const sorted = [...records].sort(
    (a, b) => Date.parse(String(a.eventTime)) - Date.parse(String(b.eventTime)),
  );
  const t0 = Date.parse(String(sorted[0]?.eventTime));
  return { name, records: sorted, offsets: sorted.map((r) => Date.parse(String(r.eventTime)) - t0) };
}

/** Loads the template sessions: Invictus grouped by credential, Cartographer sessions as console sessions. */
export function loadTemplates(root: string): TemplateSession[] {
  const templates: TemplateSession[] = [];
  const invictusDir = join(root, 'demo/invictus');
  const byKey = new Map<string, Json[]>();
  for (const file of readdirSync(invictusDir).filter((f) => f.endsWith('.json'))) {
    const doc = readJson(join(invictusDir, file)) as { Records?: Json[] };
    for (const r of doc.Records ?? []) {
      const id = (r.userIdentity ?? {}) as Json;
      const key = String(id.accessKeyId ?? id.arn ?? id.invokedBy ?? 'none');
      const list = byKey.get(key) ?? [];
      list.push(r);
      byKey.set(key, list);
    }
  }
  for (const [key, records] of byKey) templates.push(toSession(`invictus:${key}`, records));

  const sessionsDir = join(root, 'test/fixtures/cartographer/Tests/Sessions');
  if (existsSync(sessionsDir)) {
    for (const dir of readdirSync(sessionsDir)) {
      const records = readJson(join(sessionsDir, dir, 'InputEvents.json')) as Json[];
      const signIn = Math.min(...records.map((r) => Date.parse(String(r.eventTime))));
      const created = new Date(signIn).toISOString().replace(/\.\d{3}Z$/, 'Z');
      templates.push(
        toSession(
          `console:${dir.slice(0, 8)}`,
          records.map((r) => asConsoleRecord(r, created)),
        ),
      );
    }
  }
  return templates;
}

/**
 * Cartographer's minimized records have no identity; give them a console user's, as CloudTrail would:
 * every call of one console sign-in carries that sign-in's time as `creationDate`.
 */
function asConsoleRecord(r: Json, creationDate: string): Json {
  // The minimized export writes absent fields as null (`"errorCode": null`); CloudTrail leaves them out,
  // except the request and response bodies, which it does write as null.
  const present = Object.fromEntries(
    Object.entries(r).filter(([k, v]) => v !== null || k === 'requestParameters' || k === 'responseElements'),
  );
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDATEMPLATE',
      arn: `arn:aws:iam::${ACCOUNT}:user/template`,
      accountId: ACCOUNT,
      accessKeyId: 'ASIATEMPLATE',
      userName: 'template',
      sessionContext: { attributes: { creationDate, mfaAuthenticated: 'true' } },
    },
    ...present,
    sourceIPAddress: 'AWS Internal',
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
    sessionCredentialFromConsole: 'true',
  };
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function randomKey(prefix: string, rand: () => number): string {
  let s = prefix;
  for (let i = 0; i < 16; i++) s += KEY_ALPHABET[Math.floor(rand() * KEY_ALPHABET.length)];
  return s;
}

export function uuid(rand: () => number): string {
  const h = () =>
    Math.floor(rand() * 0x10000)
      .toString(16)
      .padStart(4, '0');
  return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
}

export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Services that log to us-east-1 whatever region the caller works in (IAM, STS's global endpoint,
 * sign-in, Organizations…): these stay put when a session is moved to another region.
 */
const GLOBAL_SOURCES = new Set([
  'iam.amazonaws.com',
  'sts.amazonaws.com',
  'signin.amazonaws.com',
  'organizations.amazonaws.com',
  'health.amazonaws.com',
  'cloudfront.amazonaws.com',
  'route53.amazonaws.com',
  'support.amazonaws.com',
  'account.amazonaws.com',
  'billingconsole.amazonaws.com',
]);
const HOME_REGIONS = ['us-east-1', 'us-east-1', 'us-east-1', 'eu-west-1', 'us-west-2', 'ap-southeast-2'];
const SWEEP_REGIONS = ['us-east-1', 'eu-west-1', 'eu-central-1', 'ap-northeast-1'];

/**
 * Where one replay of a recorded API session runs: its home region for regional calls, and for some
 * sessions a reconnaissance sweep that spreads read-only regional calls over four regions (what
 * enumeration tools do). Console templates keep the regions they were recorded in: they are real.
 */
export interface Placement {
  home: string;
  sweep: boolean;
}

function regionFor(record: Json, placement: Placement, index: number): unknown {
  const source = String(record.eventSource ?? '');
  if (record.awsRegion !== 'us-east-1' || GLOBAL_SOURCES.has(source)) return record.awsRegion;
  if (placement.sweep && /^(Describe|List|Get)/.test(String(record.eventName ?? ''))) {
    return SWEEP_REGIONS[index % SWEEP_REGIONS.length];
  }
  return placement.home;
}

interface Identity {
  key: string;
  user: string;
  ip: string;
}

/** A copy of a template record as one replay of its session, `shift` ms later than recorded. */
export function replay(
  record: Json,
  at: number,
  shift: number,
  identity: Identity,
  placement: Placement | undefined,
  index: number,
  rand: () => number,
): Json {
  const r: Json = { ...record, eventTime: isoSeconds(at), eventID: uuid(rand) };
  if (placement) r.awsRegion = regionFor(record, placement, index);
  const id = record.userIdentity as Json | undefined;
  if (id && (id.accessKeyId || id.userName)) {
    const key = String(id.accessKeyId ?? '');
    const replayed: Json = {
      ...id,
      accessKeyId: key ? `${key.slice(0, 4)}${identity.key.slice(4)}` : undefined,
      userName: id.userName ? identity.user : undefined,
      arn: typeof id.arn === 'string' ? id.arn.replace(/[^/]+$/, identity.user) : id.arn,
    };
    // The session's sign-in time moves with its events, so each replay is a session of its own.
    const context = id.sessionContext as Json | undefined;
    const attributes = context?.attributes as Json | undefined;
    if (context && typeof attributes?.creationDate === 'string') {
      const created = Date.parse(attributes.creationDate);
      replayed.sessionContext = {
        ...context,
        attributes: { ...attributes, creationDate: isoSeconds(created + shift) },
      };
    }
    r.userIdentity = replayed;
  }
  if (typeof record.sourceIPAddress === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(record.sourceIPAddress)) {
    r.sourceIPAddress = identity.ip;
  }
  return r;
}

export interface GenerateOptions {
  seed?: number;
  /**
   * Also write one long console session of this many events (console templates chained under one
   * sign-in, pauses capped at 5 minutes so it stays one session), starting with the first batch.
   */
  longSession?: number;
}

export interface GenerateResult {
  dir: string;
  records: number;
  files: number;
  bytes: number;
  /** Records per region. */
  regions: Record<string, number>;
  /** The long session, if asked for: its session key (principal@sign-in time), user and access keys. */
  longSession?: { sessionKey: string; user: string; events: number; accessKeyIds: string[] };
  /** The first 100 user names given to replayed sessions (for lookups by user). */
  users: string[];
}

interface Timed {
  at: number;
  record: Json;
}

/** Writes about `count` records under `dir` (replacing it), plus the long session if asked for. */
export async function generate(
  root: string,
  dir: string,
  count: number,
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  const templates = loadTemplates(root);
  if (templates.length === 0)
    throw new Error('no template sessions found (demo/invictus, test/fixtures/cartographer)');
  rmSync(dir, { recursive: true, force: true });
  const rand = prng(options.seed ?? 7);
  const result: GenerateResult = { dir, records: 0, files: 0, bytes: 0, regions: {}, users: [] };
  let clock = Date.parse('2026-01-05T00:00:00Z');
  let sessionNo = 0;
  let long: Timed[] = [];
  if (options.longSession) {
    long = longSession(templates, clock, options.longSession, rand);
    const keys = new Set(long.map((t) => String((t.record.userIdentity as Json).accessKeyId)));
    result.longSession = {
      sessionKey: `arn:aws:iam::${ACCOUNT}:user/${LONG_SESSION_USER}@${isoSeconds(clock)}`,
      user: LONG_SESSION_USER,
      events: long.length,
      accessKeyIds: [...keys],
    };
  }
  const target = count + long.length;

  while (result.records < target) {
    // One batch: sessions that overlap in time, sorted together, then the clock moves past them.
    const batch: Timed[] = long;
    long = [];
    let batchEnd = batch.reduce((m, t) => Math.max(m, t.at), clock);
    const wanted = () => result.records + batch.length < target;
    for (let s = 0; s < BATCH_SESSIONS && wanted(); s++) {
      const t = templates[Math.floor(rand() * templates.length)]!;
      const start = clock + Math.floor(rand() * 20 * 60_000);
      const shift = start - Date.parse(String(t.records[0]!.eventTime));
      sessionNo++;
      const identity = {
        key: randomKey('ASIA', rand),
        user: `user${sessionNo % 5000}`,
        ip: `198.51.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
      };
      if (result.users.length < 100 && !result.users.includes(identity.user))
        result.users.push(identity.user);
      const placement = t.name.startsWith('console:')
        ? undefined
        : { home: HOME_REGIONS[Math.floor(rand() * HOME_REGIONS.length)]!, sweep: rand() < 0.2 };
      for (let i = 0; i < t.records.length && wanted(); i++) {
        const at = start + t.offsets[i]!;
        batch.push({ at, record: replay(t.records[i]!, at, shift, identity, placement, i, rand) });
        if (at > batchEnd) batchEnd = at;
      }
    }
    await writeBatch(dir, batch, result);
    // Leave more than any idle gap between batches, as a new working day would.
    clock = batchEnd + 2 * 3600_000;
  }
  return result;
}

const LONG_SESSION_USER = 'oncall-admin';
const MAX_PAUSE_MS = 5 * 60_000;

/** One console sign-in doing `events` calls: console templates replayed back to back. */
function longSession(
  templates: TemplateSession[],
  start: number,
  events: number,
  rand: () => number,
): Timed[] {
  const consoles = templates.filter((t) => t.name.startsWith('console:'));
  const out: Timed[] = [];
  const identity = { key: randomKey('ASIA', rand), user: LONG_SESSION_USER, ip: '203.0.113.7' };
  let at = start;
  for (let n = 0; out.length < events; n++) {
    const t = consoles[n % consoles.length]!;
    const shift = start - Date.parse(String(t.records[0]!.eventTime));
    for (let i = 0; i < t.records.length && out.length < events; i++) {
      const pause = i === 0 ? 30_000 : t.offsets[i]! - t.offsets[i - 1]!;
      at += Math.min(pause, MAX_PAUSE_MS);
      // `shift` puts every template's sign-in at `start`: the whole chain is one console session.
      out.push({ at, record: replay(t.records[i]!, at, shift, identity, undefined, i, rand) });
    }
  }
  return out;
}

/**
 * One programmatic session of `events` records (the recorded API sessions, attacks included, chained
 * under one long-term access key), spread evenly over `regions`, for the API-source benchmarks.
 */
export function apiSession(
  root: string,
  events: number,
  regions: readonly string[],
  seed = 11,
): { accessKeyId: string; records: Json[] } {
  const rand = prng(seed);
  const apis = loadTemplates(root).filter(
    (t) => !t.name.startsWith('console:') && (t.records[0]?.userIdentity as Json | undefined)?.accessKeyId,
  );
  const identity = { key: randomKey('AKIA', rand), user: 'ci-deployer', ip: '198.51.100.23' };
  const records: Json[] = [];
  let at = Date.now() - 6 * 3600_000;
  for (let n = 0; records.length < events; n++) {
    const t = apis[n % apis.length]!;
    const shift = at - Date.parse(String(t.records[0]!.eventTime));
    for (let i = 0; i < t.records.length && records.length < events; i++) {
      const pause = i === 0 ? 30_000 : t.offsets[i]! - t.offsets[i - 1]!;
      at += Math.min(pause, MAX_PAUSE_MS);
      const r = replay(t.records[i]!, at, shift, identity, undefined, i, rand);
      const id = r.userIdentity as Json;
      // One credential for the whole session, whatever key the recorded session used.
      r.userIdentity = { ...id, accessKeyId: identity.key };
      r.awsRegion = regions[records.length % regions.length];
      records.push(r);
    }
  }
  return { accessKeyId: identity.key, records };
}

/** Writes one batch as delivery files: per region (as trails deliver), time order, ≤ 500 records and ≤ 5 min a file. */
async function writeBatch(dir: string, batch: Timed[], result: GenerateResult): Promise<void> {
  batch.sort((a, b) => a.at - b.at);
  const byRegion = new Map<string, Timed[]>();
  for (const t of batch) {
    const region = String(t.record.awsRegion ?? 'us-east-1');
    const list = byRegion.get(region);
    if (list) list.push(t);
    else byRegion.set(region, [t]);
  }
  for (const [region, list] of [...byRegion].sort(([a], [b]) => a.localeCompare(b))) {
    result.regions[region] = (result.regions[region] ?? 0) + list.length;
    // CloudTrail delivers a region's events about every 5 minutes: a file never spans more.
    for (let i = 0; i < list.length; ) {
      const first = list[i]!.at;
      let end = i + 1;
      while (end < list.length && end - i < RECORDS_PER_FILE && list[end]!.at - first < FILE_SPAN_MS) end++;
      const chunk = list.slice(i, end);
      i = end;
      result.bytes += await writeDeliveryFile(
        dir,
        region,
        first,
        result.files,
        chunk.map((c) => c.record),
      );
      result.files++;
    }
  }
  result.records += batch.length;
}

export async function writeDeliveryFile(
  dir: string,
  region: string,
  at: number,
  n: number,
  records: Json[],
  account = ACCOUNT,
): Promise<number> {
  const d = new Date(at);
  const ymd = [d.getUTCFullYear(), pad(d.getUTCMonth() + 1), pad(d.getUTCDate())];
  const folder = join(dir, 'AWSLogs', account, 'CloudTrail', region, ...ymd.map(String));
  mkdirSync(folder, { recursive: true });
  const stamp = `${ymd.join('')}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
  const path = join(folder, `${account}_CloudTrail_${region}_${stamp}_${String(n).padStart(8, '0')}.json`);
  const out = createWriteStream(path);
  let size = 0;
  const write = (s: string) => {
    size += Buffer.byteLength(s);
    return out.write(s);
  };
  write('{"Records":[');
  for (let i = 0; i < records.length; i++) {
    if (!write((i ? ',' : '') + JSON.stringify(records[i]))) await once(out, 'drain');
  }
  write(']}');
  out.end();
  await once(out, 'finish');
  return size;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
