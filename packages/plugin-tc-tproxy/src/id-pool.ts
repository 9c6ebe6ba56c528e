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

/**
 * The allocations and releases of one apply. Nothing of the pool is copied or changed until
 * result(): an apply that is refused (throws before it) leaves the pool as it was, and one that
 * changes a few ids costs a few operations, whatever the size of the pool. result() reuses the
 * pool's arrays: the pool it was made from is then outdated (a TrieState holds one pool per kind
 * and replaces it by the result).
 */
export class IdAllocator {
  readonly #pool: IdPool;
  /** pool.free[0..#freeTop) are still free (handed out from the end) */
  #freeTop: number;
  #next: number;
  #count: number;
  /** handed out by this apply, in order */
  readonly #allocated: number[] = [];
  /** freed by this apply, in order (reusable from the next apply on) */
  readonly #released: number[] = [];
  /** #allocated and #released as sets, made when a release needs to know (rarely: see #inUse) */
  #allocatedSet: Set<number> | undefined;
  #releasedSet: Set<number> | undefined;

  constructor(pool: IdPool) {
    this.#pool = pool;
    this.#freeTop = pool.free.length;
    this.#next = pool.next;
    this.#count = pool.count;
  }

  /** A free id, or undefined when none is left for this apply. */
  alloc(): number | undefined {
    let id: number;
    if (this.#freeTop > 0) id = this.#pool.free[--this.#freeTop];
    else if (this.#next <= this.#pool.max) id = this.#next++;
    else return undefined;
    this.#allocated.push(id);
    this.#allocatedSet?.add(id);
    this.#count++;
    return id;
  }

  /** Whether `id` is in use now: in use before this apply and not freed by it, or handed out by it. */
  #inUse(id: number): boolean {
    if (isSet(this.#pool.bits, id)) {
      if (this.#released.length === 0) return true;
      this.#releasedSet ??= new Set(this.#released);
      return !this.#releasedSet.has(id);
    }
    // not in use before: only this apply can have handed it out (and not freed it since)
    this.#allocatedSet ??= new Set(this.#allocated);
    this.#releasedSet ??= new Set(this.#released);
    return this.#allocatedSet.has(id) && !this.#releasedSet.has(id);
  }

  /** Frees `id` after this apply (ids not in use are ignored, so a double release is harmless). */
  release(id: number): void {
    if (!this.#inUse(id)) return;
    this.#released.push(id);
    this.#releasedSet?.add(id);
    this.#count--;
  }

  get inUse(): number {
    return this.#count;
  }

  /** The pool after this apply (see the class comment: the arrays of the pool it was made from are reused). */
  result(): IdPool {
    const pool = this.#pool;
    let bits = pool.bits;
    const highest = this.#next - 1;
    if (highest >>> 5 >= bits.length) {
      const grown = new Uint32Array(Math.max((highest >>> 5) + 1, bits.length * 2));
      grown.set(bits);
      bits = grown;
    }
    // indexed loops: a batch hands out 100,000 ids, and a for-of over them may allocate per step before it is optimized
    const allocated = this.#allocated;
    const released = this.#released;
    for (let i = 0; i < allocated.length; i++) bits[allocated[i] >>> 5] |= 1 << (allocated[i] & 31);
    for (let i = 0; i < released.length; i++) bits[released[i] >>> 5] &= ~(1 << (released[i] & 31));
    const free = pool.free as number[];
    free.length = this.#freeTop;
    // handed out from the end: the ids this apply freed first come first
    for (let i = this.#released.length - 1; i >= 0; i--) free.push(this.#released[i]);
    return { max: pool.max, bits, count: this.#count, free, next: this.#next };
  }
}
