/**
 * Codecs of the maps declared in bpf/tc_nexthop.h. Struct codecs name the C members, so wrapping a
 * map with them (BpfMap.typed) checks every field's offset and size against the object's BTF.
 */
import { codecs } from '@bpfsteer/core-bpf';

/** Map names in the object (at most 15 characters: the kernel truncates longer names). */
export const MAP = {
  v4Prefixes: 'tcnh_v4_pfx',
  v6Prefixes: 'tcnh_v6_pfx',
  rules: 'tcnh_rules',
  counters: 'tcnh_counters',
  v4Buckets: 'tcnh_v4_bkt',
  v4Sub: 'tcnh_v4_sub',
  v6Buckets: 'tcnh_v6_bkt',
  v6Short: 'tcnh_v6_short',
} as const;

export const PROGRAM_NAME = 'tc_nexthop';

/** struct tcnh_v4_key */
export const v4KeyCodec = codecs.struct({ prefixlen: codecs.u32, addr_be: codecs.bytes(4, 4) });
/** struct tcnh_v6_key */
export const v6KeyCodec = codecs.struct({ prefixlen: codecs.u32, addr_be: codecs.bytes(16, 4) });
/** rule slot (the value of both prefix maps; the key of rules/counters) */
export const slotCodec = codecs.u32;
/** struct tcnh_rule: IPv4 addresses fill the first 4 bytes of the 16 */
export const ruleCodec = codecs.struct({
  ifindex: codecs.u32,
  nh_family: codecs.u32,
  nh_addr_be: codecs.bytes(16, 4),
  src_prefixlen: codecs.u32,
  src_addr_be: codecs.bytes(16, 4),
});
/** struct tcnh_counter */
export const counterCodec = codecs.struct({ packets: codecs.u64, bytes: codecs.u64 });
/** tcnh_v4_bkt key: the top 16 bits of the address (host order) */
export const v4BucketIndexCodec = codecs.u32;
/** struct tcnh_v4_bucket */
export const v4BucketCodec = codecs.struct({ long_mask: codecs.u32, fallback_slot: codecs.u32, only_slot: codecs.u32, sub: codecs.u32 });
/** struct tcnh_v4_sub_cell (key: (sub - 1) * 256 + third byte) */
export const v4SubCellCodec = codecs.struct({ long_mask: codecs.u32, fallback_slot: codecs.u32, only_slot: codecs.u32 });
/** tcnh_v6_bkt key: TCNH_V6_BUCKET_OF(first 32 bits of the address) */
export const v6BucketIndexCodec = codecs.u32;
/** struct tcnh_v6_bucket */
export const v6BucketCodec = codecs.struct({ long_mask: codecs.array(codecs.u32, 3), only_slot: codecs.u32 });
/** struct tcnh_v6_short */
export const v6ShortCodec = codecs.struct({ len_mask: codecs.u64, only_slot: codecs.u32, _pad: codecs.pad(4) });
