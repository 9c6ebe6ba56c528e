/**
 * An immutable map of rules by key with structural sharing: the entries live in 4,096 buckets (by a
 * hash of the key) and a change copies only the buckets it touches. A single insert into a store of
 * 100,000 rules copies ~25 entries instead of 100,000; a batch of 1,000 copies about a fifth of
 * them. The buckets are held in 64 groups of 64, and a change copies the groups it touches too:
 * copying the whole list of 4,096 per change (32 KB) was ~5% of a single insert's cost. Iteration is in bucket order (stable for a given set of keys). The changes between two
 * tables cost the buckets they do not share (RuleTable.changes): a table edited from another shares
 * every bucket the edit did not touch and remembers which ones it copied, so nothing per key is
 * recorded while editing (a map of the keys touched was most of the cost of a 100,000-rule batch).
 */
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import type { Rule } from './rule.js';

const BUCKETS = 4096;
const GROUP_BITS = 6;
/** buckets per group, and groups per table (GROUP * GROUP = BUCKETS) */
const GROUP = 1 << GROUP_BITS;

function bucketOf(key: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & (BUCKETS - 1);
}

type Bucket = ReadonlyMap<string, Rule>;
type Group = readonly Bucket[];

const emptyBucket: Bucket = new Map();
const emptyGroup: Group = Object.freeze(Array<Bucket>(GROUP).fill(emptyBucket));

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

/** Which table an edit started from (by serial, not by reference) and the buckets it copied. */
interface Lineage {
  readonly base: number;
  readonly copied: readonly number[];
}

let serials = 0;
let lastChanges: { readonly from: RuleTable; readonly to: RuleTable; readonly changes: RuleTableChanges } | undefined;

export class RuleTable implements ReadonlyMap<string, Rule> {
  static readonly empty = new RuleTable(Array<Group>(GROUP).fill(emptyGroup), 0);

  readonly #groups: readonly Group[];
  readonly #serial = ++serials;
  readonly #lineage?: Lineage;
  readonly size: number;

  private constructor(groups: readonly Group[], size: number, lineage?: Lineage) {
    this.#groups = groups;
    this.size = size;
    this.#lineage = lineage;
  }

  #bucket(b: number): Bucket {
    return this.#groups[b >> GROUP_BITS][b & (GROUP - 1)];
  }

  /**
   * The rules of `to` that `from` does not hold as the same object (added or replaced), and the
   * rules of `from` whose key `to` lacks, each in table order (the order of valueArray and
   * entryArray): the buckets the two tables do not share are compared
   * (when `to` was edited from `from`, only the buckets the edit copied are looked at).
   * Computed in slices of `slicer`'s budget (a batch of 100,000 rules changes 100,000 keys).
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
    // the copied buckets in table order, so that changes that put every rule of `to` list them as
    // valueArray does (the snapshot then reuses the journal's text of them: state-text.ts)
    const candidates = lineage !== undefined && lineage.base === from.#serial ? Uint16Array.from(lineage.copied).sort() : undefined;
    const count = candidates?.length ?? BUCKETS;
    let compared = 0;
    for (let i = 0; i < count; i++) {
      const b = candidates === undefined ? i : candidates[i];
      const before = from.#bucket(b);
      const after = to.#bucket(b);
      if (before === after) continue;
      if (++compared % 64 === 0) await slicer.pause();
      // forEach, not for-of: an entry pair per rule was ~150 bytes of garbage (15 MiB per 100,000)
      after.forEach((rule, key) => {
        if (before.get(key) !== rule) {
          put.push(rule);
          putKeys.push(key);
        }
      });
      before.forEach((rule, key) => {
        if (!after.has(key)) {
          removed.push(rule);
          removedKeys.push(key);
        }
      });
    }
    return changes;
  }

  /** A RuleTable with the entries of any map (itself when it already is one). */
  static from(map: ReadonlyMap<string, Rule>): RuleTable {
    if (map instanceof RuleTable) return map;
    const draft = RuleTable.empty.edit();
    map.forEach((rule, key) => draft.set(key, rule));
    return draft.done();
  }

  get(key: string): Rule | undefined {
    return this.#bucket(bucketOf(key)).get(key);
  }

  has(key: string): boolean {
    return this.#bucket(bucketOf(key)).has(key);
  }

  /** The buckets in table order (never modified once this table exists; shared with the tables derived from it). */
  buckets(): readonly Bucket[] {
    return this.#groups.flat();
  }

  /** The entries as an array (iteration without generators, for the hot paths). */
  entryArray(): [string, Rule][] {
    const out: [string, Rule][] = [];
    for (const group of this.#groups) for (const bucket of group) for (const entry of bucket) out.push(entry);
    return out;
  }

  valueArray(): Rule[] {
    const out: Rule[] = [];
    for (const group of this.#groups) for (const bucket of group) for (const rule of bucket.values()) out.push(rule);
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
    return new RuleTableDraft(this.#groups, this.size, (groups, size, copied) => new RuleTable(groups, size, { base, copied }));
  }
}

type Make = (groups: readonly Group[], size: number, copied: readonly number[]) => RuleTable;

export class RuleTableDraft {
  readonly #groups: Group[];
  /** the groups copied (owned by this draft): 1 */
  readonly #ownedGroups = new Uint8Array(GROUP);
  /** the buckets copied, one bit each (a bit set is allocated per edit: 512 bytes, not 4 KB) */
  readonly #owned = new Int32Array(BUCKETS >> 5);
  /** the buckets copied, in the order they were */
  readonly #copied: number[] = [];
  #size: number;
  #done = false;
  readonly #make: Make;
  // the bucket of the key last looked up (an insert looks its key up, then sets it)
  #lastKey = '';
  #lastBucket = -1;

  constructor(groups: readonly Group[], size: number, make: Make) {
    this.#groups = groups.slice();
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

  #bucket(b: number): Bucket {
    return this.#groups[b >> GROUP_BITS][b & (GROUP - 1)];
  }

  get(key: string): Rule | undefined {
    return this.#bucket(this.#bucketOf(key)).get(key);
  }

  /** A snapshot of the entries (safe to change the draft while walking it). */
  entries(): [string, Rule][] {
    const out: [string, Rule][] = [];
    for (const group of this.#groups) for (const bucket of group) for (const entry of bucket) out.push(entry);
    return out;
  }

  /** Bucket b, copied into a group this draft owns when it is not yet its own. */
  #own(b: number): Map<string, Rule> {
    if (this.#done) throw new Error('this draft is done; start another edit()');
    const g = b >> GROUP_BITS;
    const group = this.#ownGroup(g);
    const i = b & (GROUP - 1);
    const bit = 1 << (b & 31);
    if ((this.#owned[b >> 5] & bit) === 0) {
      const copy = new Map<string, Rule>();
      group[i].forEach((rule, key) => copy.set(key, rule)); // twice as fast as new Map(bucket)
      group[i] = copy;
      this.#owned[b >> 5] |= bit;
      this.#copied.push(b);
    }
    return group[i] as Map<string, Rule>;
  }

  #ownGroup(g: number): Bucket[] {
    if (this.#ownedGroups[g] === 0) {
      this.#groups[g] = this.#groups[g].slice();
      this.#ownedGroups[g] = 1;
    }
    return this.#groups[g] as Bucket[];
  }

  set(key: string, rule: Rule): void {
    const bucket = this.#own(this.#bucketOf(key));
    const size = bucket.size;
    bucket.set(key, rule);
    this.#size += bucket.size - size;
  }

  delete(key: string): void {
    const b = this.#bucketOf(key);
    if (!this.#bucket(b).has(key)) return;
    this.#own(b).delete(key);
    this.#size--;
  }

  done(): RuleTable {
    this.#done = true;
    return this.#make(this.#groups, this.#size, this.#copied);
  }
}
