/**
 * Id allocation for rules and trie nodes. An apply allocates from the ids free before it started;
 * ids it frees become reusable only in the next apply, so a lookup that still follows an old entry
 * during an apply never lands on an id that already means something else. The ids in use are a
 * bitmap, so that an apply's copy of a pool of 100,000 ids costs a memcpy, not 100,000 inserts.
 */

export interface IdPool {
  /** highest id allowed */
  readonly max: number;
  /** bit i set = id i in use (covers at least 0..next-1) */
  readonly bits: Uint32Array;
  /** ids in use */
  readonly count: number;
  /** free ids below `next` (taken from the end) */
  readonly free: readonly number[];
  /** lowest id never handed out */
  readonly next: number;
}

export function emptyPool(max: number): IdPool {
  return { max, bits: new Uint32Array(32), count: 0, free: [], next: 1 };
}

function isSet(bits: Uint32Array, id: number): boolean {
  const w = id >>> 5;
  return w < bits.length && (bits[w] & (1 << (id & 31))) !== 0;
}

/** Whether `id` is in use in `pool`. */
export function inUse(pool: IdPool, id: number): boolean {
  return isSet(pool.bits, id);
}

/** A pool with exactly `used` in use (the gaps below the highest become free, lowest handed out first). */
export function poolFromUsed(max: number, used: Iterable<number>): IdPool {
  let highest = 0;
  const list: number[] = [];
  for (const id of used) {
    if (!Number.isInteger(id) || id < 1 || id > max) continue;
    list.push(id);
    if (id > highest) highest = id;
  }
  const bits = new Uint32Array(Math.max(32, (highest >>> 5) + 1));
  let count = 0;
  for (const id of list) {
    if (isSet(bits, id)) continue;
    bits[id >>> 5] |= 1 << (id & 31);
    count++;
  }
  const free: number[] = [];
  // the gaps are reused; ids far above the count (only after a corruption) are not enumerated
  if (highest <= 4 * count + (1 << 16)) {
    for (let id = highest - 1; id >= 1; id--) if (!isSet(bits, id)) free.push(id);
  }
  return { max, bits, count, free, next: highest + 1 };
}

/** The allocations and releases of one apply, on a copy of the pool. */
export class IdAllocator {
  readonly #max: number;
  #bits: Uint32Array;
  #count: number;
  readonly #free: number[];
  readonly #released: number[] = [];
  #next: number;

  constructor(pool: IdPool) {
    this.#max = pool.max;
    this.#bits = pool.bits.slice();
    this.#count = pool.count;
    this.#free = pool.free.slice();
    this.#next = pool.next;
  }

  /** A free id, or undefined when none is left for this apply. */
  alloc(): number | undefined {
    let id: number | undefined;
    if (this.#free.length > 0) id = this.#free.pop();
    else if (this.#next <= this.#max) id = this.#next++;
    if (id === undefined) return undefined;
    const w = id >>> 5;
    if (w >= this.#bits.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    this.#bits[w] |= 1 << (id & 31);
    this.#count++;
    return id;
  }

  /** Frees `id` after this apply (ids not in use are ignored, so a double release is harmless). */
  release(id: number): void {
    if (!isSet(this.#bits, id)) return;
    this.#bits[id >>> 5] &= ~(1 << (id & 31));
    this.#count--;
    this.#released.push(id);
  }

  get inUse(): number {
    return this.#count;
  }

  /** The pool after this apply. */
  result(): IdPool {
    const free = this.#released.length === 0 ? this.#free : [...this.#free, ...this.#released.reverse()];
    return { max: this.#max, bits: this.#bits, count: this.#count, free, next: this.#next };
  }
}
