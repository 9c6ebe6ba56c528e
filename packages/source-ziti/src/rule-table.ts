/**
 * An immutable map of rules by key with structural sharing: the entries live in 4,096 buckets (by a
 * hash of the key) and a change copies only the buckets it touches. A single insert into a store of
 * 100,000 rules copies ~25 entries instead of 100,000; a batch of 1,000 copies about a fifth of
 * them. Iteration is in bucket order (stable for a given set of keys). A table made by an edit
 * remembers which keys the edit touched, so the changes between it and the table it was made from
 * cost O(changes) (RuleTable.changes; computed once, then the table forgets them).
 */
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import type { Rule } from './rule.js';

const BUCKETS = 4096;

function bucketOf(key: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (BUCKETS - 1);
}

const emptyBucket: ReadonlyMap<string, Rule> = new Map();

/**
 * What changed from one table to another: the rules added or replaced and the rules removed, each
 * with its key at the same index (parallel arrays: no pair object per rule).
 */
export interface RuleTableChanges {
  readonly put: readonly Rule[];
  readonly putKeys: readonly string[];
  readonly removed: readonly Rule[];
  readonly removedKeys: readonly string[];
}

/**
 * How a table was made: from which table (by serial, not by reference), and for each key the edit
 * touched its value in that table (no entry: absent) and in this one (undefined: absent).
 */
interface Lineage {
  readonly base: number;
  readonly before: ReadonlyMap<string, Rule>;
  readonly after: ReadonlyMap<string, Rule | undefined>;
}

let serials = 0;
let lastChanges: { readonly from: RuleTable; readonly to: RuleTable; readonly changes: RuleTableChanges } | undefined;

export class RuleTable implements ReadonlyMap<string, Rule> {
  static readonly empty = new RuleTable(Array<ReadonlyMap<string, Rule>>(BUCKETS).fill(emptyBucket), 0);

  readonly #buckets: readonly ReadonlyMap<string, Rule>[];
  readonly #serial = ++serials;
  /** dropped once the changes it tells were computed (they are cached; a later ask compares buckets) */
  #lineage?: Lineage;
  readonly size: number;

  private constructor(buckets: readonly ReadonlyMap<string, Rule>[], size: number, lineage?: Lineage) {
    this.#buckets = buckets;
    this.size = size;
    this.#lineage = lineage;
  }

  /**
   * The rules of `to` that `from` does not hold as the same object (added or replaced), and the
   * rules of `from` whose key `to` lacks. O(changes) when `to` was edited from `from`; otherwise
   * the buckets the two tables do not share are compared. Computed in slices of `slicer`'s budget
   * (a batch of 100,000 rules changes 100,000 keys).
   */
  static async changes(from: RuleTable, to: RuleTable, slicer: TimeSlicer = new TimeSlicer()): Promise<RuleTableChanges> {
    // the journal and the intent list ask for the same pair after each commit: computed once
    const last = lastChanges;
    if (last !== undefined && last.from === from && last.to === to) return last.changes;
    const changes = await RuleTable.#changes(from, to, slicer);
    lastChanges = { from, to, changes };
    return changes;
  }

  static async #changes(from: RuleTable, to: RuleTable, slicer: TimeSlicer): Promise<RuleTableChanges> {
    const changes = { put: [] as Rule[], putKeys: [] as string[], removed: [] as Rule[], removedKeys: [] as string[] };
    const { put, putKeys, removed, removedKeys } = changes;
    if (from === to) return changes;
    const lineage = to.#lineage;
    if (lineage !== undefined && lineage.base === from.#serial) {
      const { before } = lineage;
      let n = 0;
      for (const [key, after] of lineage.after) {
        if ((++n & 1023) === 0) await slicer.pause();
        const was = before.get(key);
        if (after === undefined) {
          if (was !== undefined) {
            removed.push(was);
            removedKeys.push(key);
          }
        } else if (after !== was) {
          put.push(after);
          putKeys.push(key);
        }
      }
      to.#lineage = undefined; // the maps of every key the edit touched: 100,000 entries after a large batch
      return changes;
    }
    for (let b = 0; b < BUCKETS; b++) {
      const before = from.#buckets[b];
      const after = to.#buckets[b];
      if (before === after) continue;
      if ((b & 63) === 0) await slicer.pause();
      for (const [key, rule] of after) {
        if (before.get(key) !== rule) {
          put.push(rule);
          putKeys.push(key);
        }
      }
      for (const [key, rule] of before) {
        if (!after.has(key)) {
          removed.push(rule);
          removedKeys.push(key);
        }
      }
    }
    return changes;
  }

  /** A RuleTable with the entries of any map (itself when it already is one). */
  static from(map: ReadonlyMap<string, Rule>): RuleTable {
    if (map instanceof RuleTable) return map;
    const draft = RuleTable.empty.editUntracked();
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
    const base = this.#serial;
    return new RuleTableDraft(this.#buckets, this.size, (buckets, size, before, after) => new RuleTable(buckets, size, after && { base, before, after }));
  }

  /**
   * An edit that does not remember which keys it touched (reading a state file: nobody asks for
   * those changes, and 100,000 of them would be kept with the table).
   */
  editUntracked(): RuleTableDraft {
    return new RuleTableDraft(this.#buckets, this.size, (buckets, size) => new RuleTable(buckets, size), false);
  }
}

type Make = (
  buckets: readonly ReadonlyMap<string, Rule>[],
  size: number,
  before: ReadonlyMap<string, Rule>,
  after: ReadonlyMap<string, Rule | undefined> | undefined,
) => RuleTable;

export class RuleTableDraft {
  readonly #base: readonly ReadonlyMap<string, Rule>[];
  readonly #buckets: ReadonlyMap<string, Rule>[];
  readonly #owned = new Uint8Array(BUCKETS);
  /** the value in the base table of each key touched that it holds */
  readonly #before = new Map<string, Rule>();
  /** the value now of each key touched (absent: not tracked) */
  readonly #after: Map<string, Rule | undefined> | undefined;
  #size: number;
  #done = false;
  readonly #make: Make;
  // the bucket of the key last looked up (an insert looks its key up, then sets it)
  #lastKey = '';
  #lastBucket = -1;

  constructor(buckets: readonly ReadonlyMap<string, Rule>[], size: number, make: Make, track = true) {
    this.#after = track ? new Map() : undefined;
    this.#base = buckets;
    this.#buckets = [...buckets];
    this.#size = size;
    this.#make = make;
  }

  get size(): number {
    return this.#size;
  }

  #bucketOf(key: string): number {
    if (key !== this.#lastKey) {
      this.#lastKey = key;
      this.#lastBucket = bucketOf(key);
    }
    return this.#lastBucket;
  }

  get(key: string): Rule | undefined {
    return this.#buckets[this.#bucketOf(key)].get(key);
  }

  /** A snapshot of the entries (safe to change the draft while walking it). */
  entries(): [string, Rule][] {
    const out: [string, Rule][] = [];
    for (const bucket of this.#buckets) for (const entry of bucket) out.push(entry);
    return out;
  }

  #own(b: number): Map<string, Rule> {
    if (this.#done) throw new Error('this draft is done; start another edit()');
    if (this.#owned[b] === 0) {
      const copy = new Map<string, Rule>();
      this.#buckets[b].forEach((rule, key) => copy.set(key, rule)); // twice as fast as new Map(bucket)
      this.#buckets[b] = copy;
      this.#owned[b] = 1;
    }
    return this.#buckets[b] as Map<string, Rule>;
  }

  #touch(key: string, b: number, now: Rule | undefined): void {
    if (this.#after === undefined) return;
    if (!this.#after.has(key)) {
      const was = this.#base[b].get(key);
      if (was !== undefined) this.#before.set(key, was); // a new key has no entry (most of a big insert)
    }
    this.#after.set(key, now);
  }

  set(key: string, rule: Rule): void {
    const b = this.#bucketOf(key);
    const bucket = this.#own(b);
    if (!bucket.has(key)) this.#size++;
    bucket.set(key, rule);
    this.#touch(key, b, rule);
  }

  delete(key: string): void {
    const b = this.#bucketOf(key);
    if (!this.#buckets[b].has(key)) return;
    this.#own(b).delete(key);
    this.#touch(key, b, undefined);
    this.#size--;
  }

  done(): RuleTable {
    this.#done = true;
    return this.#make(this.#buckets, this.#size, this.#before, this.#after);
  }
}
