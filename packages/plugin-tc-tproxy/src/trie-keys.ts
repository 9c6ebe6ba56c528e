/**
 * The trie keys of placed nodes (tctp_dst, tctp_dst_host, tctp_src, tctp_port) as the map codecs
 * take them, and which dst keys are full-length (their node lives in tctp_dst_host, not the trie).
 */
import { maxPrefixLength } from '@bpfsteer/ip';
import type { IpFamily, Prefix } from './key-prefix.js';
import type { DstKey, PortKey, SrcKey } from './map-codecs.js';
import { AF_INET, AF_INET6, DST_FIXED_BITS, PORT_FIXED_BITS, SRC_FIXED_BITS } from './tproxy-constants.js';
import type { PlacedNode } from './trie-state.js';

export function familyCode(family: IpFamily): number {
  return family === 4 ? AF_INET : AF_INET6;
}

export function dstKeyOf(node: { ifindex: number; family: IpFamily; proto: number; prefix: Prefix }): DstKey {
  return {
    prefixlen: DST_FIXED_BITS + node.prefix.length,
    ifindex: node.ifindex,
    family: familyCode(node.family),
    proto: node.proto,
    addr: node.prefix.bytes,
  };
}

export function srcKeyOf(dstId: number, prefix: Prefix): SrcKey {
  return { prefixlen: SRC_FIXED_BITS + prefix.length, dst_id: dstId, addr: prefix.bytes };
}

export function portKeyOf(srcId: number, port: number, bits: number): PortKey {
  return { prefixlen: PORT_FIXED_BITS + bits, src_id: srcId, port_be: port };
}

/** Whether a dst key is of a full-length destination: its node lives in tctp_dst_host, not in the trie. */
export function isHostKey(k: DstKey): boolean {
  return k.prefixlen === DST_FIXED_BITS + (k.family === AF_INET ? 32 : 128);
}

/** The prefixlen of a placed node's dst key (dstKeyOf, or the key it was adopted with), without making the key. */
export function nodeKeyLength(node: PlacedNode): number {
  return node.rawKey !== undefined ? node.rawKey.prefixlen : DST_FIXED_BITS + node.prefix.length;
}

/** isHostKey of a placed node's dst key, without making the key. */
export function isHostNode(node: PlacedNode): boolean {
  return node.rawKey !== undefined ? isHostKey(node.rawKey) : node.prefix.length === maxPrefixLength(node.family);
}
