/**
 * A Map (or Set) of string keys spread over SHARDS maps by a hash of the key. It grows one shard at
 * a time: no single rehash copies 100,000 entries (a Map doubling from 65,536 to 131,072 entries
 * stopped the event loop 10-15 ms in one step of a 100,000-intent batch; a shard's doubling is a
 * thirty-second of that). What the key index of intent-change.ts needs: get, has, set, delete,
 * size, and iteration (shard by shard: not in insertion order).
 */
const SHARDS = 32;

/** The shard of `key`: a hash of its length and its last (at most 12) characters, where keys differ most. */
function shardOf(key: string): number {
  let h = Math.imul(key.length, 0x9e3779b1);
  for (let i = Math.max(0, key.length - 12); i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h ^ (h >>> 15)) & (SHARDS - 1);
}

export class ShardedMap<V> {
  readonly #shards: Map<string, V>[] = Array.from({ length: SHARDS }, () => new Map<string, V>());
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): V | undefined {
    return this.#shards[shardOf(key)]!.get(key);
  }

  has(key: string): boolean {
    return this.#shards[shardOf(key)]!.has(key);
  }

  set(key: string, value: V): this {
    const shard = this.#shards[shardOf(key)]!;
    const before = shard.size;
    shard.set(key, value);
    this.#size += shard.size - before;
    return this;
  }

  delete(key: string): boolean {
    const deleted = this.#shards[shardOf(key)]!.delete(key);
    if (deleted) this.#size--;
    return deleted;
  }

  *entries(): IterableIterator<[string, V]> {
    for (const shard of this.#shards) yield* shard.entries();
  }

  *keys(): IterableIterator<string> {
    for (const shard of this.#shards) yield* shard.keys();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}

export class ShardedSet {
  readonly #map = new ShardedMap<true>();

  get size(): number {
    return this.#map.size;
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  add(key: string): this {
    this.#map.set(key, true);
    return this;
  }
}
