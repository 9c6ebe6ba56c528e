/**
 * Codecs of the maps of cgroup_mark.bpf.o (bpf/cgroup_mark.h, bpf/mesh_bypass.h). Struct codecs
 * name the C members, so wrapping a map with them checks every field's offset and size against the
 * object's BTF.
 */
import { codecs } from '@bpfsteer/core-bpf';

export const MAP = {
  bypass: 'mesh_bypass',
  stats: 'cgm_stats',
} as const;

export const PROGRAM_NAME = 'cgroup_mark_egress';

/** .rodata constants */
export const CONSTANT = {
  markValue: 'cgm_mark_value',
  markMask: 'cgm_mark_mask',
  localOnly: 'cgm_local_only',
} as const;

/** struct mesh_bypass_key (IPv4 addresses IPv4-mapped) */
export const bypassKeyCodec = codecs.struct({
  remote_be: codecs.ipv6,
  local_be: codecs.ipv6,
  remote_port_be: codecs.be16,
  local_port_be: codecs.be16,
});
/** struct mesh_bypass_value */
export const bypassValueCodec = codecs.struct({ seen_ns: codecs.u64 });
/** cgm_stats key (always 0) */
export const statsIndexCodec = codecs.u32;
/** struct cgm_stats */
export const statsCodec = codecs.struct({
  marked_syns: codecs.u64,
  recorded: codecs.u64,
  not_local: codecs.u64,
  record_failed: codecs.u64,
});
