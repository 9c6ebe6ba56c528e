/**
 * What the kernel reports about a map or program fd (BPF_OBJ_GET_INFO_BY_FD). The uapi structs are
 * described by codecs, checked against the running kernel's BTF by a kernel test.
 */
import { SyscallError } from './errors.js';
import { decodeValue } from './codec/codec.js';
import { bytes, cstring } from './codec/array-codecs.js';
import { u32, u64 } from './codec/int-codecs.js';
import { skip, struct } from './codec/struct-codec.js';
import { libbpf } from './ffi/libbpf-api.js';
import { type MapType, mapTypeName } from './map-type.js';
import { type ProgramType, programTypeName } from './program-type.js';

/** The start of `struct bpf_map_info` (uapi linux/bpf.h). */
export const bpfMapInfoCodec = struct({
  type: u32,
  id: u32,
  key_size: u32,
  value_size: u32,
  max_entries: u32,
  map_flags: u32,
  name: cstring(16),
  ifindex: u32,
  btf_vmlinux_value_type_id: u32,
  netns_dev: u64,
  netns_ino: u64,
  btf_id: u32,
  btf_key_type_id: u32,
  btf_value_type_id: u32,
  _btf_vmlinux_id: skip(4), // padding in older uapi headers, a member since 6.x
  map_extra: u64,
});

/** The start of `struct bpf_prog_info` (uapi linux/bpf.h); pointer members are not requested. */
export const bpfProgInfoCodec = struct({
  type: u32,
  id: u32,
  tag: bytes(8),
  jited_prog_len: u32,
  xlated_prog_len: u32,
  _insns: skip(16),
  load_time: u64,
  created_by_uid: u32,
  nr_map_ids: u32,
  _map_ids: skip(8),
  name: cstring(16),
  ifindex: u32,
  _gpl_compatible: skip(4),
  netns_dev: u64,
  netns_ino: u64,
  _ksyms: skip(24),
  btf_id: u32,
  _func_info: skip(60),
  run_time_ns: u64,
  run_cnt: u64,
  recursion_misses: u64,
  verified_insns: u32,
  _attach_btf: skip(12),
});

export interface MapInfo {
  readonly type: MapType;
  readonly id: number;
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly mapExtra: bigint;
  readonly ifindex: number;
  /** BTF of the map's key and value (0 when the map has none). */
  readonly btfId: number;
  readonly btfKeyTypeId: number;
  readonly btfValueTypeId: number;
}

export interface ProgramInfo {
  readonly type: ProgramType;
  readonly id: number;
  readonly name: string;
  /** The program's tag (hash of its instructions) as 16 hex digits, as bpftool shows it. */
  readonly tag: string;
  readonly jitedSize: number;
  readonly xlatedSize: number;
  /** Nanoseconds since boot when the program was loaded. */
  readonly loadTimeNs: bigint;
  readonly createdByUid: number;
  readonly mapCount: number;
  readonly btfId: number;
  /** Only counted while the kernel.bpf_stats_enabled sysctl is 1. */
  readonly runTimeNs: bigint;
  readonly runCount: bigint;
  readonly verifiedInstructions: number;
}

function getInfo(fd: number, size: number, what: string): Buffer {
  const buf = Buffer.alloc(size);
  const len = new Uint32Array([size]);
  const err = libbpf.bpf_obj_get_info_by_fd(fd, buf, len);
  if (err < 0) throw new SyscallError('bpf_obj_get_info_by_fd', err, `read ${what} info`);
  return buf;
}

export function readMapInfo(fd: number): MapInfo {
  const raw = decodeValue(bpfMapInfoCodec, getInfo(fd, bpfMapInfoCodec.size, 'map'));
  return {
    type: mapTypeName(raw.type),
    id: raw.id,
    name: raw.name,
    keySize: raw.key_size,
    valueSize: raw.value_size,
    maxEntries: raw.max_entries,
    flags: raw.map_flags,
    mapExtra: raw.map_extra,
    ifindex: raw.ifindex,
    btfId: raw.btf_id,
    btfKeyTypeId: raw.btf_key_type_id,
    btfValueTypeId: raw.btf_value_type_id,
  };
}

export function readProgramInfo(fd: number): ProgramInfo {
  const raw = decodeValue(bpfProgInfoCodec, getInfo(fd, bpfProgInfoCodec.size, 'program'));
  return {
    type: programTypeName(raw.type),
    id: raw.id,
    name: raw.name,
    tag: Buffer.from(raw.tag).toString('hex'),
    jitedSize: raw.jited_prog_len,
    xlatedSize: raw.xlated_prog_len,
    loadTimeNs: raw.load_time,
    createdByUid: raw.created_by_uid,
    mapCount: raw.nr_map_ids,
    btfId: raw.btf_id,
    runTimeNs: raw.run_time_ns,
    runCount: raw.run_cnt,
    verifiedInstructions: raw.verified_insns,
  };
}
