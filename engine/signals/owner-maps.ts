/**
 * Caches that belong to one rule or phrase set: a Map per owner object, kept in a WeakMap so it goes when its owner
 * does (a reloaded rule set starts with empty caches).
 */
export function mapFor<K extends object, V>(maps: WeakMap<K, Map<string, V>>, owner: K): Map<string, V> {
  let map = maps.get(owner);
  if (!map) {
    map = new Map();
    maps.set(owner, map);
  }
  return map;
}
