/**
 * A persistent string-keyed map: `set` and `delete` return a new map that shares every untouched
 * part with the old one (a hash array mapped trie, 32 ways per level), so changing one entry of a
 * 10,000-entry map copies a handful of small nodes instead of the whole map, and every map handed
 * out earlier stays exactly as it was.
 *
 * It reads like a ReadonlyMap (get/has/size, iteration in insertion order: setting a key again keeps
 * its place, as with Map). `batch` applies many changes while copying each touched node once.
 */

const BITS = 5;
const MASK = (1 << BITS) - 1;

interface Entry<V> {
  readonly key: string;
  readonly value: V;
  /** insertion order */
  readonly seq: number;
}

/** Entries whose keys share one 32-bit hash (almost always exactly one). */
interface Leaf<V> {
  readonly leaf: true;
  readonly hash: number;
  entries: Entry<V>[];
  /** the batch that made it: nodes made by the running batch are changed in place */
  readonly owner: object | undefined;
}

interface Branch<V> {
  readonly leaf: false;
  slots: (Node<V> | undefined)[];
  /** non-empty slots */
  used: number;
  readonly owner: object | undefined;
}

type Node<V> = Leaf<V> | Branch<V>;

/** FNV-1a over the UTF-16 code units. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const slotOf = (hash: number, shift: number): number => (hash >>> shift) & MASK;

/** The changes of one write, shared down the recursion. */
interface Edit {
  readonly owner: object | undefined;
  /** +1 added, -1 removed, 0 replaced or nothing */
  sizeDelta: number;
  nextSeq: number;
}

function leafWith<V>(leaf: Leaf<V>, entries: Entry<V>[], edit: Edit): Leaf<V> {
  if (edit.owner !== undefined && leaf.owner === edit.owner) {
    leaf.entries = entries;
    return leaf;
  }
  return { leaf: true, hash: leaf.hash, entries, owner: edit.owner };
}

function branchWith<V>(branch: Branch<V>, index: number, child: Node<V> | undefined, edit: Edit): Branch<V> {
  const used = branch.used + (branch.slots[index] === undefined ? 1 : 0) - (child === undefined ? 1 : 0);
  if (edit.owner !== undefined && branch.owner === edit.owner) {
    branch.slots[index] = child;
    branch.used = used;
    return branch;
  }
  const slots = branch.slots.slice();
  slots[index] = child;
  return { leaf: false, slots, used, owner: edit.owner };
}

function put<V>(node: Node<V> | undefined, shift: number, hash: number, key: string, value: V, edit: Edit): Node<V> {
  if (node === undefined) {
    edit.sizeDelta = 1;
    return { leaf: true, hash, entries: [{ key, value, seq: edit.nextSeq++ }], owner: edit.owner };
  }
  if (node.leaf) {
    if (node.hash === hash) {
      const i = node.entries.findIndex((e) => e.key === key);
      if (i >= 0) {
        const old = node.entries[i];
        if (old.value === value) return node;
        const entries = node.entries.slice();
        entries[i] = { key, value, seq: old.seq };
        return leafWith(node, entries, edit);
      }
      edit.sizeDelta = 1;
      return leafWith(node, [...node.entries, { key, value, seq: edit.nextSeq++ }], edit);
    }
    // two hashes meet: a branch holding the old leaf, then the new key put into it
    const slots = new Array<Node<V> | undefined>(1 << BITS);
    slots[slotOf(node.hash, shift)] = node;
    return put({ leaf: false, slots, used: 1, owner: edit.owner }, shift, hash, key, value, edit);
  }
  const index = slotOf(hash, shift);
  const child = node.slots[index];
  const next = put(child, shift + BITS, hash, key, value, edit);
  return next === child ? node : branchWith(node, index, next, edit);
}

function remove<V>(node: Node<V> | undefined, shift: number, hash: number, key: string, edit: Edit): Node<V> | undefined {
  if (node === undefined) return undefined;
  if (node.leaf) {
    if (node.hash !== hash) return node;
    const i = node.entries.findIndex((e) => e.key === key);
    if (i < 0) return node;
    edit.sizeDelta = -1;
    if (node.entries.length === 1) return undefined;
    return leafWith(node, node.entries.filter((_, j) => j !== i), edit);
  }
  const index = slotOf(hash, shift);
  const child = node.slots[index];
  const next = remove(child, shift + BITS, hash, key, edit);
  if (next === child) return node;
  const used = node.used - (next === undefined ? 1 : 0);
  if (used === 0) return undefined;
  // a branch left with one leaf collapses into it (lookups check the leaf's full hash)
  if (used === 1) {
    const only = next ?? node.slots.find((s, j) => j !== index && s !== undefined);
    if (only?.leaf) return only;
  }
  return branchWith(node, index, next, edit);
}

function collect<V>(node: Node<V> | undefined, out: Entry<V>[]): void {
  if (node === undefined) return;
  if (node.leaf) {
    for (const e of node.entries) out.push(e);
    return;
  }
  for (const child of node.slots) if (child !== undefined) collect(child, out);
}

/** The writes a batch may make (see PersistentMap.batch). */
export interface MapWriter<V> {
  set(key: string, value: V): void;
  delete(key: string): boolean;
  get(key: string): V | undefined;
  has(key: string): boolean;
}

export class PersistentMap<V> implements ReadonlyMap<string, V> {
  readonly #root: Node<V> | undefined;
  readonly #size: number;
  readonly #nextSeq: number;
  #ordered: Entry<V>[] | undefined;

  private constructor(root: Node<V> | undefined, size: number, nextSeq: number) {
    this.#root = root;
    this.#size = size;
    this.#nextSeq = nextSeq;
  }

  static empty<V>(): PersistentMap<V> {
    return new PersistentMap<V>(undefined, 0, 0);
  }

  /** A map of `entries` (a PersistentMap is returned as it is). */
  static from<V>(entries: Iterable<readonly [string, V]> | PersistentMap<V>): PersistentMap<V> {
    if (entries instanceof PersistentMap) return entries;
    return PersistentMap.empty<V>().batch((w) => {
      for (const [k, v] of entries) w.set(k, v);
    });
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    const hash = hashOf(key);
    let node = this.#root;
    for (let shift = 0; node !== undefined; shift += BITS) {
      if (node.leaf) {
        if (node.hash !== hash) return undefined;
        for (const e of node.entries) if (e.key === key) return e.value;
        return undefined;
      }
      node = node.slots[slotOf(hash, shift)];
    }
    return undefined;
  }

  has(key: string): boolean {
    const hash = hashOf(key);
    let node = this.#root;
    for (let shift = 0; node !== undefined; shift += BITS) {
      if (node.leaf) return node.hash === hash && node.entries.some((e) => e.key === key);
      node = node.slots[slotOf(hash, shift)];
    }
    return false;
  }

  /** A map with `key` set to `value` (this one when it already holds that very value). */
  set(key: string, value: V): PersistentMap<V> {
    const edit: Edit = { owner: undefined, sizeDelta: 0, nextSeq: this.#nextSeq };
    const root = put(this.#root, 0, hashOf(key), key, value, edit);
    return root === this.#root ? this : new PersistentMap(root, this.#size + edit.sizeDelta, edit.nextSeq);
  }

  /** A map without `key` (this one when it has no such key). */
  delete(key: string): PersistentMap<V> {
    const edit: Edit = { owner: undefined, sizeDelta: 0, nextSeq: this.#nextSeq };
    const root = remove(this.#root, 0, hashOf(key), key, edit);
    return root === this.#root ? this : new PersistentMap(root, this.#size + edit.sizeDelta, this.#nextSeq);
  }

  /**
   * Many writes at once: `fn` gets a writer whose changes land in the returned map (nodes made
   * during the batch are changed in place; this map is never touched). The writer must not be
   * used after `fn` returns.
   */
  batch(fn: (writer: MapWriter<V>) => void): PersistentMap<V> {
    const owner = {};
    let root = this.#root;
    let size = this.#size;
    const edit: Edit = { owner, sizeDelta: 0, nextSeq: this.#nextSeq };
    let open = true;
    const check = () => {
      if (!open) throw new Error('PersistentMap.batch: the writer was used after the batch ended');
    };
    const view = (): PersistentMap<V> => new PersistentMap(root, size, edit.nextSeq);
    fn({
      set(key, value) {
        check();
        edit.sizeDelta = 0;
        root = put(root, 0, hashOf(key), key, value, edit);
        size += edit.sizeDelta;
      },
      delete(key) {
        check();
        edit.sizeDelta = 0;
        root = remove(root, 0, hashOf(key), key, edit);
        size += edit.sizeDelta;
        return edit.sizeDelta !== 0;
      },
      get: (key) => (check(), view().get(key)),
      has: (key) => (check(), view().has(key)),
    });
    open = false;
    return root === this.#root ? this : new PersistentMap(root, size, edit.nextSeq);
  }

  /** Entries in insertion order (computed once per map: maps never change). */
  #entriesInOrder(): Entry<V>[] {
    if (!this.#ordered) {
      const out: Entry<V>[] = [];
      collect(this.#root, out);
      this.#ordered = out.sort((a, b) => a.seq - b.seq);
    }
    return this.#ordered;
  }

  *entries(): MapIterator<[string, V]> {
    for (const e of this.#entriesInOrder()) yield [e.key, e.value];
  }

  *keys(): MapIterator<string> {
    for (const e of this.#entriesInOrder()) yield e.key;
  }

  *values(): MapIterator<V> {
    for (const e of this.#entriesInOrder()) yield e.value;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const e of this.#entriesInOrder()) fn.call(thisArg, e.value, e.key, this);
  }

  get [Symbol.toStringTag](): string {
    return 'PersistentMap';
  }
}
