/**
 * Codecs of the maps of connect_redirect.bpf.o (bpf/connect_redirect.h). Struct codecs name the C
 * members, so wrapping a map with them checks every field's offset and size against the object's
 * BTF. Addresses are IPv6 text, an IPv4 address IPv4-mapped (::ffff:a.b.c.d).
 */
import { codecs } from '@bpfsteer/core-bpf';

export const MAP = {
  rules: 'cr_rules',
  config: 'cr_config',
  origdst: 'cr_origdst',
  stats: 'cr_stats',
  ruleStats: 'cr_rule_stats',
} as const;

export const PROGRAM = {
  connect4: 'cr_connect4',
  connect6: 'cr_connect6',
  sockops: 'cr_sockops',
  getsockopt: 'cr_getsockopt',
} as const;

/** struct cr_rule_key */
export const ruleKeyCodec = codecs.struct({ prefixlen: codecs.u32, addr_be: codecs.ipv6 });
const portRangeCodec = codecs.struct({ port_lo: codecs.u16, port_hi: codecs.u16, rule: codecs.u16, action: codecs.u8, pad: codecs.u8 });
/** struct cr_rule_value */
export const ruleValueCodec = codecs.struct({ count: codecs.u32, ranges: codecs.array(portRangeCodec, 16) });
export const indexCodec = codecs.u32;
/** struct cr_config */
export const configCodec = codecs.struct({
  target4_be: codecs.ipv4,
  target6_be: codecs.ipv6,
  target4_port_be: codecs.be16,
  target6_port_be: codecs.be16,
  bypass_mark: codecs.u32,
  bypass_mark_mask: codecs.u32,
  bypass_cgroup_id: codecs.u64,
});
/** struct cr_conn_key */
export const connKeyCodec = codecs.struct({ addr_be: codecs.ipv6, port_be: codecs.be16, pad: codecs.u16 });
/** struct cr_origdst */
export const origdstCodec = codecs.struct({ addr_be: codecs.ipv6, port_be: codecs.be16, family: codecs.u16 });
/** struct cr_stats */
export const statsCodec = codecs.struct({
  connects: codecs.u64,
  redirected: codecs.u64,
  direct: codecs.u64,
  bypassed: codecs.u64,
  no_storage: codecs.u64,
  recorded: codecs.u64,
  record_failed: codecs.u64,
  origdst_answered: codecs.u64,
  origdst_unknown: codecs.u64,
});
/** struct cr_rule_stats */
export const ruleStatsCodec = codecs.struct({ redirected: codecs.u64, direct: codecs.u64 });
