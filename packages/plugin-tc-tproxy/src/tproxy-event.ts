/** Ring buffer records (struct tctp_event) -> the `tproxy.event` objects watchers receive (@bpfsteer/contract-tproxy's TproxyEvent). */
import type { TproxyEvent } from '@bpfsteer/contract-tproxy';
import { decodeValue } from '@bpfsteer/core-bpf';
import { formatEndpoint } from './key-prefix.js';
import { eventCodec } from './map-codecs.js';
import { AF_INET, AF_INET6, EV_DIVERT, EV_DROP, REASONS } from './tproxy-constants.js';

function protocolName(proto: number): TproxyEvent['protocol'] {
  if (proto === 6) return 'tcp';
  if (proto === 17) return 'udp';
  if (proto === 1 || proto === 58) return 'icmp';
  return proto;
}

export interface EventContext {
  /** interface name of an ifindex (the ifindex as text when unknown) */
  readonly interfaceName: (ifindex: number) => string;
  /** wall-clock nanoseconds minus CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) */
  readonly clockOffsetNs: bigint;
}

/** The current offset from CLOCK_MONOTONIC (what bpf_ktime_get_ns reads) to wall-clock time. */
export function monotonicToWallOffsetNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
}

/** Decodes one record; undefined for a record that is not a tctp_event. */
export function decodeEvent(record: Uint8Array, ctx: EventContext): TproxyEvent | undefined {
  if (record.length < eventCodec.size) return undefined;
  const e = decodeValue(eventCodec, record);
  if (e.kind !== EV_DROP && e.kind !== EV_DIVERT) return undefined;
  const ip = e.family === AF_INET || e.family === AF_INET6;
  const family: 4 | 6 = e.family === AF_INET6 ? 6 : 4;
  const wallMs = Number((e.ts_ns + ctx.clockOffsetNs) / 1_000_000n);
  return {
    time: new Date(wallMs).toISOString(),
    interface: ctx.interfaceName(e.ifindex),
    kind: e.kind === EV_DROP ? 'drop' : 'divert',
    reason: REASONS[e.reason] ?? 'unparsed',
    family,
    protocol: protocolName(e.proto),
    source: ip ? formatEndpoint(family, e.saddr, e.sport_be) : '',
    destination: ip ? formatEndpoint(family, e.daddr, e.dport_be) : '',
    ...(e.rule_id !== 0 ? { ruleId: e.rule_id } : {}),
    ...(e.tproxy_port_be !== 0 ? { tproxyPort: e.tproxy_port_be } : {}),
  };
}
