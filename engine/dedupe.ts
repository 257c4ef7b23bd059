/**
 * Remembers event ids already seen, so overlapping inputs (the same delivery file twice, a LookupEvents
 * export beside the S3 files) count every event once. Exact, with no eviction window (any window would let
 * far-apart duplicates through). CloudTrail's ids are lowercase UUIDs: those are kept as their 128 bits in an
 * open-addressing table (16 bytes each and a 2-byte tag, about 36 MB for a million, against ~100 MB as strings in a Set);
 * any other id is kept as its string.
 */
export class EventDeduper {
  readonly #other = new Set<string>();
  /** Four 32-bit words per slot. */
  #table = new Uint32Array(4 * 1024);
  /**
   * Per slot, 15 more bits of the id's hash with the top bit set, or 0 for an empty slot: probing reads this
   * array (an eighth of the table's size, so it stays in cache far longer) and the words only when it agrees.
   */
  #tags = new Uint16Array(1024);
  #mask = 1023;
  #size = 0;
  readonly #words = new Uint32Array(4);
  #duplicates = 0;

  /** True the first time an id is seen, false for every repeat. */
  firstSighting(id: string): boolean {
    const w = this.#words;
    if (!uuidWords(id, w) || (w[0]! | w[1]! | w[2]! | w[3]!) === 0) {
      // One hash lookup instead of has() then add(): the set grows exactly when the id is new.
      const before = this.#other.size;
      this.#other.add(id);
      if (this.#other.size > before) return true;
      this.#duplicates++;
      return false;
    }
    if (this.#insert(w[0]!, w[1]!, w[2]!, w[3]!)) return true;
    this.#duplicates++;
    return false;
  }

  get duplicates(): number {
    return this.#duplicates;
  }

  /** False when the id was there already. */
  #insert(a: number, b: number, c: number, d: number): boolean {
    const h = mix(a, b, c, d);
    const tag = (Math.imul(h, 0x9e3779b1) >>> 17) | 0x8000;
    const tags = this.#tags;
    const t = this.#table;
    let i = h & this.#mask;
    for (;;) {
      const at = tags[i]!;
      if (at === 0) break;
      if (at === tag) {
        const w = i * 4;
        if (t[w] === a && t[w + 1] === b && t[w + 2] === c && t[w + 3] === d) return false;
      }
      i = (i + 1) & this.#mask;
    }
    tags[i] = tag;
    const w = i * 4;
    t[w] = a;
    t[w + 1] = b;
    t[w + 2] = c;
    t[w + 3] = d;
    if (++this.#size * 2 > this.#mask) this.#grow();
    return true;
  }

  #grow(): void {
    const old = this.#table;
    const oldTags = this.#tags;
    this.#table = new Uint32Array(old.length * 2);
    this.#tags = new Uint16Array(oldTags.length * 2);
    this.#mask = this.#mask * 2 + 1;
    this.#size = 0;
    for (let i = 0; i < oldTags.length; i++) {
      if (oldTags[i] === 0) continue;
      const w = i * 4;
      this.#insert(old[w]!, old[w + 1]!, old[w + 2]!, old[w + 3]!);
    }
  }
}

function mix(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ d ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Hex digit values of the lowercase digits by character code; -1 for any other character. */
const HEX = new Int8Array(128).fill(-1);
for (let c = 48; c <= 57; c++) HEX[c] = c - 48;
for (let c = 97; c <= 102; c++) HEX[c] = c - 87;

/** The number written in lowercase hex digits from `from` to `to` (at most 8), or -1. */
function hexAt(id: string, from: number, to: number): number {
  let w = 0;
  for (let i = from; i < to; i++) {
    const c = id.charCodeAt(i);
    const v = c < 128 ? HEX[c]! : -1;
    if (v < 0) return -1;
    w = w * 16 + v;
  }
  return w;
}

/** A lowercase `8-4-4-4-12` hex UUID into four words; false for anything else. */
function uuidWords(id: string, out: Uint32Array): boolean {
  if (
    id.length !== 36 ||
    id.charCodeAt(8) !== 45 || // '-'
    id.charCodeAt(13) !== 45 ||
    id.charCodeAt(18) !== 45 ||
    id.charCodeAt(23) !== 45
  )
    return false;
  const a = hexAt(id, 0, 8);
  const b1 = hexAt(id, 9, 13);
  const b2 = hexAt(id, 14, 18);
  const c1 = hexAt(id, 19, 23);
  const c2 = hexAt(id, 24, 28);
  const d = hexAt(id, 28, 36);
  if (a < 0 || b1 < 0 || b2 < 0 || c1 < 0 || c2 < 0 || d < 0) return false;
  out[0] = a;
  out[1] = b1 * 65536 + b2;
  out[2] = c1 * 65536 + c2;
  out[3] = d;
  return true;
}
