/**
 * The typed maps of tc_nexthop.bpf.o and the plumbing that executes an ApplyPlan on them, in the
 * order the plan prescribes. Reads back what the maps hold for adoption after a restart.
 */
import { defineSkeleton, type Skeleton, type SkeletonMaps } from '@bpfsteer/core-bpf';
import type { ApplyPlan } from './apply-plan.js';
import { emptyRuleValue, prefixKey, ruleValue, type KernelRules, type RuleValue } from './map-entries.js';
import {
  MAP,
  PROGRAM_NAME,
  counterCodec,
  ruleCodec,
  slotCodec,
  v4BucketCodec,
  v4BucketIndexCodec,
  v4KeyCodec,
  v4SubCellCodec,
  v6BucketCodec,
  v6BucketIndexCodec,
  v6KeyCodec,
  v6ShortCodec,
} from './map-codecs.js';
import { emptyV4Index, V4_SUB_CELLS, type V4Index, type V6Bucket, type V6Index } from './prefix-index.js';

export const nexthopSkeleton = defineSkeleton({
  programs: [PROGRAM_NAME],
  maps: {
    [MAP.v4Prefixes]: { key: v4KeyCodec, value: slotCodec },
    [MAP.v6Prefixes]: { key: v6KeyCodec, value: slotCodec },
    [MAP.rules]: { key: slotCodec, value: ruleCodec },
    [MAP.counters]: { key: slotCodec, value: counterCodec, perCpu: true },
    [MAP.v4Buckets]: { key: v4BucketIndexCodec, value: v4BucketCodec },
    [MAP.v4Sub]: { key: v4BucketIndexCodec, value: v4SubCellCodec },
    [MAP.v6Buckets]: { key: v6BucketIndexCodec, value: v6BucketCodec },
    [MAP.v6Short]: { key: slotCodec, value: v6ShortCodec },
  },
});

export type NexthopSkeleton = Skeleton<typeof PROGRAM_NAME, (typeof nexthopSkeleton)['maps']>;
export type NexthopMaps = SkeletonMaps<(typeof nexthopSkeleton)['maps']>;

/** The maps whose size follows the rule capacity, and the size each gets for `maxRules`. */
export function mapSizes(maxRules: number): Record<string, number> {
  return {
    [MAP.v4Prefixes]: maxRules,
    [MAP.v6Prefixes]: maxRules,
    [MAP.rules]: maxRules + 1,
    [MAP.counters]: maxRules + 1,
  };
}

export interface Counters {
  readonly packets: number;
  readonly bytes: number;
}

/** Everything the prefix and rule maps hold. */
export function readKernelRules(maps: NexthopMaps): KernelRules {
  const rules = new Map<number, RuleValue>();
  for (const [slot, v] of maps[MAP.rules].entries()) if (v.nh_family !== 0) rules.set(slot, v);
  return {
    v4Prefixes: [...maps[MAP.v4Prefixes].entries()],
    v6Prefixes: [...maps[MAP.v6Prefixes].entries()],
    rules,
  };
}

/** The index as the maps hold it. */
export function readIndex(maps: NexthopMaps): { v4: V4Index; v6: V6Index } {
  const v4 = emptyV4Index(subTables(maps));
  for (const [i, b] of maps[MAP.v4Buckets].entries()) {
    v4.longMask[i] = b.long_mask;
    v4.fallback[i] = b.fallback_slot;
    v4.onlySlot[i] = b.only_slot;
    v4.sub[i] = b.sub;
  }
  for (const [i, c] of maps[MAP.v4Sub].entries()) {
    v4.subMask[i] = c.long_mask;
    v4.subFallback[i] = c.fallback_slot;
    v4.subOnly[i] = c.only_slot;
  }
  const buckets = new Map<number, V6Bucket>();
  for (const [i, b] of maps[MAP.v6Buckets].entries()) {
    const m = b.long_mask;
    if (m[0] !== 0 || m[1] !== 0 || m[2] !== 0 || b.only_slot !== 0) buckets.set(i, { longMask: [m[0], m[1], m[2]], onlySlot: b.only_slot });
  }
  const short = maps[MAP.v6Short].get(0);
  return { v4, v6: { buckets, shortMask: short?.len_mask ?? 0n, shortOnlySlot: short?.only_slot ?? 0 } };
}

/** Number of IPv4 sub-tables the loaded object has room for. */
export function subTables(maps: NexthopMaps): number {
  return Math.floor(maps[MAP.v4Sub].map.maxEntries / V4_SUB_CELLS);
}

export function readCounters(maps: NexthopMaps, slots: readonly number[]): Map<number, Counters> {
  const out = new Map<number, Counters>();
  for (const slot of slots) {
    const perCpu = maps[MAP.counters].get(slot) ?? [];
    let packets = 0n;
    let bytes = 0n;
    for (const c of perCpu) {
      packets += c.packets;
      bytes += c.bytes;
    }
    out.set(slot, { packets: Number(packets), bytes: Number(bytes) });
  }
  return out;
}

function zeroCounters(maps: NexthopMaps): { packets: bigint; bytes: bigint }[] {
  return new Array(maps[MAP.counters].map.cpuSlots).fill(0).map(() => ({ packets: 0n, bytes: 0n }));
}

/** Runs the plan's writes in order: rules, prefixes, index, prefix removals, slot clean-up. */
export function executePlan(maps: NexthopMaps, plan: ApplyPlan): void {
  // 1. fresh rule values and their counters
  maps[MAP.rules].setMany(plan.writeRules.map((r) => [r.slot, ruleValue(r)] as const));
  const counters = maps[MAP.counters];
  for (const { from, to } of plan.moveCounters) counters.set(to, counters.get(from) ?? zeroCounters(maps));
  for (const slot of plan.resetCounters) counters.set(slot, zeroCounters(maps));
  // 2. prefix entries pointing at them
  const v4 = plan.setPrefixes.filter((r) => r.source.family === 4);
  const v6 = plan.setPrefixes.filter((r) => r.source.family === 6);
  maps[MAP.v4Prefixes].setMany(v4.map((r) => [prefixKey(r.source), r.slot] as const));
  maps[MAP.v6Prefixes].setMany(v6.map((r) => [prefixKey(r.source), r.slot] as const));
  // 3. the index switches to the new rule set: sub-table cells, then the buckets that use them
  const cell = (c: ApplyPlan['setV4Cells'][number]) =>
    [c.index, { long_mask: c.longMask, fallback_slot: c.fallbackSlot, only_slot: c.onlySlot }] as const;
  maps[MAP.v4Sub].setMany(plan.setV4Cells.map(cell));
  maps[MAP.v4Buckets].setMany(
    plan.setV4Buckets.map(
      (b) => [b.index, { long_mask: b.longMask, fallback_slot: b.fallbackSlot, only_slot: b.onlySlot, sub: b.sub }] as const,
    ),
  );
  maps[MAP.v6Buckets].setMany(
    plan.setV6Buckets.map((b) => [b.index, { long_mask: [...b.bucket.longMask], only_slot: b.bucket.onlySlot }] as const),
  );
  if (plan.v6Short !== undefined) maps[MAP.v6Short].set(0, { len_mask: plan.v6Short.mask, only_slot: plan.v6Short.onlySlot });
  maps[MAP.v4Sub].setMany(plan.clearV4Cells.map(cell));
  // 4. prefixes that are gone
  maps[MAP.v4Prefixes].deleteMany(plan.deletePrefixes.filter((p) => p.family === 4).map(prefixKey));
  maps[MAP.v6Prefixes].deleteMany(plan.deletePrefixes.filter((p) => p.family === 6).map(prefixKey));
  // 5. slots nothing points at any more
  clearSlots(maps, plan.clearSlots);
}

export function clearSlots(maps: NexthopMaps, slots: readonly number[]): void {
  maps[MAP.rules].setMany(slots.map((s) => [s, emptyRuleValue()] as const));
  for (const slot of slots) maps[MAP.counters].set(slot, zeroCounters(maps));
}
