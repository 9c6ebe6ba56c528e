/**
 * Map types by name (the uapi `enum bpf_map_type` numbers, spelled as libbpf spells them). Checked
 * against libbpf_bpf_map_type_str by a kernel test.
 */
import { kernelEnum } from './kernel-enum.js';

const names = [
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array',
  'stack_trace', 'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps',
  'hash_of_maps', 'devmap', 'sockmap', 'cpumap', 'xskmap', 'sockhash', 'cgroup_storage',
  'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack', 'sk_storage', 'devmap_hash',
  'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf',
  'cgrp_storage', 'arena',
] as const;

export type KnownMapType = (typeof names)[number];
/** A map type name; kernels newer than this table report `unknown_<number>`. */
export type MapType = KnownMapType | `unknown_${number}`;

const table = kernelEnum('map type', names);

/** Numbers of every known map type. */
export const mapTypeNumbers: ReadonlyMap<KnownMapType, number> = table.numbers;

export function mapTypeName(kernelType: number): MapType {
  return table.name(kernelType);
}

/** The kernel number of a map type name (InvalidArgumentError for unknown names). */
export function mapTypeNumber(type: string): number {
  return table.number(type);
}

const perCpu = new Set<MapType>(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);

/** Per-CPU maps hold one value per possible CPU, each rounded up to 8 bytes. */
export function isPerCpuMapType(type: MapType): boolean {
  return perCpu.has(type);
}

const noDelete = new Set<MapType>(['array', 'percpu_array', 'prog_array', 'perf_event_array', 'cgroup_array']);

/** Array-like maps have every key from 0 to max_entries-1 and cannot delete them. */
export function isArrayMapType(type: MapType): boolean {
  return noDelete.has(type);
}
