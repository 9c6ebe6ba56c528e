/**
 * The port half of the rule compiler: given the rules of one src node, the partition of 0..65535
 * into maximal intervals with one winning rule each, and the aligned power-of-two blocks that the
 * tctp_port trie stores (disjoint, so any hit is the answer).
 *
 * Precedence among rules that match a packet (the documented order): longest destination prefix,
 * then longest source prefix, then narrowest port range (fewest ports); a deny rule wins a tie;
 * then the range that starts lower. Within one src node that is a total order: two rules equal in
 * all of these would have the same identity.
 */
import { byNumber, sortSmall } from './small-sort.js';

export interface PartitionRule {
  readonly id: number;
  readonly dstLength: number;
  readonly srcLength: number;
  readonly low: number;
  readonly high: number;
  readonly deny: boolean;
}

/** A port interval [low, high] won by rule `ruleId`. */
export interface PortInterval {
  readonly low: number;
  readonly high: number;
  readonly ruleId: number;
}

/** One tctp_port entry: ports port..port + 2^(16-bits) - 1. */
export interface PortBlock {
  readonly port: number;
  /** leading port bits that are fixed (0..16): prefixlen = TCTP_PORT_FIXED_BITS + bits */
  readonly bits: number;
  readonly ruleId: number;
}

/** Negative when `a` takes precedence over `b`. */
export function comparePrecedence(a: PartitionRule, b: PartitionRule): number {
  return (
    b.dstLength - a.dstLength ||
    b.srcLength - a.srcLength ||
    a.high - a.low - (b.high - b.low) ||
    (b.deny ? 1 : 0) - (a.deny ? 1 : 0) ||
    a.low - b.low ||
    a.id - b.id
  );
}

/** A binary min-heap of ranks (smaller rank = higher precedence). */
class RankHeap {
  readonly #items: number[] = [];
  get size(): number {
    return this.#items.length;
  }
  top(): number {
    return this.#items[0];
  }
  push(v: number): void {
    const a = this.#items;
    a.push(v);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p] <= v) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = v;
  }
  pop(): void {
    const a = this.#items;
    const last = a.pop() as number;
    if (a.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && a[r] < a[l] ? r : l;
      if (a[c] >= last) break;
      a[i] = a[c];
      i = c;
    }
    a[i] = last;
  }
}

/**
 * The maximal intervals of 0..65535 with their winning rule, ascending; ports no rule covers are
 * left out. A sweep over the interval bounds with a heap of the covering rules: O(n log n).
 */
export function partitionPorts(rules: readonly PartitionRule[]): PortInterval[] {
  const n = rules.length;
  if (n === 0) return [];
  if (n === 1) return [{ low: rules[0].low, high: rules[0].high, ruleId: rules[0].id }];
  // (a node's few rules: sortSmall sorts them without a work list per sort)
  const ranked = sortSmall(rules.slice(), comparePrecedence); // rank = index
  const byLow = new Array<number>(n);
  for (let i = 0; i < n; i++) byLow[i] = i;
  sortSmall(byLow, (x, y) => ranked[x].low - ranked[y].low);
  // the bounds of the intervals, ascending, each once
  const points = new Array<number>(2 * n);
  for (let i = 0; i < n; i++) {
    points[2 * i] = ranked[i].low;
    points[2 * i + 1] = ranked[i].high + 1;
  }
  sortSmall(points, byNumber);
  let distinct = 1;
  for (let i = 1; i < points.length; i++) if (points[i] !== points[distinct - 1]) points[distinct++] = points[i];
  points.length = distinct;
  const heap = new RankHeap();
  const out: PortInterval[] = [];
  let next = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const start = points[i];
    const end = points[i + 1] - 1;
    while (next < byLow.length && ranked[byLow[next]].low <= start) heap.push(byLow[next++]);
    while (heap.size > 0 && ranked[heap.top()].high < start) heap.pop();
    if (heap.size === 0) continue;
    const winner = ranked[heap.top()].id;
    const last = out[out.length - 1];
    if (last !== undefined && last.ruleId === winner && last.high + 1 === start) {
      out[out.length - 1] = { low: last.low, high: end, ruleId: winner };
    } else {
      out.push({ low: start, high: end, ruleId: winner });
    }
  }
  return out;
}

/** Appends the aligned power-of-two blocks that exactly cover [low, high] (ascending, fewest possible). */
export function pushBlocks(out: PortBlock[], low: number, high: number, ruleId: number): void {
  let a = low;
  while (a <= high) {
    let size = a === 0 ? 65536 : a & -a;
    while (a + size - 1 > high) size >>>= 1;
    out.push({ port: a, bits: 16 - (31 - Math.clz32(size)), ruleId });
    a += size;
  }
}

/** The intervals `blocks` (ascending, as portBlocks gives them) cover: adjacent blocks of one rule merged. */
export function blockIntervals(blocks: readonly PortBlock[]): PortInterval[] {
  const out: PortInterval[] = [];
  for (const b of blocks) {
    const high = b.port + 2 ** (16 - b.bits) - 1;
    const last = out[out.length - 1];
    if (last !== undefined && last.ruleId === b.ruleId && last.high + 1 === b.port) out[out.length - 1] = { low: last.low, high, ruleId: b.ruleId };
    else out.push({ low: b.port, high, ruleId: b.ruleId });
  }
  return out;
}

/** The tctp_port blocks of a src node's rules. */
export function portBlocks(rules: readonly PartitionRule[]): PortBlock[] {
  // the common case, one rule of one port: a list of the exact size (these lists live long)
  if (rules.length === 1 && rules[0].low === rules[0].high) return [{ port: rules[0].low, bits: 16, ruleId: rules[0].id }];
  const out: PortBlock[] = [];
  for (const iv of partitionPorts(rules)) pushBlocks(out, iv.low, iv.high, iv.ruleId);
  return out;
}
