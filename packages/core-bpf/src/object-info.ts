/**
 * What the kernel reports about a map, program or link fd (BPF_OBJ_GET_INFO_BY_FD): the one decoder
 * of each uapi info struct in core-bpf. The structs are described by codecs, checked against the
 * running kernel's BTF by test/ffi-layouts.kernel.test.ts.
 */
import { decodeValue } from './codec/codec.js';
import { bytes, cstring } from './codec/array-codecs.js';
import { u32, u64 } from './codec/int-codecs.js';
import { pad, skip, struct } from './codec/struct-codec.js';
import { BPF } from './ffi/bpf-constants.js';
import { checkLibbpf, libbpf } from './ffi/libbpf-api.js';
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

/** The fixed start of `struct bpf_link_info`; a union of per-link-kind structs follows. */
export const bpfLinkInfoCodec = struct({
  type: u32,
  id: u32,
  prog_id: u32,
});

/** Where the union of `struct bpf_link_info` starts (it holds 64-bit members, so 8-aligned). */
export const LINK_INFO_UNION_OFFSET = 16;

/** The union members of `struct bpf_link_info` for the link kinds core-bpf creates. */
export const bpfLinkInfoTargetCodecs = {
  cgroup: struct({ cgroup_id: u64, attach_type: u32, pad: pad(4) }),
  netns: struct({ netns_ino: u32, attach_type: u32 }),
  tcx: struct({ ifindex: u32, attach_type: u32 }),
} as const;

const LINK_INFO_SIZE =
  LINK_INFO_UNION_OFFSET + Math.max(...Object.values(bpfLinkInfoTargetCodecs).map((c) => c.size));

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

/** A kernel link as bpf_link_info describes it (internal: links are described by Link to callers). */
export interface LinkInfo {
  /** kernel link type (BPF.link.*) */
  readonly type: number;
  readonly id: number;
  readonly progId: number;
  /** the link's target: netns inode, cgroup id or ifindex (0 once the target is gone) */
  readonly targetId: bigint;
  /** attach type (BPF.attach.*), -1 for link kinds core-bpf does not create */
  readonly attachType: number;
}

function getInfo(fd: number, size: number, context: string): Buffer {
  const buf = Buffer.alloc(size);
  const len = new Uint32Array([size]);
  checkLibbpf('bpf_obj_get_info_by_fd', libbpf.bpf_obj_get_info_by_fd(fd, buf, len), context);
  return buf;
}

export function readMapInfo(fd: number, context = 'read map info'): MapInfo {
  const raw = decodeValue(bpfMapInfoCodec, getInfo(fd, bpfMapInfoCodec.size, context));
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

export function readProgramInfo(fd: number, context = 'read program info'): ProgramInfo {
  const raw = decodeValue(bpfProgInfoCodec, getInfo(fd, bpfProgInfoCodec.size, context));
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

/** Decode a bpf_link_info buffer (pure). */
export function decodeLinkInfo(buf: Uint8Array): LinkInfo {
  const head = decodeValue(bpfLinkInfoCodec, buf);
  const base = { type: head.type, id: head.id, progId: head.prog_id };
  const union = buf.subarray(LINK_INFO_UNION_OFFSET);
  switch (head.type) {
    case BPF.link.CGROUP: {
      const t = decodeValue(bpfLinkInfoTargetCodecs.cgroup, union);
      return { ...base, targetId: t.cgroup_id, attachType: t.attach_type };
    }
    case BPF.link.NETNS: {
      const t = decodeValue(bpfLinkInfoTargetCodecs.netns, union);
      return { ...base, targetId: BigInt(t.netns_ino), attachType: t.attach_type };
    }
    case BPF.link.TCX: {
      const t = decodeValue(bpfLinkInfoTargetCodecs.tcx, union);
      return { ...base, targetId: BigInt(t.ifindex), attachType: t.attach_type };
    }
    default:
      return { ...base, targetId: 0n, attachType: -1 };
  }
}

export function readLinkInfo(fd: number, context = 'read link info'): LinkInfo {
  return decodeLinkInfo(getInfo(fd, LINK_INFO_SIZE, context));
}
