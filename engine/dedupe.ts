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
    if (this.#seen.has(id)) {
      this.#duplicates++;
      return false;
    }
    this.#seen.add(id);
    return true;
  }

  get duplicates(): number {
    return this.#duplicates;
  }
}
