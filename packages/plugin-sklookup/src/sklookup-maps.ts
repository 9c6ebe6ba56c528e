/**
 * The typed maps of sk_lookup_mesh.bpf.o, their sizes, and reading back what they hold.
 */
import { defineSkeleton, type Skeleton, type SkeletonMaps } from '@bpfsteer/core-bpf';
import {
  MAP,
  PROGRAM_NAME,
  addrCodec,
  bypassKeyCodec,
  bypassValueCodec,
  countersCodec,
  memberCodec,
  skipWordCodec,
  skipWordIndexCodec,
  slotCodec,
  socketCodec,
} from './map-codecs.js';

export const sklookupSkeleton = defineSkeleton({
  programs: [PROGRAM_NAME],
  maps: {
    [MAP.members]: { key: addrCodec, value: memberCodec },
    [MAP.sockets]: { key: addrCodec, value: socketCodec },
    [MAP.pods]: { key: addrCodec, value: slotCodec },
    [MAP.counters]: { key: slotCodec, value: countersCodec, perCpu: true },
    [MAP.skipPorts]: { key: skipWordIndexCodec, value: skipWordCodec },
    [MAP.bypass]: { key: bypassKeyCodec, value: bypassValueCodec },
  },
});

export type SklookupSkeleton = Skeleton<typeof PROGRAM_NAME, (typeof sklookupSkeleton)['maps']>;
export type SklookupMaps = SkeletonMaps<(typeof sklookupSkeleton)['maps']>;

export interface MapCapacities {
  readonly maxMembers: number;
  readonly maxPods: number;
  readonly maxPodAddresses: number;
  readonly bypassEntries: number;
}

/** max_entries of every sized map. */
export function mapSizes(c: MapCapacities): Record<string, number> {
  return {
    [MAP.members]: c.maxMembers,
    [MAP.sockets]: c.maxPodAddresses,
    [MAP.pods]: c.maxPodAddresses,
    [MAP.counters]: c.maxPods + 1,
    [MAP.bypass]: c.bypassEntries,
  };
}

/** Per-pod lookup outcomes, summed over CPUs. */
export interface LookupCounters {
  readonly diverted: number;
  readonly passed: number;
  readonly skipped: number;
  readonly bypassed: number;
  readonly noSocket: number;
  readonly assignFailed: number;
}

export function readCounters(maps: SklookupMaps, slot: number): LookupCounters {
  const perCpu = maps[MAP.counters].get(slot) ?? [];
  const sum = (f: 'diverted' | 'passed' | 'skipped' | 'bypassed' | 'no_socket' | 'assign_failed') =>
    Number(perCpu.reduce((n, c) => n + c[f], 0n));
  return {
    diverted: sum('diverted'),
    passed: sum('passed'),
    skipped: sum('skipped'),
    bypassed: sum('bypassed'),
    noSocket: sum('no_socket'),
    assignFailed: sum('assign_failed'),
  };
}

export function zeroCounters(maps: SklookupMaps) {
  return new Array(maps[MAP.counters].map.cpuSlots)
    .fill(0)
    .map(() => ({ diverted: 0n, passed: 0n, skipped: 0n, bypassed: 0n, no_socket: 0n, assign_failed: 0n }));
}

export function readMembers(maps: SklookupMaps): Set<string> {
  const out = new Set<string>();
  for (const key of maps[MAP.members].keys()) out.add(key.addr_be);
  return out;
}

export function readPodAddresses(maps: SklookupMaps): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, slot] of maps[MAP.pods].entries()) out.set(key.addr_be, slot);
  return out;
}

/** address -> socket cookie (the kernel drops the entry of a socket that closes) */
export function readSockets(maps: SklookupMaps): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const [key, cookie] of maps[MAP.sockets].entries()) out.set(key.addr_be, cookie);
  return out;
}
