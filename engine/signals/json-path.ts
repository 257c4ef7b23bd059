/**
 * Reading values out of requestParameters / responseElements by a small path language:
 * `a.b`, `items[0].name`, `items[].name` (every element). Values are compared as strings,
 * because CloudTrail is inconsistent about "1000" vs 1000 across services and API versions.
 */

type Step = { key: string } | { index: number } | { each: true };

const cache = new Map<string, Step[]>();

export function parsePath(path: string): Step[] {
  const hit = cache.get(path);
  if (hit) return hit;
  const steps: Step[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d*\])*)$/.exec(part);
    if (!m) throw new Error(`bad path '${path}'`);
    if (m[1]) steps.push({ key: m[1] });
    for (const br of (m[2] ?? '').match(/\[\d*\]/g) ?? []) {
      steps.push(br === '[]' ? { each: true } : { index: Number(br.slice(1, -1)) });
    }
  }
  cache.set(path, steps);
  return steps;
}

/** Every value found at `path` (several when the path has `[]`, none when it does not exist). */
export function valuesAt(root: unknown, path: string): unknown[] {
  let current: unknown[] = [root];
  for (const step of parsePath(path)) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || v === undefined) continue;
      if ('key' in step) {
        if (typeof v === 'object' && !Array.isArray(v) && step.key in (v as object)) {
          next.push((v as Record<string, unknown>)[step.key]);
        } else if (Array.isArray(v)) {
          // PowerShell-style member enumeration: `items.name` reads `name` of every element.
          for (const el of v) {
            if (el && typeof el === 'object' && step.key in el)
              next.push((el as Record<string, unknown>)[step.key]);
          }
        }
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) next.push(v[step.index]);
      } else if (Array.isArray(v)) {
        next.push(...v);
      }
    }
    current = next;
  }
  return current;
}

/** The string form used for comparisons: strings as-is, other scalars via JSON, objects as compact JSON. */
export function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}
