/**
 * The difference between the rules in the maps and the desired rules, as an ordered list of map
 * writes that never lets the program see a dangling reference:
 *   1. write the rule values (and counters) of fresh slots,
 *   2. create/repoint prefix entries,
 *   3. switch the prefix-length index: the v4 sub-table cells in use afterwards, the v4 buckets,
 *      the v6 buckets and short-length entry, then the cells of sub-tables no longer used,
 *   4. delete prefix entries that are gone,
 *   5. clear the slots no rule uses any more.
 */
import type { IpPrefix } from '@bpfsteer/ip';
import {
  computeV4Index,
  computeV6Index,
  diffV4Index,
  EMPTY_V6_BUCKET,
  V4_SUB_CELLS,
  sameV6Bucket,
  type V4Index,
  type V6Bucket,
  type V6Index,
} from './prefix-index.js';
import { assignSlots, sameKernelValue, type PlacedRule, type ResolvedRule } from './slot-allocation.js';

export interface ApplyPlan {
  /** step 1: rule values for slots no live prefix points to (or rewritten in place when full) */
  readonly writeRules: readonly PlacedRule[];
  /** step 1: counters of a changed rule follow it to its new slot */
  readonly moveCounters: readonly { readonly from: number; readonly to: number }[];
  /** step 1: counters of new rules start at zero */
  readonly resetCounters: readonly number[];
  /** step 2 */
  readonly setPrefixes: readonly PlacedRule[];
  /** step 3 */
  readonly setV4Cells: readonly V4CellWrite[];
  readonly setV4Buckets: readonly {
    readonly index: number;
    readonly longMask: number;
    readonly fallbackSlot: number;
    readonly onlySlot: number;
    readonly sub: number;
  }[];
  /** buckets whose mask changes (emptied ones get the zero mask) */
  readonly setV6Buckets: readonly { readonly index: number; readonly bucket: V6Bucket }[];
  /** the new tcnh_v6_short value; undefined when unchanged */
  readonly v6Short: { readonly mask: bigint; readonly onlySlot: number } | undefined;
  /** cells of sub-tables that no bucket uses any more (after the buckets switched) */
  readonly clearV4Cells: readonly V4CellWrite[];
  /** step 4 */
  readonly deletePrefixes: readonly IpPrefix[];
  /** step 5 */
  readonly clearSlots: readonly number[];
  readonly report: { readonly added: number; readonly updated: number; readonly removed: number };
  /** the index after the plan ran */
  readonly v4Index: V4Index;
  readonly v6Index: V6Index;
}

export interface V4CellWrite {
  readonly index: number;
  readonly longMask: number;
  readonly fallbackSlot: number;
  readonly onlySlot: number;
}

export function isEmptyPlan(p: ApplyPlan): boolean {
  return (
    p.writeRules.length === 0 &&
    p.setPrefixes.length === 0 &&
    p.setV4Cells.length === 0 &&
    p.setV4Buckets.length === 0 &&
    p.clearV4Cells.length === 0 &&
    p.setV6Buckets.length === 0 &&
    p.v6Short === undefined &&
    p.deletePrefixes.length === 0 &&
    p.clearSlots.length === 0
  );
}

/**
 * Plans the writes that turn `previous` (what the maps hold, with its index `actual`) into `next`
 * (the output of assignSlots).
 */
export function planApply(
  previous: ReadonlyMap<string, PlacedRule>,
  next: ReadonlyMap<string, PlacedRule>,
  actual: { readonly v4: V4Index; readonly v6: V6Index },
): ApplyPlan {
  const writeRules: PlacedRule[] = [];
  const moveCounters: { from: number; to: number }[] = [];
  const resetCounters: number[] = [];
  const setPrefixes: PlacedRule[] = [];
  let added = 0;
  let updated = 0;
  for (const [key, rule] of next) {
    const prev = previous.get(key);
    if (!prev) added++;
    else if (!sameKernelValue(prev, rule)) updated++;
    if (!prev || prev.slot !== rule.slot || !sameKernelValue(prev, rule)) writeRules.push(rule);
    if (!prev) resetCounters.push(rule.slot);
    else if (prev.slot !== rule.slot) moveCounters.push({ from: prev.slot, to: rule.slot });
    if (!prev || prev.slot !== rule.slot) setPrefixes.push(rule);
  }
  const deletePrefixes: IpPrefix[] = [];
  for (const [key, prev] of previous) if (!next.has(key)) deletePrefixes.push(prev.source);
  const usedNow = new Set([...next.values()].map((r) => r.slot));
  const clearSlots = [...new Set([...previous.values()].map((r) => r.slot))].filter((s) => !usedNow.has(s));

  const rules = [...next.values()].map((r) => ({ prefix: r.source, slot: r.slot }));
  const v4Index = computeV4Index(rules, actual.v4);
  const v4Diff = diffV4Index(actual.v4, v4Index);
  const setV4Buckets = v4Diff.buckets.map((index) => ({
    index,
    longMask: v4Index.longMask[index],
    fallbackSlot: v4Index.fallback[index],
    onlySlot: v4Index.onlySlot[index],
    sub: v4Index.sub[index],
  }));
  const subsInUse = new Set<number>();
  for (const n of v4Index.sub) if (n !== 0) subsInUse.add(n);
  const cellWrite = (index: number): V4CellWrite => ({
    index,
    longMask: v4Index.subMask[index],
    fallbackSlot: v4Index.subFallback[index],
    onlySlot: v4Index.subOnly[index],
  });
  const inUse = (cell: number) => subsInUse.has(Math.floor(cell / V4_SUB_CELLS) + 1);
  const setV4Cells = v4Diff.cells.filter(inUse).map(cellWrite);
  const clearV4Cells = v4Diff.cells.filter((c) => !inUse(c)).map(cellWrite);
  const v6Index = computeV6Index(rules);
  const setV6Buckets: { index: number; bucket: V6Bucket }[] = [];
  for (const [index, bucket] of v6Index.buckets) {
    const old = actual.v6.buckets.get(index) ?? EMPTY_V6_BUCKET;
    if (!sameV6Bucket(old, bucket)) setV6Buckets.push({ index, bucket });
  }
  for (const [index, old] of actual.v6.buckets) {
    if (!v6Index.buckets.has(index) && !sameV6Bucket(old, EMPTY_V6_BUCKET)) setV6Buckets.push({ index, bucket: EMPTY_V6_BUCKET });
  }
  return {
    writeRules,
    moveCounters,
    resetCounters,
    setPrefixes,
    setV4Cells,
    setV4Buckets,
    setV6Buckets,
    v6Short:
      v6Index.shortMask === actual.v6.shortMask && v6Index.shortOnlySlot === actual.v6.shortOnlySlot
        ? undefined
        : { mask: v6Index.shortMask, onlySlot: v6Index.shortOnlySlot },
    clearV4Cells,
    deletePrefixes,
    clearSlots,
    report: { added, updated, removed: deletePrefixes.length },
    v4Index,
    v6Index,
  };
}

/**
 * True when adding the new entries before removing the old ones would overflow a map: the prefix
 * hashes hold `capacity` entries per family and the rule slots `capacity` rules.
 */
export function needsRemovalFirst(
  previous: ReadonlyMap<string, PlacedRule>,
  desired: readonly ResolvedRule[],
  capacity: number,
): boolean {
  const count = { 4: 0, 6: 0 };
  for (const r of previous.values()) count[r.source.family]++;
  let freshSlots = 0;
  for (const d of desired) {
    const prev = previous.get(d.source.text);
    if (!prev) count[d.source.family]++;
    if (!prev || !sameKernelValue(prev, d)) freshSlots++;
  }
  return count[4] > capacity || count[6] > capacity || previous.size + freshSlots > capacity;
}

export interface Convergence {
  /** executed in order; the first only removes when the maps lack room for make-before-break */
  readonly plans: readonly ApplyPlan[];
  readonly next: Map<string, PlacedRule>;
  /** the index the maps hold afterwards */
  readonly index: { readonly v4: V4Index; readonly v6: V6Index };
  readonly report: { readonly added: number; readonly updated: number; readonly removed: number };
}

/**
 * Plans the way from `previous` to `desired`. Normally one plan that adds before it removes (no
 * packet ever misses a rule that stays or arrives); when the maps are too full for that, a first
 * plan removes the rules that go away, then a second adds and changes.
 */
export function planConvergence(
  previous: ReadonlyMap<string, PlacedRule>,
  actual: { readonly v4: V4Index; readonly v6: V6Index },
  desired: readonly ResolvedRule[],
  capacity: number,
): Convergence {
  const plans: ApplyPlan[] = [];
  let from = previous;
  let index = actual;
  if (needsRemovalFirst(previous, desired, capacity)) {
    const wanted = new Set(desired.map((d) => d.source.text));
    const kept = new Map([...previous].filter(([key]) => wanted.has(key)));
    const removal = planApply(previous, kept, index);
    plans.push(removal);
    from = kept;
    index = { v4: removal.v4Index, v6: removal.v6Index };
  }
  const next = assignSlots(from, desired, capacity);
  const last = planApply(from, next, index);
  plans.push(last);
  const report = plans.reduce(
    (a, p) => ({ added: a.added + p.report.added, updated: a.updated + p.report.updated, removed: a.removed + p.report.removed }),
    { added: 0, updated: 0, removed: 0 },
  );
  return { plans: plans.filter((p) => !isEmptyPlan(p)), next, report, index: { v4: last.v4Index, v6: last.v6Index } };
}
