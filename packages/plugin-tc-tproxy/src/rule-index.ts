/**
 * The compiled rules by dst trie group, kept between applies so that an apply recompiles only the
 * dst nodes a change touches. A group is one (interface, family, protocol) — the fixed part of a
 * tctp_dst key; within it each destination prefix of some rule is a dst node, holding its own rules
 * plus those of every shorter prefix of the group that contains it (compile-rules.ts).
 *
 * A change to the rules of prefix P changes the node of P and the nodes of the prefixes P contains
 * (its descendants), nothing else. Descendants are found in the group's prefixes sorted by
 * (address, length): the prefixes P contains are the run that starts where P sorts.
 */
import type { CompileRule } from './compile-rules.js';
import { keyPrefixContains, prefixKey, type IpFamily, type Prefix } from './key-prefix.js';

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
  const b = prefix.bytes;
  if (prefix.family === 4) return (((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0) * 64 + prefix.length;
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[b[i]];
  return s + String(prefix.length).padStart(3, '0');
}

function byOrder(a: IndexedPrefix, b: IndexedPrefix): number {
  return a.order < b.order ? -1 : a.order > b.order ? 1 : 0;
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
  readonly #lengthCount = new Map<number, number>();
  #lengths: number[] | undefined;
  /** by order; built on the first descendant query, then merged with the changes since */
  #sorted: IndexedPrefix[] | undefined;
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
    const n = this.#lengthCount.get(p.length) ?? 0;
    this.#lengthCount.set(p.length, n + 1);
    if (n === 0) this.#lengths = undefined;
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
      const n = this.#lengthCount.get(p.length)! - 1;
      if (n === 0) {
        this.#lengthCount.delete(p.length);
        this.#lengths = undefined;
      } else this.#lengthCount.set(p.length, n);
      if (this.#sorted !== undefined) this.#removedSince.push(entry);
    }
    return true;
  }

  /** The prefix lengths present, ascending. */
  lengths(): readonly number[] {
    if (this.#lengths === undefined) this.#lengths = [...this.#lengthCount.keys()].sort((a, b) => a - b);
    return this.#lengths;
  }

  /** The rules of the node of `entry`: those of every shorter prefix containing it, then its own. */
  rulesOf(entry: IndexedPrefix): readonly CompileRule[] {
    const { bytes, length } = entry.prefix;
    let all: CompileRule[] | undefined;
    for (const len of this.lengths()) {
      if (len >= length) break;
      const anc = this.byKey.get(prefixKey(bytes, len));
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
    for (const entry of this.#sortedEntries()) {
      while (stack.length > 0 && !keyPrefixContains(stack[stack.length - 1].prefix, entry.prefix)) {
        stack.pop();
        inherited.pop();
      }
      const above = inherited.length > 0 ? inherited[inherited.length - 1] : undefined;
      const rules = above === undefined ? entry.own : appendAll(above.slice(), entry.own);
      visit(entry, rules);
      stack.push(entry);
      inherited.push(rules as CompileRule[]); // read only from here on (copied before appending)
    }
  }

  /** The present prefixes strictly inside `prefix` (which need not be present). */
  descendants(prefix: Prefix): IndexedPrefix[] {
    const sorted = this.#sortedEntries();
    const out: IndexedPrefix[] = [];
    for (let i = lowerBound(sorted, prefixOrder(prefix), 0); i < sorted.length; i++) {
      const e = sorted[i];
      if (!keyPrefixContains(prefix, e.prefix)) break;
      if (e.prefix.length > prefix.length) out.push(e);
    }
    return out;
  }

  #sortedEntries(): readonly IndexedPrefix[] {
    if (this.#sorted === undefined) {
      this.#sorted = [...this.byKey.values()].sort(byOrder);
    } else if (this.#added.length + this.#removedSince.length <= SPLICE_MAX) {
      // a few changes: found by binary search and spliced in place (a memmove, not a copy)
      const sorted = this.#sorted;
      for (const e of this.#removedSince) {
        for (let i = lowerBound(sorted, e.order, 0); i < sorted.length && sorted[i].order === e.order; i++) {
          if (sorted[i] !== e) continue;
          sorted.splice(i, 1);
          break;
        }
      }
      for (const e of this.#added) if (!e.removed) sorted.splice(lowerBound(sorted, e.order, 0), 0, e);
    } else {
      const base = this.#removedSince.length > 0 ? this.#sorted.filter((e) => !e.removed) : this.#sorted;
      const added = this.#added.filter((e) => !e.removed).sort(byOrder);
      this.#sorted = added.length === 0 ? base : merge(base, added);
    }
    this.#added = [];
    this.#removedSince = [];
    return this.#sorted;
  }
}

/** Up to this many additions and removals since the last sort are spliced in; more are merged. */
const SPLICE_MAX = 32;

/** The first index of `sorted` whose order is not below `o`, searching from `from`. */
function lowerBound(sorted: readonly IndexedPrefix[], o: number | string, from: number): number {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid].order < o) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

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

/** The prefixes whose own rules changed, by group (what an apply must recompile). */
export type DirtyPrefixes = Map<DstGroup, Map<string, Prefix>>;

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
    for (const ifindex of this.ifindexes) {
      if (rule.ifindexes !== undefined && !rule.ifindexes.includes(ifindex)) continue;
      const g = this.#group(ifindex, rule, true)!;
      g.add(rule);
      if (dirty) markDirty(dirty, g, rule.destination);
    }
  }

  /** Removes `rule` (the very object added). */
  remove(rule: CompileRule, dirty?: DirtyPrefixes): void {
    for (const ifindex of this.ifindexes) {
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
  let m = dirty.get(g);
  if (m === undefined) dirty.set(g, (m = new Map()));
  m.set(p.key, p);
}
