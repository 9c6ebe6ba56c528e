/**
 * Codecs of the maps and records declared in bpf/tc_tproxy.h. Struct codecs name the C members, so
 * wrapping a map with them checks every field's offset and size against the object's BTF; the
 * event record (a ring buffer has no key/value types) is checked against `struct tctp_event` by
 * test/struct-layout.test.ts.
 */
import { codecs, type CodecValue } from '@bpfsteer/core-bpf';
import { INLINE_RANGES } from './tproxy-constants.js';

/** Map names in the object (at most 15 characters). */
export const MAP = {
  dst: 'tctp_dst',
  dstHost: 'tctp_dst_host',
  src: 'tctp_src',
  port: 'tctp_port',
  rules: 'tctp_rules',
  ruleHits: 'tctp_rule_hits',
  ifaces: 'tctp_ifaces',
  ifAddrs: 'tctp_if_addrs',
  ifStats: 'tctp_if_stats',
  ctTcp: 'tctp_ct_tcp',
  ctUdp: 'tctp_ct_udp',
  events: 'tctp_events',
  summary: 'tctp_summary',
} as const;

export const PROGRAM = { ingress: 'tctp_ingress', egress: 'tctp_egress' } as const;

/** .rodata constants (nanoseconds) */
export const CONSTANT = {
  tcpIdle: 'tctp_tcp_idle_ns',
  udpIdle: 'tctp_udp_idle_ns',
  tcpClosing: 'tctp_tcp_closing_ns',
} as const;

const addr16 = codecs.bytes(16);

/** struct tctp_dst_key */
export const dstKeyCodec = codecs.struct({
  prefixlen: codecs.u32,
  ifindex: codecs.u32,
  family: codecs.u8,
  proto: codecs.u8,
  pad: codecs.pad(2),
  addr: addr16,
});
/** struct tctp_host_key (tctp_dst_key without prefixlen) */
export const hostKeyCodec = codecs.struct({ ifindex: codecs.u32, family: codecs.u8, proto: codecs.u8, pad: codecs.pad(2), addr: addr16 });
/** struct tctp_src_key */
export const srcKeyCodec = codecs.struct({ prefixlen: codecs.u32, dst_id: codecs.u32, addr: addr16 });
/** struct tctp_node (value of tctp_src) */
export const nodeCodec = codecs.struct({ id: codecs.u32 });
/** struct tctp_port_range */
export const portRangeCodec = codecs.struct({ low: codecs.u16, high: codecs.u16, rule_id: codecs.u32 });
/** struct tctp_dst_value (value of tctp_dst) */
export const dstValueCodec = codecs.struct({ id: codecs.u32, nranges: codecs.u32, ranges: codecs.array(portRangeCodec, INLINE_RANGES) });
/** struct tctp_port_key */
export const portKeyCodec = codecs.struct({ prefixlen: codecs.u32, src_id: codecs.u32, port_be: codecs.be16, pad: codecs.pad(2) });
/** struct tctp_port_value */
export const portValueCodec = codecs.struct({ rule_id: codecs.u32 });
/** struct tctp_rule */
export const ruleCodec = codecs.struct({
  action: codecs.u8,
  pad: codecs.pad(1),
  tproxy_port_be: codecs.be16,
  pad2: codecs.pad(4),
  identity: codecs.u64,
});
/** struct tctp_counter (per CPU) */
export const counterCodec = codecs.struct({ packets: codecs.u64, bytes: codecs.u64 });
/** struct tctp_iface */
export const ifaceCodec = codecs.struct({ flags: codecs.u32, pad: codecs.pad(4) });
/** struct tctp_if_addr_key */
export const ifAddrKeyCodec = codecs.struct({ ifindex: codecs.u32, family: codecs.u8, pad: codecs.pad(3), addr: addr16 });
/** struct tctp_if_stats (per CPU) */
export const ifStatsCodec = codecs.struct({ passed: codecs.u64, diverted: codecs.u64, dropped: codecs.u64, events_lost: codecs.u64 });
/** struct tctp_ct_key */
export const ctKeyCodec = codecs.struct({
  ifindex: codecs.u32,
  family: codecs.u8,
  pad: codecs.pad(1),
  sport_be: codecs.be16,
  dport_be: codecs.be16,
  pad2: codecs.pad(2),
  saddr: addr16,
  daddr: addr16,
});
/** struct tctp_ct_value */
export const ctValueCodec = codecs.struct({ last_seen_ns: codecs.u64, flags: codecs.u32, pad: codecs.pad(4) });
/** struct tctp_summary (value of tctp_summary, key 0) */
export const summaryCodec = codecs.struct({
  version: codecs.u32,
  ifaces_hash: codecs.u32,
  rules_lo: codecs.u32,
  rules_hi: codecs.u32,
  slots_lo: codecs.u32,
  slots_hi: codecs.u32,
  rules: codecs.u32,
  dst: codecs.u32,
  dst_host: codecs.u32,
  src: codecs.u32,
  port: codecs.u32,
  pad: codecs.pad(4),
});
/** struct tctp_event (ring buffer record) */
export const eventCodec = codecs.struct({
  ts_ns: codecs.u64,
  ifindex: codecs.u32,
  rule_id: codecs.u32,
  kind: codecs.u8,
  reason: codecs.u8,
  family: codecs.u8,
  proto: codecs.u8,
  sport_be: codecs.be16,
  dport_be: codecs.be16,
  tproxy_port_be: codecs.be16,
  pad: codecs.pad(6),
  saddr: addr16,
  daddr: addr16,
});

export type DstKey = CodecValue<typeof dstKeyCodec>;
export type SrcKey = CodecValue<typeof srcKeyCodec>;
export type HostKey = CodecValue<typeof hostKeyCodec>;
export type DstValue = CodecValue<typeof dstValueCodec>;
export type PortKey = CodecValue<typeof portKeyCodec>;
export type RuleValue = CodecValue<typeof ruleCodec>;
export type IfAddrKey = CodecValue<typeof ifAddrKeyCodec>;
export type EventRecord = CodecValue<typeof eventCodec>;
export type SummaryValue = CodecValue<typeof summaryCodec>;
