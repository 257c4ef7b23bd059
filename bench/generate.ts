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

interface TemplateSession {
  name: string;
  records: Json[];
  /** Milliseconds from the session's first event, per record. */
  offsets: number[];
}

const ACCOUNT = '111122223333';
const BATCH_SESSIONS = 40;
const RECORDS_PER_FILE = 500;

/** Mulberry32: small, fast, seeded PRNG so inputs are reproducible. */
function prng(seed: number): () => number {
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
      templates.push(toSession(`console:${dir.slice(0, 8)}`, records.map(asConsoleRecord)));
    }
  }
  return templates;
}

/** Cartographer's minimized records have no identity; give them a console user's, as CloudTrail would. */
function asConsoleRecord(r: Json): Json {
  return {
    eventVersion: '1.08',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDATEMPLATE',
      arn: `arn:aws:iam::${ACCOUNT}:user/template`,
      accountId: ACCOUNT,
      accessKeyId: 'ASIATEMPLATE',
      userName: 'template',
      sessionContext: { attributes: { creationDate: r.eventTime, mfaAuthenticated: 'true' } },
    },
    ...r,
    sourceIPAddress: 'AWS Internal',
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
    sessionCredentialFromConsole: 'true',
  };
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomKey(prefix: string, rand: () => number): string {
  let s = prefix;
  for (let i = 0; i < 16; i++) s += KEY_ALPHABET[Math.floor(rand() * KEY_ALPHABET.length)];
  return s;
}

function uuid(rand: () => number): string {
  const h = () =>
    Math.floor(rand() * 0x10000)
      .toString(16)
      .padStart(4, '0');
  return `${h()}${h()}-${h()}-4${h().slice(1)}-a${h().slice(1)}-${h()}${h()}${h()}`;
}

/** A copy of a template record as one replay of its session. */
function replay(
  record: Json,
  at: number,
  identity: { key: string; user: string; ip: string },
  rand: () => number,
): Json {
  const r: Json = {
    ...record,
    eventTime: new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventID: uuid(rand),
  };
  const id = record.userIdentity as Json | undefined;
  if (id && (id.accessKeyId || id.userName)) {
    const key = String(id.accessKeyId ?? '');
    r.userIdentity = {
      ...id,
      accessKeyId: key ? `${key.slice(0, 4)}${identity.key.slice(4)}` : undefined,
      userName: id.userName ? identity.user : undefined,
      arn: typeof id.arn === 'string' ? id.arn.replace(/[^/]+$/, identity.user) : id.arn,
    };
  }
  if (typeof record.sourceIPAddress === 'string' && /^\d+\.\d+\.\d+\.\d+$/.test(record.sourceIPAddress)) {
    r.sourceIPAddress = identity.ip;
  }
  return r;
}

export interface GenerateResult {
  dir: string;
  records: number;
  files: number;
  bytes: number;
}

/** Writes about `count` records under `dir` (replacing it). */
export async function generate(root: string, dir: string, count: number, seed = 7): Promise<GenerateResult> {
  const templates = loadTemplates(root);
  if (templates.length === 0)
    throw new Error('no template sessions found (demo/invictus, test/fixtures/cartographer)');
  rmSync(dir, { recursive: true, force: true });
  const rand = prng(seed);
  let written = 0;
  let files = 0;
  let bytes = 0;
  let clock = Date.parse('2026-01-05T00:00:00Z');
  let sessionNo = 0;

  while (written < count) {
    // One batch: sessions that overlap in time, sorted together, then the clock moves past them.
    const batch: { at: number; record: Json }[] = [];
    let batchEnd = clock;
    for (let s = 0; s < BATCH_SESSIONS && written + batch.length < count; s++) {
      const t = templates[Math.floor(rand() * templates.length)]!;
      const start = clock + Math.floor(rand() * 20 * 60_000);
      sessionNo++;
      const identity = {
        key: randomKey('ASIA', rand),
        user: `user${sessionNo % 5000}`,
        ip: `198.51.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`,
      };
      for (let i = 0; i < t.records.length && written + batch.length < count; i++) {
        const at = start + t.offsets[i]!;
        batch.push({ at, record: replay(t.records[i]!, at, identity, rand) });
        if (at > batchEnd) batchEnd = at;
      }
    }
    batch.sort((a, b) => a.at - b.at);
    for (let i = 0; i < batch.length; i += RECORDS_PER_FILE) {
      const chunk = batch.slice(i, i + RECORDS_PER_FILE);
      bytes += await writeDeliveryFile(
        dir,
        chunk[0]!.at,
        files,
        chunk.map((c) => c.record),
      );
      files++;
    }
    written += batch.length;
    // Leave more than any idle gap between batches, as a new working day would.
    clock = batchEnd + 2 * 3600_000;
  }
  return { dir, records: written, files, bytes };
}

async function writeDeliveryFile(dir: string, at: number, n: number, records: Json[]): Promise<number> {
  const d = new Date(at);
  const region = 'us-east-1';
  const ymd = [d.getUTCFullYear(), pad(d.getUTCMonth() + 1), pad(d.getUTCDate())];
  const folder = join(dir, 'AWSLogs', ACCOUNT, 'CloudTrail', region, ...ymd.map(String));
  mkdirSync(folder, { recursive: true });
  const stamp = `${ymd.join('')}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
  const path = join(folder, `${ACCOUNT}_CloudTrail_${region}_${stamp}_${String(n).padStart(8, '0')}.json`);
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
