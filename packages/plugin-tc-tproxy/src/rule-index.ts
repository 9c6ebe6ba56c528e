/**
 * The compiled rules by dst trie group, kept between applies so that an apply recompiles only the
 * dst nodes a change touches. A group is one (interface, family, protocol) — the fixed part of a
 * tctp_dst key; within it each destination prefix of some rule is a dst node, holding its own rules
 * plus those of every shorter prefix of the group that contains it (compile-rules.ts).
 *
 * A change to the rules of prefix P changes the node of P and the nodes of the prefixes P contains
 * (its descendants), nothing else. Descendants are found in the group's prefixes sorted by
 * (address, length): the prefixes P contains are the run that starts where P sorts
 * (sorted-prefixes.ts keeps that order at the cost of the change, not of the group).
 */
import type { CompileRule } from './compile-rules.js';
import { keyPrefixContains, prefixByte, prefixKeyAt, type IpFamily, type Prefix } from './key-prefix.js';
import { lowerBound, sortByOrder, SortedPrefixes } from './sorted-prefixes.js';

/** The group of a dst node: interface, family, protocol (within it, nodes are keyed by Prefix.key). */
export function dstGroupKey(ifindex: number, family: IpFamily, proto: number): string {
  return `${ifindex}|${family}|${proto}`;
}

/** A destination prefix of a group and the rules whose destination it is. */
export interface IndexedPrefix {
  readonly prefix: Prefix;
  /** the rules with exactly this destination (any order: a node's content does not depend on it) */
  readonly own: CompileRule[];
  /** sort key: (address, length) */
  readonly order: number | string;
  /** set once no rule has this destination any more */
  removed: boolean;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Sort key of a prefix: by address bits (host bits are clear), then by length. */
export function prefixOrder(prefix: Prefix): number | string {
  // byte by byte: reading `bytes` of a slab prefix makes a view (an apply of 100,000 rules adds as many prefixes)
  if (prefix.family === 4) {
    const v = ((prefixByte(prefix, 0) << 24) | (prefixByte(prefix, 1) << 16) | (prefixByte(prefix, 2) << 8) | prefixByte(prefix, 3)) >>> 0;
    return v * 64 + prefix.length;
  }
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[prefixByte(prefix, i)];
  return s + String(prefix.length).padStart(3, '0');
}

/** `target` with `items` appended (no spread: lists may be longer than the argument limit). */
function appendAll<T>(target: T[], items: readonly T[]): T[] {
  for (let i = 0; i < items.length; i++) target.push(items[i]);
  return target;
}

/** The destination prefixes of one (interface, family, protocol) and their rules. */
export class DstGroup {
  readonly key: string;
  readonly byKey = new Map<string, IndexedPrefix>();
  /** prefixes by length (0..128): counted in an array, not a map (a batch adds 100,000 prefixes) */
  readonly #lengthCount = new Uint32Array(129);
  #lengths: number[] | undefined;
  /** by order; built on the first query in order, then updated with the changes since */
  #sorted: SortedPrefixes<IndexedPrefix> | undefined;
  #added: IndexedPrefix[] = [];
  /** entries removed since the last sort (they may or may not be in #sorted) */
  #removedSince: IndexedPrefix[] = [];

  constructor(
    readonly ifindex: number,
    readonly family: IpFamily,
    readonly proto: number,
  ) {
    this.key = dstGroupKey(ifindex, family, proto);
  }

  get size(): number {
    return this.byKey.size;
  }

  add(rule: CompileRule): void {
    const p = rule.destination;
    const entry = this.byKey.get(p.key);
    if (entry !== undefined) {
      entry.own.push(rule);
      return;
    }
    const created: IndexedPrefix = { prefix: p, own: [rule], order: prefixOrder(p), removed: false };
    this.byKey.set(p.key, created);
    if (this.#lengthCount[p.length]++ === 0) this.#lengths = undefined;
    if (this.#sorted !== undefined) this.#added.push(created);
  }

  /** Removes `rule` (the very object added); false when it is not there. */
  remove(rule: CompileRule): boolean {
    const p = rule.destination;
    const entry = this.byKey.get(p.key);
    if (entry === undefined) return false;
    const at = entry.own.lastIndexOf(rule);
    if (at < 0) return false;
    entry.own.splice(at, 1);
    if (entry.own.length === 0) {
      entry.removed = true;
      this.byKey.delete(p.key);
      if (--this.#lengthCount[p.length] === 0) this.#lengths = undefined;
      if (this.#sorted !== undefined) this.#removedSince.push(entry);
    }
    return true;
  }

  /** The prefix lengths present, ascending. */
  lengths(): readonly number[] {
    if (this.#lengths === undefined) {
      const lengths: number[] = [];
      for (let len = 0; len < this.#lengthCount.length; len++) if (this.#lengthCount[len] !== 0) lengths.push(len);
      this.#lengths = lengths;
    }
    return this.#lengths;
  }

  /** The rules of the node of `entry`: those of every shorter prefix containing it, then its own. */
  rulesOf(entry: IndexedPrefix): readonly CompileRule[] {
    const { prefix } = entry;
    let all: CompileRule[] | undefined;
    for (const len of this.lengths()) {
      if (len >= prefix.length) break;
      const anc = this.byKey.get(prefixKeyAt(prefix, len));
      if (anc !== undefined) all = appendAll(all ?? [], anc.own);
    }
    return all === undefined ? entry.own : appendAll(all, entry.own);
  }

  /**
   * Every node of the group with its rules (as rulesOf gives them), in prefix order: one walk with
   * a stack of the enclosing prefixes and their accumulated rules, instead of one lookup per
   * shorter length and node.
   */
  forEachNode(visit: (entry: IndexedPrefix, rules: readonly CompileRule[]) => void): void {
    if (this.lengths().length === 1) {
      // one prefix length (e.g. only host destinations): no prefix contains another, no order needed
      for (const entry of this.byKey.values()) visit(entry, entry.own);
      return;
    }
    const stack: IndexedPrefix[] = [];
    /** rules of stack[0..i], shortest first */
    const inherited: CompileRule[][] = [];
    this.#ordered().forEach((entry) => {
      while (stack.length > 0 && !keyPrefixContains(stack[stack.length - 1].prefix, entry.prefix)) {
        stack.pop();
        inherited.pop();
      }
      const above = inherited.length > 0 ? inherited[inherited.length - 1] : undefined;
      const rules = above === undefined ? entry.own : appendAll(above.slice(), entry.own);
      visit(entry, rules);
      stack.push(entry);
      inherited.push(rules as CompileRule[]); // read only from here on (copied before appending)
    });
  }

  /** The present prefixes strictly inside `prefix` (which need not be present). */
  descendants(prefix: Prefix): IndexedPrefix[] {
    const out: IndexedPrefix[] = [];
    this.#ordered().scanFrom(prefixOrder(prefix), (e) => {
      if (!keyPrefixContains(prefix, e.prefix)) return false;
      if (e.prefix.length > prefix.length) out.push(e);
      return true;
    });
    return out;
  }

  /** The prefixes in order, with the changes since the last query applied. */
  #ordered(): SortedPrefixes<IndexedPrefix> {
    const changes = this.#added.length + this.#removedSince.length;
    if (this.#sorted === undefined) {
      this.#sorted = SortedPrefixes.fromSorted(sortByOrder([...this.byKey.values()]));
    } else if (changes <= SPLICE_MAX || changes * 16 <= this.#sorted.size) {
      // a few changes: each one found by binary search and moved within its chunk
      const sorted = this.#sorted;
      for (const e of this.#removedSince) sorted.remove(e);
      for (const e of this.#added) if (!e.removed) sorted.insert(e);
    } else {
      // many: one pass over the list, merged with the additions sorted
      const base: IndexedPrefix[] = [];
      this.#sorted.forEach((e) => {
        if (!e.removed) base.push(e);
      });
      const added = sortByOrder(this.#added.filter((e) => !e.removed));
      this.#sorted = SortedPrefixes.fromSorted(added.length === 0 ? base : merge(base, added));
    }
    this.#added = [];
    this.#removedSince = [];
    return this.#sorted;
  }
}

/** Up to this many additions and removals since the last query (or one in 16 of the prefixes) are made one by one; more are merged. */
const SPLICE_MAX = 32;

/** `a` and `b` (both sorted) merged: a few additions cost a few binary searches, the rest is copying. */
function merge(a: readonly IndexedPrefix[], b: readonly IndexedPrefix[]): IndexedPrefix[] {
  const out = new Array<IndexedPrefix>(a.length + b.length);
  let i = 0;
  let k = 0;
  for (const e of b) {
    const at = lowerBound(a, e.order, i);
    while (i < at) out[k++] = a[i++];
    out[k++] = e;
  }
  while (i < a.length) out[k++] = a[i++];
  return out;
}

/**
 * The prefixes whose own rules changed, by group (what an apply must recompile): a list that may
 * name a prefix more than once (a batch marks 100,000 prefixes: a push each, not a map insert).
 */
export type DirtyPrefixes = Map<DstGroup, Prefix[]>;

/** Every attached interface's groups. */
export class RuleIndex {
  readonly groups = new Map<number, DstGroup>();
  /** the attached interfaces the index was built for */
  readonly ifindexes: readonly number[];
  readonly #attachedKey: string;

  constructor(ifindexes: readonly number[]) {
    this.ifindexes = [...new Set(ifindexes)];
    this.#attachedKey = RuleIndex.attachedKey(ifindexes);
  }

  /** Equal for the same set of interfaces. */
  static attachedKey(ifindexes: readonly number[]): string {
    return [...new Set(ifindexes)].sort((a, b) => a - b).join(',');
  }

  builtFor(ifindexes: readonly number[]): boolean {
    return this.#attachedKey === RuleIndex.attachedKey(ifindexes);
  }

  /** The group of (ifindex, family, proto); created when missing if `create`. */
  #group(ifindex: number, rule: CompileRule, create: boolean): DstGroup | undefined {
    const k = ifindex * 1024 + (rule.proto & 0xff) * 2 + (rule.family === 6 ? 1 : 0);
    let g = this.groups.get(k);
    if (g === undefined && create) this.groups.set(k, (g = new DstGroup(ifindex, rule.family, rule.proto)));
    return g;
  }

  /** Adds `rule` to the group of every attached interface it applies to (its family and protocol). */
  add(rule: CompileRule, dirty?: DirtyPrefixes): void {
    // indexed loops: a batch adds 100,000 rules, mostly before this is optimized (an iterator result per step)
    for (let k = 0; k < this.ifindexes.length; k++) {
      const ifindex = this.ifindexes[k];
      if (rule.ifindexes !== undefined && !rule.ifindexes.includes(ifindex)) continue;
      const g = this.#group(ifindex, rule, true)!;
      g.add(rule);
      if (dirty) markDirty(dirty, g, rule.destination);
    }
  }

  /** Removes `rule` (the very object added). */
  remove(rule: CompileRule, dirty?: DirtyPrefixes): void {
    for (let k = 0; k < this.ifindexes.length; k++) {
      const ifindex = this.ifindexes[k];
      if (rule.ifindexes !== undefined && !rule.ifindexes.includes(ifindex)) continue;
      const g = this.#group(ifindex, rule, false);
      if (g === undefined || !g.remove(rule)) continue;
      if (dirty) markDirty(dirty, g, rule.destination);
    }
  }

  /** Drops the groups without prefixes. */
  prune(): void {
    for (const [k, g] of this.groups) if (g.size === 0) this.groups.delete(k);
  }
}

function markDirty(dirty: DirtyPrefixes, g: DstGroup, p: Prefix): void {
  let list = dirty.get(g);
  if (list === undefined) dirty.set(g, (list = []));
  // the same prefix twice in a row (a rule replaced by one of the same destination) is listed once
  if (list.length === 0 || list[list.length - 1].key !== p.key) list.push(p);
}
