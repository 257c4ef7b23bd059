/**
 * Remembers event ids already seen, so overlapping inputs (the same delivery file twice, a LookupEvents
 * export beside the S3 files) count every event once. Exact, with no eviction window (any window would let
 * far-apart duplicates through). CloudTrail's ids are lowercase UUIDs: those are kept as their 128 bits in an
 * open-addressing table (16 bytes each, about 32 MB for a million, against ~100 MB as strings in a Set);
 * any other id is kept as its string.
 */
export class EventDeduper {
  readonly #other = new Set<string>();
  /** Four 32-bit words per slot; all-zero marks an empty slot (the all-zero UUID goes to #other). */
  #table = new Uint32Array(4 * 1024);
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
    const t = this.#table;
    let i = mix(a, b, c, d) & this.#mask;
    for (;;) {
      const at = i * 4;
      if ((t[at]! | t[at + 1]! | t[at + 2]! | t[at + 3]!) === 0) break;
      if (t[at] === a && t[at + 1] === b && t[at + 2] === c && t[at + 3] === d) return false;
      i = (i + 1) & this.#mask;
    }
    const at = i * 4;
    t[at] = a;
    t[at + 1] = b;
    t[at + 2] = c;
    t[at + 3] = d;
    if (++this.#size * 2 > this.#mask) this.#grow();
    return true;
  }

  #grow(): void {
    const old = this.#table;
    this.#table = new Uint32Array(old.length * 2);
    this.#mask = this.#mask * 2 + 1;
    this.#size = 0;
    for (let at = 0; at < old.length; at += 4) {
      if ((old[at]! | old[at + 1]! | old[at + 2]! | old[at + 3]!) === 0) continue;
      this.#insert(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
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

/** A lowercase `8-4-4-4-12` hex UUID into four words; false for anything else. */
function uuidWords(id: string, out: Uint32Array): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let nibbles = 0;
  let k = 0;
  for (let i = 0; i < 36; i++) {
    const ch = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (ch !== 45) return false; // '-'
      continue;
    }
    let v: number;
    if (ch >= 48 && ch <= 57) v = ch - 48;
    else if (ch >= 97 && ch <= 102) v = ch - 87;
    else return false;
    word = (word << 4) | v;
    if (++nibbles === 8) {
      out[k++] = word >>> 0;
      word = 0;
      nibbles = 0;
    }
  }
  return true;
}
