/**
 * The typed maps of tc_tproxy.bpf.o, their sizes (derived from the config before load), reading the
 * rule maps back for adoption, and running a plan's writes (PlanWrites) on them in the plan's order
 * (packed by plan-packing.ts).
 */
import { MapLayoutError, codecs, defineSkeleton, type BpfMap, type Skeleton, type SkeletonMaps } from '@bpfsteer/core-bpf';
import {
  MAP,
  PROGRAM,
  counterCodec,
  ctKeyCodec,
  ctValueCodec,
  dstKeyCodec,
  dstValueCodec,
  hostKeyCodec,
  ifAddrKeyCodec,
  ifaceCodec,
  ifStatsCodec,
  nodeCodec,
  portKeyCodec,
  portValueCodec,
  ruleCodec,
  srcKeyCodec,
  summaryCodec,
  type DstKey,
  type DstValue,
  type RuleValue,
} from './map-codecs.js';
import {
  packDstDeletes,
  packDstWrites,
  packPortDeletes,
  packPortWrites,
  packSlotWrites,
  packSrcDeletes,
  packSrcWrites,
  packZeroed,
  type Packed,
} from './plan-packing.js';
import type { PlanWrites } from './plan-writes.js';
import { AF_INET, DEFAULT_TRIE_ENTRIES, DST_FIXED_BITS, MIN_HOST_ENTRIES } from './tproxy-constants.js';
import { isHostKey } from './trie-keys.js';
import type { KernelTries } from './trie-adoption.js';

export const tproxySkeleton = defineSkeleton({
  programs: [PROGRAM.ingress, PROGRAM.egress],
  maps: {
    [MAP.dst]: { key: dstKeyCodec, value: dstValueCodec },
    [MAP.dstHost]: { key: hostKeyCodec, value: dstValueCodec },
    [MAP.src]: { key: srcKeyCodec, value: nodeCodec },
    [MAP.port]: { key: portKeyCodec, value: portValueCodec },
    [MAP.rules]: { key: codecs.u32, value: ruleCodec },
    [MAP.ruleHits]: { key: codecs.u32, value: counterCodec, perCpu: true },
    [MAP.ifaces]: { key: codecs.u32, value: ifaceCodec },
    [MAP.ifAddrs]: { key: ifAddrKeyCodec, value: codecs.u32 },
    [MAP.ifStats]: { key: codecs.u32, value: ifStatsCodec, perCpu: true },
    [MAP.ctTcp]: { key: ctKeyCodec, value: ctValueCodec },
    [MAP.ctUdp]: { key: ctKeyCodec, value: ctValueCodec },
    [MAP.summary]: { key: codecs.u32, value: summaryCodec },
  },
});

export type TproxySkeleton = Skeleton<(typeof PROGRAM)[keyof typeof PROGRAM], (typeof tproxySkeleton)['maps']>;
export type TproxyMaps = SkeletonMaps<(typeof tproxySkeleton)['maps']>;

/**
 * max_entries of the maps that follow the config. The tries allocate nodes on use
 * (BPF_F_NO_PREALLOC), so their limits cost nothing until used; tctp_dst_host, a hash, allocates
 * its buckets up front (16 bytes each, max_entries rounded up to a power of two), so it gets
 * 2 entries per rule (e.g. every rule on 2 interfaces), at least MIN_HOST_ENTRIES. tctp_dst has the
 * same limit: the planner counts trie and host entries together against it (CompileLimits.dst), so
 * the hash can never be the one that overflows. tctp_src 4 entries per rule, tctp_port 16 per rule
 * (a range splits into at most 31 aligned blocks; single ports take one), each at least
 * TCTP_MAX_TRIE_ENTRIES. Connection tracking (LRU hashes, preallocated): `ctEntries` per protocol.
 */
export function mapSizes(maxRules: number, ctEntries: number): Record<string, number> {
  const dst = Math.max(MIN_HOST_ENTRIES, maxRules * 2);
  return {
    [MAP.dst]: dst,
    [MAP.dstHost]: dst,
    [MAP.src]: Math.max(DEFAULT_TRIE_ENTRIES, maxRules * 4),
    [MAP.port]: Math.max(DEFAULT_TRIE_ENTRIES, maxRules * 16),
    [MAP.rules]: maxRules + 1,
    [MAP.ruleHits]: maxRules + 1,
    [MAP.ctTcp]: ctEntries,
    [MAP.ctUdp]: ctEntries,
  };
}

/**
 * Everything the rule maps hold (tctp_dst_host entries as full-length dst keys), and the
 * full-length keys found in the trie, where no lookup reaches them (to delete).
 */
export function readKernelTries(maps: TproxyMaps): { tries: KernelTries; misplaced: DstKey[] } {
  const rules: Array<readonly [number, RuleValue]> = [];
  for (const [id, v] of maps[MAP.rules].entries()) if (v.action !== 0) rules.push([id, v]);
  const dst: Array<readonly [DstKey, DstValue]> = [];
  const misplaced: DstKey[] = [];
  for (const [k, v] of maps[MAP.dst].entries()) {
    if (isHostKey(k)) misplaced.push(k);
    else dst.push([k, v]);
  }
  for (const [k, v] of maps[MAP.dstHost].entries()) {
    const key: DstKey = { ...k, prefixlen: DST_FIXED_BITS + (k.family === AF_INET ? 32 : 128) };
    dst.push([key, v]);
  }
  return { tries: readTries(maps, dst, rules), misplaced };
}

function readTries(maps: TproxyMaps, dst: KernelTries['dst'], rules: KernelTries['rules']): KernelTries {
  return {
    dst,
    src: [...maps[MAP.src].entries()].map(([k, v]) => [k, v.id] as const),
    port: [...maps[MAP.port].entries()].map(([k, v]) => [k, v.rule_id] as const),
    rules,
  };
}

/** Writes packed entries with one batch (raw bytes: BpfMap checks only their sizes). */
function writePacked(map: BpfMap, p: Packed): void {
  if (p.count === 0) return;
  const ks = map.keySize;
  const vs = map.valueBufferSize;
  if (p.keys.length !== p.count * ks || p.values.length !== p.count * vs) {
    throw new MapLayoutError(map.name, `packed entries of ${p.keys.length / p.count}+${p.values.length / p.count} bytes, the map has ${ks}+${vs}`);
  }
  map.updatePacked(p.keys, p.values, p.count);
}

/** Deletes packed keys with one batch. */
function deletePacked(map: BpfMap, keys: Buffer, count: number): void {
  if (count === 0) return;
  const ks = map.keySize;
  if (keys.length !== count * ks) throw new MapLayoutError(map.name, `packed keys of ${keys.length / count} bytes, the map has ${ks}`);
  map.deletePacked(keys, count);
}

/** Runs the plan's map operations in order (see apply-plan.ts), each kind as one batch of packed entries. */
export function executePlan(maps: TproxyMaps, plan: PlanWrites): void {
  // a kind without entries is not packed at all (a single change has entries of two or three kinds)
  if (plan.slots.length > 0) writePacked(maps[MAP.rules].map, packSlotWrites(plan.slots));
  const hits = maps[MAP.ruleHits].map;
  if (plan.counterResets.length > 0) writePacked(hits, packZeroed(plan.counterResets, hits.valueBufferSize));
  if (plan.made.port > 0) writePacked(maps[MAP.port].map, packPortWrites(plan));
  if (plan.made.src > 0) writePacked(maps[MAP.src].map, packSrcWrites(plan));
  // full-length destinations go to the hash; writes stay longest first, deletes shortest first
  const { host: hostWrites, trie: trieWrites } = plan.nodes.written;
  const { host: hostDeletes, trie: trieDeletes } = plan.nodes.dropped;
  if (hostWrites.length > 0) writePacked(maps[MAP.dstHost].map, packDstWrites(hostWrites, true));
  if (trieWrites.length > 0) writePacked(maps[MAP.dst].map, packDstWrites(trieWrites));
  if (trieDeletes.length > 0) deletePacked(maps[MAP.dst].map, packDstDeletes(trieDeletes), trieDeletes.length);
  if (hostDeletes.length > 0) deletePacked(maps[MAP.dstHost].map, packDstDeletes(hostDeletes, true), hostDeletes.length);
  if (plan.gone.src > 0) deletePacked(maps[MAP.src].map, packSrcDeletes(plan).keys, plan.gone.src);
  if (plan.gone.port > 0) deletePacked(maps[MAP.port].map, packPortDeletes(plan).keys, plan.gone.port);
  const rules = maps[MAP.rules].map;
  if (plan.ruleClears.length > 0) writePacked(rules, packZeroed(plan.ruleClears, rules.valueBufferSize)); // action 0: an unused slot
}

export interface Counter {
  readonly packets: number;
  readonly bytes: number;
}

/** Hit counters of every rule slot (summed over CPUs), by rule id. */
export function readRuleHits(maps: TproxyMaps): Map<number, Counter> {
  const out = new Map<number, Counter>();
  for (const [id, perCpu] of maps[MAP.ruleHits].entries()) {
    let packets = 0n;
    let bytes = 0n;
    for (const c of perCpu) {
      packets += c.packets;
      bytes += c.bytes;
    }
    if (packets !== 0n || bytes !== 0n) out.set(id, { packets: Number(packets), bytes: Number(bytes) });
  }
  return out;
}
