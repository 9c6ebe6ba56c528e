/**
 * The difference between the rules in the maps and the desired rules, as an ordered list of map
 * writes that never lets the program see a dangling reference:
 *   1. write the rule values (and counters) of fresh slots,
 *   2. create/repoint prefix entries,
 *   3. switch the prefix-length index (v4 buckets, v6 buckets and short-length mask),
 *   4. delete prefix entries that are gone,
 *   5. clear the slots no rule uses any more.
 */
import type { IpPrefix } from './ip-address.js';
import {
  computeV4Index,
  computeV6Index,
  diffV4Index,
  sameV6Bucket,
  type V4Index,
  type V6Bucket,
  type V6Index,
} from './prefix-index.js';
import { sameKernelValue, type PlacedRule } from './slot-allocation.js';

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
  readonly setV4Buckets: readonly { readonly index: number; readonly longMask: number; readonly fallbackSlot: number }[];
  readonly setV6Buckets: readonly { readonly key: string; readonly bucket: V6Bucket }[];
  /** undefined when unchanged */
  readonly v6ShortMask: bigint | undefined;
  readonly deleteV6Buckets: readonly string[];
  /** step 4 */
  readonly deletePrefixes: readonly IpPrefix[];
  /** step 5 */
  readonly clearSlots: readonly number[];
  readonly report: { readonly added: number; readonly updated: number; readonly removed: number };
  /** the index after the plan ran */
  readonly v4Index: V4Index;
  readonly v6Index: V6Index;
}

export function isEmptyPlan(p: ApplyPlan): boolean {
  return (
    p.writeRules.length === 0 &&
    p.setPrefixes.length === 0 &&
    p.setV4Buckets.length === 0 &&
    p.setV6Buckets.length === 0 &&
    p.v6ShortMask === undefined &&
    p.deleteV6Buckets.length === 0 &&
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
  const v4Index = computeV4Index(rules);
  const setV4Buckets = diffV4Index(actual.v4, v4Index).map((index) => ({
    index,
    longMask: v4Index.longMask[index],
    fallbackSlot: v4Index.fallback[index],
  }));
  const v6Index = computeV6Index(rules);
  const setV6Buckets: { key: string; bucket: V6Bucket }[] = [];
  for (const [key, bucket] of v6Index.buckets) {
    const old = actual.v6.buckets.get(key);
    if (!old || !sameV6Bucket(old, bucket)) setV6Buckets.push({ key, bucket });
  }
  const deleteV6Buckets = [...actual.v6.buckets.keys()].filter((k) => !v6Index.buckets.has(k));
  return {
    writeRules,
    moveCounters,
    resetCounters,
    setPrefixes,
    setV4Buckets,
    setV6Buckets,
    v6ShortMask: v6Index.shortMask === actual.v6.shortMask ? undefined : v6Index.shortMask,
    deleteV6Buckets,
    deletePrefixes,
    clearSlots,
    report: { added, updated, removed: deletePrefixes.length },
    v4Index,
    v6Index,
  };
}
