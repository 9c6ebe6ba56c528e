/**
 * Codecs of the maps of sk_lookup_mesh.bpf.o (bpf/sk_lookup_mesh.h, bpf/mesh_bypass.h). Struct
 * codecs name the C members, so wrapping a map with them checks every field's offset and size
 * against the object's BTF. Addresses are mesh keys (see mesh-address.ts).
 */
import { codecs } from '@bpfsteer/core-bpf';

/** Map names in the object (at most 15 characters). */
export const MAP = {
  members: 'skl_members',
  sockets: 'skl_sockets',
  pods: 'skl_pods',
  counters: 'skl_counters',
  skipPorts: 'skl_skip_ports',
  bypass: 'mesh_bypass',
} as const;

export const PROGRAM_NAME = 'skl_mesh';

/** .rodata constants */
export const CONSTANT = { bypassTtlNs: 'skl_bypass_ttl_ns' } as const;

/** value of skl_members entries (SKL_MEMBER) */
export const MEMBER = 1;

/** struct skl_addr */
export const addrCodec = codecs.struct({ addr_be: codecs.ipv6 });
/** pod slot (skl_pods value, skl_counters key) */
export const slotCodec = codecs.u32;
/** skl_members value */
export const memberCodec = codecs.u32;
/** skl_sockets value: a socket fd when written, the socket cookie when read */
export const socketCodec = codecs.u64;
/** struct skl_counters */
export const countersCodec = codecs.struct({
  diverted: codecs.u64,
  passed: codecs.u64,
  skipped: codecs.u64,
  bypassed: codecs.u64,
  no_socket: codecs.u64,
  assign_failed: codecs.u64,
});
/** skl_skip_ports key (port / 64) and value (64 ports) */
export const skipWordIndexCodec = codecs.u32;
export const skipWordCodec = codecs.u64;
/** struct mesh_bypass_key */
export const bypassKeyCodec = codecs.struct({
  remote_be: codecs.ipv6,
  local_be: codecs.ipv6,
  remote_port_be: codecs.be16,
  local_port_be: codecs.be16,
});
/** struct mesh_bypass_value */
export const bypassValueCodec = codecs.struct({ seen_ns: codecs.u64 });
