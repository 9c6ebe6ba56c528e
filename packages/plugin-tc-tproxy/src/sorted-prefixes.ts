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
