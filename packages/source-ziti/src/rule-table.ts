/**
 * An immutable map of rules by key with structural sharing: the entries live in 256 buckets (by a
 * hash of the key) and a change copies only the buckets it touches. A single insert into a store of
 * 100,000 rules copies ~400 entries instead of 100,000. Iteration is in bucket order (stable for a
 * given set of keys).
 */
import type { Rule } from './rule.js';

const BUCKETS = 256;

function bucketOf(key: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (BUCKETS - 1);
}

const emptyBucket: ReadonlyMap<string, Rule> = new Map();

export class RuleTable implements ReadonlyMap<string, Rule> {
  static readonly empty = new RuleTable(Array<ReadonlyMap<string, Rule>>(BUCKETS).fill(emptyBucket), 0);

  readonly #buckets: readonly ReadonlyMap<string, Rule>[];
  readonly size: number;

  private constructor(buckets: readonly ReadonlyMap<string, Rule>[], size: number) {
    this.#buckets = buckets;
    this.size = size;
  }

  /** A RuleTable with the entries of any map (itself when it already is one). */
  static from(map: ReadonlyMap<string, Rule>): RuleTable {
    if (map instanceof RuleTable) return map;
    const draft = RuleTable.empty.edit();
    for (const [key, rule] of map) draft.set(key, rule);
    return draft.done();
  }

  get(key: string): Rule | undefined {
    return this.#buckets[bucketOf(key)].get(key);
  }

  has(key: string): boolean {
    return this.#buckets[bucketOf(key)].has(key);
  }

  /** The buckets (never modified once this table exists; shared with the tables derived from it). */
  buckets(): readonly ReadonlyMap<string, Rule>[] {
    return this.#buckets;
  }

  /** The entries as an array (iteration without generators, for the hot paths). */
  entryArray(): [string, Rule][] {
    const out: [string, Rule][] = [];
    for (const bucket of this.#buckets) for (const entry of bucket) out.push(entry);
    return out;
  }

  valueArray(): Rule[] {
    const out: Rule[] = [];
    for (const bucket of this.#buckets) for (const rule of bucket.values()) out.push(rule);
    return out;
  }

  entries(): MapIterator<[string, Rule]> {
    return this.entryArray()[Symbol.iterator]() as unknown as MapIterator<[string, Rule]>;
  }

  keys(): MapIterator<string> {
    return this.entryArray().map(([k]) => k)[Symbol.iterator]() as unknown as MapIterator<string>;
  }

  values(): MapIterator<Rule> {
    return this.valueArray()[Symbol.iterator]() as unknown as MapIterator<Rule>;
  }

  [Symbol.iterator](): MapIterator<[string, Rule]> {
    return this.entries();
  }

  forEach(callback: (value: Rule, key: string, map: ReadonlyMap<string, Rule>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }

  /** Starts a set of changes; `done()` returns the new table (this one is never modified). */
  edit(): RuleTableDraft {
    return new RuleTableDraft(this.#buckets, this.size, (buckets, size) => new RuleTable(buckets, size));
  }
}

export class RuleTableDraft {
  readonly #buckets: ReadonlyMap<string, Rule>[];
  readonly #owned = new Set<number>();
  #size: number;
  #done = false;
  readonly #make: (buckets: readonly ReadonlyMap<string, Rule>[], size: number) => RuleTable;

  constructor(
    buckets: readonly ReadonlyMap<string, Rule>[],
    size: number,
    make: (buckets: readonly ReadonlyMap<string, Rule>[], size: number) => RuleTable,
  ) {
    this.#buckets = [...buckets];
    this.#size = size;
    this.#make = make;
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): Rule | undefined {
    return this.#buckets[bucketOf(key)].get(key);
  }

  /** A snapshot of the entries (safe to change the draft while walking it). */
  entries(): [string, Rule][] {
    const out: [string, Rule][] = [];
    for (const bucket of this.#buckets) for (const entry of bucket) out.push(entry);
    return out;
  }

  #own(b: number): Map<string, Rule> {
    if (this.#done) throw new Error('this draft is done; start another edit()');
    if (!this.#owned.has(b)) {
      this.#buckets[b] = new Map(this.#buckets[b]);
      this.#owned.add(b);
    }
    return this.#buckets[b] as Map<string, Rule>;
  }

  set(key: string, rule: Rule): void {
    const b = bucketOf(key);
    if (!this.#buckets[b].has(key)) this.#size++;
    this.#own(b).set(key, rule);
  }

  delete(key: string): void {
    const b = bucketOf(key);
    if (!this.#buckets[b].has(key)) return;
    this.#own(b).delete(key);
    this.#size--;
  }

  done(): RuleTable {
    this.#done = true;
    return this.#make(this.#buckets, this.#size);
  }
}
