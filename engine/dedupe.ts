/**
 * Remembers event ids already seen, so overlapping inputs (the same delivery file twice, a LookupEvents
 * export beside the S3 files) count every event once. A plain Set: 1M ids cost about 100 MB, well inside
 * the memory budget, and any eviction window would let far-apart duplicates through.
 */
export class EventDeduper {
  readonly #seen = new Set<string>();
  #duplicates = 0;

  /** True the first time an id is seen, false for every repeat. */
  firstSighting(id: string): boolean {
    // One hash lookup instead of has() then add(): the set grows exactly when the id is new.
    const before = this.#seen.size;
    this.#seen.add(id);
    if (this.#seen.size > before) return true;
    this.#duplicates++;
    return false;
  }

  get duplicates(): number {
    return this.#duplicates;
  }
}
