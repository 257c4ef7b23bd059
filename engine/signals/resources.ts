/**
 * The resource an event acts on (bucket, user, key …), by the per-service paths of fallback.yaml: read by
 * the rendering of definition signals (index.ts) and by the programmatic summaries (summaries.ts).
 */
import { asString, type CompiledPath, compilePath, valuesAt } from '../field-path.ts';
import type { EngineEvent } from '../model.ts';
import { mapFor } from './owner-maps.ts';
import type { FallbackFile } from './schema.ts';

/** `iam:ListUsers` → `iam`. */
export const prefixOf = (key: string): string => key.slice(0, key.indexOf(':'));

/** The first resource name the key's paths find in the event's request. */
export function resourceName(data: FallbackFile, key: string, event: EngineEvent): string | undefined {
  const paths = resourcePathsOf(data, key);
  const params = event.record.requestParameters;
  for (const p of paths) {
    for (const x of valuesAt(params, p)) if (x !== null && x !== undefined && x !== '') return asString(x);
  }
  return undefined;
}

/** Each key's compiled resource paths, looked up once per key (not a prefix slice and a path text per event). */
const pathsByKey = new WeakMap<FallbackFile, Map<string, readonly CompiledPath[]>>();
const MAX_PATH_KEYS = 10_000;

function resourcePathsOf(data: FallbackFile, key: string): readonly CompiledPath[] {
  const byKey = mapFor(pathsByKey, data);
  let paths = byKey.get(key);
  if (!paths) {
    const texts = data.collapse.resourcePaths[prefixOf(key)] ?? data.collapse.resourcePaths['*'] ?? [];
    const compiled: CompiledPath[] = []; // a push loop: every key's list has one hidden class (not map's)
    for (const t of texts) compiled.push(compilePath(t));
    paths = compiled;
    if (byKey.size < MAX_PATH_KEYS) byKey.set(key, paths);
  }
  return paths;
}
