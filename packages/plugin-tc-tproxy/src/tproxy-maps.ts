/**
 * The typed maps of tc_tproxy.bpf.o, their sizes (derived from the config before load), reading the
 * rule maps back for adoption, and running an ApplyPlan on them in the plan's order.
 */
import { codecs, defineSkeleton, type Skeleton, type SkeletonMaps } from '@bpfsteer/core-bpf';
import type { ApplyPlan } from './apply-plan.js';
import {
  MAP,
  PROGRAM,
  counterCodec,
  ctKeyCodec,
  ctValueCodec,
  dstKeyCodec,
  ifAddrKeyCodec,
  ifaceCodec,
  ifStatsCodec,
  nodeCodec,
  portKeyCodec,
  portValueCodec,
  ruleCodec,
  srcKeyCodec,
  type RuleValue,
} from './map-codecs.js';
import { DEFAULT_TRIE_ENTRIES } from './tproxy-constants.js';
import type { KernelTries } from './trie-adoption.js';

export const tproxySkeleton = defineSkeleton({
  programs: [PROGRAM.ingress, PROGRAM.egress],
  maps: {
    [MAP.dst]: { key: dstKeyCodec, value: nodeCodec },
    [MAP.src]: { key: srcKeyCodec, value: nodeCodec },
    [MAP.port]: { key: portKeyCodec, value: portValueCodec },
    [MAP.rules]: { key: codecs.u32, value: ruleCodec },
    [MAP.ruleHits]: { key: codecs.u32, value: counterCodec, perCpu: true },
    [MAP.ifaces]: { key: codecs.u32, value: ifaceCodec },
    [MAP.ifAddrs]: { key: ifAddrKeyCodec, value: codecs.u32 },
    [MAP.ifStats]: { key: codecs.u32, value: ifStatsCodec, perCpu: true },
    [MAP.ctTcp]: { key: ctKeyCodec, value: ctValueCodec },
    [MAP.ctUdp]: { key: ctKeyCodec, value: ctValueCodec },
  },
});

export type TproxySkeleton = Skeleton<(typeof PROGRAM)[keyof typeof PROGRAM], (typeof tproxySkeleton)['maps']>;
export type TproxyMaps = SkeletonMaps<(typeof tproxySkeleton)['maps']>;

/**
 * max_entries of the maps that follow the config. The tries allocate nodes on use
 * (BPF_F_NO_PREALLOC), so their limits are generous: tctp_dst and tctp_src 4 entries per rule
 * (e.g. every rule on 4 interfaces), tctp_port 16 per rule (a range splits into at most 31 aligned
 * blocks; single ports take one), each at least TCTP_MAX_TRIE_ENTRIES.
 */
export function mapSizes(maxRules: number, ctEntries: number): Record<string, number> {
  return {
    [MAP.dst]: Math.max(DEFAULT_TRIE_ENTRIES, maxRules * 4),
    [MAP.src]: Math.max(DEFAULT_TRIE_ENTRIES, maxRules * 4),
    [MAP.port]: Math.max(DEFAULT_TRIE_ENTRIES, maxRules * 16),
    [MAP.rules]: maxRules + 1,
    [MAP.ruleHits]: maxRules + 1,
    [MAP.ctTcp]: ctEntries,
    [MAP.ctUdp]: ctEntries,
  };
}

/** Everything the rule maps hold. */
export function readKernelTries(maps: TproxyMaps): KernelTries {
  const rules: Array<readonly [number, RuleValue]> = [];
  for (const [id, v] of maps[MAP.rules].entries()) if (v.action !== 0) rules.push([id, v]);
  return {
    dst: [...maps[MAP.dst].entries()].map(([k, v]) => [k, v.id] as const),
    src: [...maps[MAP.src].entries()].map(([k, v]) => [k, v.id] as const),
    port: [...maps[MAP.port].entries()].map(([k, v]) => [k, v.rule_id] as const),
    rules,
  };
}

const EMPTY_RULE: RuleValue = { action: 0, tproxy_port_be: 0, identity: 0n };

function zeroCounters(maps: TproxyMaps): { packets: bigint; bytes: bigint }[] {
  return Array.from({ length: maps[MAP.ruleHits].map.cpuSlots }, () => ({ packets: 0n, bytes: 0n }));
}

/** Runs the plan's map operations in order (see apply-plan.ts). */
export function executePlan(maps: TproxyMaps, plan: ApplyPlan): void {
  maps[MAP.rules].setMany(plan.ruleWrites);
  if (plan.counterResets.length > 0) {
    const zero = zeroCounters(maps);
    maps[MAP.ruleHits].setMany(plan.counterResets.map((id) => [id, zero] as const));
  }
  maps[MAP.port].setMany(plan.portWrites.map(([k, ruleId]) => [k, { rule_id: ruleId }] as const));
  maps[MAP.src].setMany(plan.srcWrites.map(([k, id]) => [k, { id }] as const));
  maps[MAP.dst].setMany(plan.dstWrites.map(([k, id]) => [k, { id }] as const));
  maps[MAP.dst].deleteMany(plan.dstDeletes);
  maps[MAP.src].deleteMany(plan.srcDeletes);
  maps[MAP.port].deleteMany(plan.portDeletes);
  maps[MAP.rules].setMany(plan.ruleClears.map((id) => [id, EMPTY_RULE] as const));
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
