/**
 * The prefixes of a dst group in order (rule-index.ts's prefixOrder: address, then length), kept
 * in chunks of a few hundred entries: adding or removing one prefix moves the entries of one
 * chunk, not of the whole list (a group may hold 100,000 prefixes and an apply change one), and a
 * search is a binary search over the chunks, then within one.
 */

/** What the list holds: anything with a sort key (unique among the entries present). */
export interface Ordered {
  readonly order: number | string;
}

/** Chunks are cut to this size when built, and split in two when they grow to twice it. */
const CHUNK = 256;

/** The first index of `list` whose order is not below `o`, searching from `from`. */
export function lowerBound(list: readonly Ordered[], o: number | string, from = 0): number {
  let lo = from;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].order < o) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function byOrder(a: Ordered, b: Ordered): number {
  return a.order < b.order ? -1 : a.order > b.order ? 1 : 0;
}

/** Below this many entries a comparison sort is as quick as the counting passes. */
const RADIX_MIN = 1024;
/** Orders below 2^48 are three 16-bit digits. */
const DIGIT = 0x10000;

/**
 * `list` sorted by order, as a new list. Integer orders below 2^48 (an IPv4 prefix's: address * 64
 * + length) are sorted by three counting passes over their 16-bit digits, least significant first:
 * a comparison sort of the 100,000 prefixes of a batch calls its comparator some 1.7 million times.
 * Any other order (an IPv6 prefix's text) is sorted by comparison.
 */
export function sortByOrder<T extends Ordered>(list: readonly T[]): T[] {
  const n = list.length;
  if (n < RADIX_MIN) return list.slice().sort(byOrder);
  const digits = [new Uint16Array(n), new Uint16Array(n), new Uint16Array(n)];
  for (let i = 0; i < n; i++) {
    const o = list[i].order;
    if (typeof o !== 'number' || !Number.isInteger(o) || o < 0 || o >= DIGIT ** 3) return list.slice().sort(byOrder);
    const rest = Math.floor(o / DIGIT);
    digits[0][i] = o % DIGIT;
    digits[1][i] = rest % DIGIT;
    digits[2][i] = Math.floor(rest / DIGIT);
  }
  let at = new Uint32Array(n); // the entries' indexes, in the order so far
  for (let i = 0; i < n; i++) at[i] = i;
  let next = new Uint32Array(n);
  const start = new Uint32Array(DIGIT + 1);
  for (const digit of digits) {
    // a stable counting pass by this digit
    start.fill(0);
    for (let i = 0; i < n; i++) start[digit[i] + 1]++;
    if (start[digit[0] + 1] === n) continue; // one value: the order stays
    for (let d = 1; d <= DIGIT; d++) start[d] += start[d - 1];
    for (let i = 0; i < n; i++) next[start[digit[at[i]]]++] = at[i];
    const sorted = next;
    next = at;
    at = sorted;
  }
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = list[at[i]];
  return out;
}

export class SortedPrefixes<T extends Ordered> {
  #chunks: T[][] = [];
  #size = 0;

  /** From entries already sorted by order. */
  static fromSorted<T extends Ordered>(sorted: readonly T[]): SortedPrefixes<T> {
    const out = new SortedPrefixes<T>();
    for (let i = 0; i < sorted.length; i += CHUNK) out.#chunks.push(sorted.slice(i, i + CHUNK));
    out.#size = sorted.length;
    return out;
  }

  get size(): number {
    return this.#size;
  }

  /** The chunk that holds (or would hold) order `o`: the last one whose first entry is not above it. */
  #chunkOf(o: number | string): number {
    const chunks = this.#chunks;
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunks[mid][0].order <= o) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : lo - 1;
  }

  insert(entry: T): void {
    if (this.#chunks.length === 0) {
      this.#chunks.push([entry]);
      this.#size = 1;
      return;
    }
    const c = this.#chunkOf(entry.order);
    const chunk = this.#chunks[c];
    chunk.splice(lowerBound(chunk, entry.order), 0, entry);
    this.#size++;
    if (chunk.length >= 2 * CHUNK) this.#chunks.splice(c + 1, 0, chunk.splice(CHUNK));
  }

  /** Removes `entry` (the very object); false when it is not there. */
  remove(entry: T): boolean {
    if (this.#chunks.length === 0) return false;
    const c = this.#chunkOf(entry.order);
    const chunk = this.#chunks[c];
    for (let i = lowerBound(chunk, entry.order); i < chunk.length && chunk[i].order === entry.order; i++) {
      if (chunk[i] !== entry) continue;
      chunk.splice(i, 1);
      this.#size--;
      if (chunk.length === 0) this.#chunks.splice(c, 1);
      return true;
    }
    return false;
  }

  /** Calls `visit` on the entries whose order is not below `o`, in order, while it returns true. */
  scanFrom(o: number | string, visit: (entry: T) => boolean): void {
    const chunks = this.#chunks;
    if (chunks.length === 0) return;
    let c = this.#chunkOf(o);
    let i = lowerBound(chunks[c], o);
    for (; c < chunks.length; c++, i = 0) {
      const chunk = chunks[c];
      for (; i < chunk.length; i++) if (!visit(chunk[i])) return;
    }
  }

  /** Every entry, in order. */
  forEach(visit: (entry: T) => void): void {
    for (const chunk of this.#chunks) for (const e of chunk) visit(e);
  }
}
