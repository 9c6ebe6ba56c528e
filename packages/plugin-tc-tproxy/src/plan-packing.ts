/**
 * The bytes of an ApplyPlan's trie and rule-slot entries, packed straight into the buffers of a
 * batched map update. The generic codec path (TypedMap.setMany) validates and encodes every entry
 * field by field, about a microsecond each; a first apply of 100,000 rules writes 400,000 entries.
 * Member offsets come from the codecs of map-codecs.ts (which the skeleton checks against the
 * object's BTF), member encodings are the codecs' (u32/u64 host order, be16 network order, bytes);
 * test/plan-packing.test.ts checks every packed byte against the codecs' own encoding.
 */
import { endianness } from 'node:os';
import type { Codec } from '@bpfsteer/core-bpf';
import type { DstNodeValue } from './plan-types.js';
import {
  dstKeyCodec,
  dstValueCodec,
  hostKeyCodec,
  nodeCodec,
  portKeyCodec,
  portRangeCodec,
  portValueCodec,
  ruleCodec,
  srcKeyCodec,
  type DstKey,
  type PortKey,
  type RuleValue,
  type SrcKey,
} from './map-codecs.js';
import { INLINE_RANGES } from './tproxy-constants.js';

const LE = endianness() === 'LE';

/** The offset of member `name` of a struct codec, checked to have `size` bytes. */
function member(codec: Codec<unknown>, name: string, size: number): number {
  if (codec.layout.kind !== 'struct') throw new Error(`plan-packing: ${codec.description} is not a struct`);
  const f = codec.layout.fields.find((x) => x.name === name);
  if (f === undefined || f.layout.size !== size) throw new Error(`plan-packing: ${codec.description} has no ${size}-byte member ${name}`);
  return f.offset;
}

const DST = {
  size: dstKeyCodec.size,
  prefixlen: member(dstKeyCodec, 'prefixlen', 4),
  ifindex: member(dstKeyCodec, 'ifindex', 4),
  family: member(dstKeyCodec, 'family', 1),
  proto: member(dstKeyCodec, 'proto', 1),
  addr: member(dstKeyCodec, 'addr', 16),
};
const HOST = {
  size: hostKeyCodec.size,
  ifindex: member(hostKeyCodec, 'ifindex', 4),
  family: member(hostKeyCodec, 'family', 1),
  proto: member(hostKeyCodec, 'proto', 1),
  addr: member(hostKeyCodec, 'addr', 16),
};
const SRC = {
  size: srcKeyCodec.size,
  prefixlen: member(srcKeyCodec, 'prefixlen', 4),
  dstId: member(srcKeyCodec, 'dst_id', 4),
  addr: member(srcKeyCodec, 'addr', 16),
};
const PORT = {
  size: portKeyCodec.size,
  prefixlen: member(portKeyCodec, 'prefixlen', 4),
  srcId: member(portKeyCodec, 'src_id', 4),
  port: member(portKeyCodec, 'port_be', 2),
};
const NODE = { size: nodeCodec.size, id: member(nodeCodec, 'id', 4) };
const DST_VALUE = {
  size: dstValueCodec.size,
  id: member(dstValueCodec, 'id', 4),
  nranges: member(dstValueCodec, 'nranges', 4),
  ranges: member(dstValueCodec, 'ranges', portRangeCodec.size * INLINE_RANGES),
};
const RANGE = {
  size: portRangeCodec.size,
  low: member(portRangeCodec, 'low', 2),
  high: member(portRangeCodec, 'high', 2),
  ruleId: member(portRangeCodec, 'rule_id', 4),
};
const PORT_VALUE = { size: portValueCodec.size, ruleId: member(portValueCodec, 'rule_id', 4) };
const RULE = {
  size: ruleCodec.size,
  action: member(ruleCodec, 'action', 1),
  port: member(ruleCodec, 'tproxy_port_be', 2),
  identity: member(ruleCodec, 'identity', 8),
};

function u16(buf: Buffer, at: number, v: number): void {
  if (LE) buf.writeUInt16LE(v, at);
  else buf.writeUInt16BE(v, at);
}

function u32(buf: Buffer, at: number, v: number): void {
  if (LE) buf.writeUInt32LE(v, at);
  else buf.writeUInt32BE(v, at);
}

function u64(buf: Buffer, at: number, v: bigint): void {
  if (LE) buf.writeBigUInt64LE(v, at);
  else buf.writeBigUInt64BE(v, at);
}

/** Keys and values back to back, as BpfMap.updatePacked / deletePacked take them. */
export interface Packed {
  readonly keys: Buffer;
  readonly values: Buffer;
  readonly count: number;
}

function packDst(buf: Buffer, base: number, k: DstKey): void {
  u32(buf, base + DST.prefixlen, k.prefixlen);
  u32(buf, base + DST.ifindex, k.ifindex);
  buf[base + DST.family] = k.family;
  buf[base + DST.proto] = k.proto;
  buf.set(k.addr, base + DST.addr);
}

/** A full-length dst key as a tctp_dst_host key (its prefixlen is implied). */
function packHost(buf: Buffer, base: number, k: DstKey): void {
  u32(buf, base + HOST.ifindex, k.ifindex);
  buf[base + HOST.family] = k.family;
  buf[base + HOST.proto] = k.proto;
  buf.set(k.addr, base + HOST.addr);
}

function packSrc(buf: Buffer, base: number, k: SrcKey): void {
  u32(buf, base + SRC.prefixlen, k.prefixlen);
  u32(buf, base + SRC.dstId, k.dst_id);
  buf.set(k.addr, base + SRC.addr);
}

function packPort(buf: Buffer, base: number, k: PortKey): void {
  u32(buf, base + PORT.prefixlen, k.prefixlen);
  u32(buf, base + PORT.srcId, k.src_id);
  buf.writeUInt16BE(k.port_be, base + PORT.port);
}

function packKeys<K>(keys: readonly K[], size: number, pack: (buf: Buffer, base: number, k: K) => void): Buffer {
  const buf = Buffer.alloc(keys.length * size); // zeroed: padding stays zero
  for (let i = 0; i < keys.length; i++) pack(buf, i * size, keys[i]);
  return buf;
}

function packEntries<K>(
  entries: ReadonlyArray<readonly [K, number]>,
  size: number,
  pack: (buf: Buffer, base: number, k: K) => void,
  value: { readonly size: number; readonly at: number },
): Packed {
  const keys = Buffer.alloc(entries.length * size);
  const values = Buffer.alloc(entries.length * value.size);
  for (let i = 0; i < entries.length; i++) {
    pack(keys, i * size, entries[i][0]);
    u32(values, i * value.size + value.at, entries[i][1]);
  }
  return { keys, values, count: entries.length };
}

/** tctp_dst entries (or, `host`, tctp_dst_host entries of full-length keys): key -> struct tctp_dst_value { id, nranges, ranges }. */
export function packDstWrites(entries: ReadonlyArray<readonly [DstKey, DstNodeValue]>, host = false): Packed {
  const keySize = host ? HOST.size : DST.size;
  const packKey = host ? packHost : packDst;
  const keys = Buffer.alloc(entries.length * keySize);
  const values = Buffer.alloc(entries.length * DST_VALUE.size); // zeroed: unused ranges stay zero
  for (let i = 0; i < entries.length; i++) {
    // no destructuring: this loop runs once per apply over up to 100,000 entries, mostly unoptimized
    const key = entries[i][0];
    const v = entries[i][1];
    packKey(keys, i * keySize, key);
    const base = i * DST_VALUE.size;
    if (v.ranges.length > INLINE_RANGES) throw new Error(`plan-packing: a dst value holds at most ${INLINE_RANGES} ranges, got ${v.ranges.length}`);
    u32(values, base + DST_VALUE.id, v.id);
    u32(values, base + DST_VALUE.nranges, v.ranges.length);
    for (let j = 0; j < v.ranges.length; j++) {
      const r = v.ranges[j];
      const at = base + DST_VALUE.ranges + j * RANGE.size;
      u16(values, at + RANGE.low, r.low);
      u16(values, at + RANGE.high, r.high);
      u32(values, at + RANGE.ruleId, r.ruleId);
    }
  }
  return { keys, values, count: entries.length };
}

/** tctp_src entries: key -> struct tctp_node { id }. */
export const packSrcWrites = (entries: ReadonlyArray<readonly [SrcKey, number]>): Packed => packEntries(entries, SRC.size, packSrc, { size: NODE.size, at: NODE.id });
/** tctp_port entries: key -> struct tctp_port_value { rule_id }. */
export const packPortWrites = (entries: ReadonlyArray<readonly [PortKey, number]>): Packed =>
  packEntries(entries, PORT.size, packPort, { size: PORT_VALUE.size, at: PORT_VALUE.ruleId });

export const packDstKeys = (keys: readonly DstKey[]): Buffer => packKeys(keys, DST.size, packDst);
/** full-length dst keys as tctp_dst_host keys */
export const packHostKeys = (keys: readonly DstKey[]): Buffer => packKeys(keys, HOST.size, packHost);
export const packSrcKeys = (keys: readonly SrcKey[]): Buffer => packKeys(keys, SRC.size, packSrc);
export const packPortKeys = (keys: readonly PortKey[]): Buffer => packKeys(keys, PORT.size, packPort);

/** tctp_rules entries: u32 id -> struct tctp_rule. */
export function packRuleWrites(entries: ReadonlyArray<readonly [number, RuleValue]>): Packed {
  const keys = Buffer.alloc(entries.length * 4);
  const values = Buffer.alloc(entries.length * RULE.size);
  for (let i = 0; i < entries.length; i++) {
    const id = entries[i][0];
    const v = entries[i][1];
    u32(keys, i * 4, id);
    const base = i * RULE.size;
    values[base + RULE.action] = v.action;
    values.writeUInt16BE(v.tproxy_port_be, base + RULE.port);
    u64(values, base + RULE.identity, v.identity);
  }
  return { keys, values, count: entries.length };
}

/** u32 keys (rule ids) with all-zero values of `valueSize` bytes each (cleared slots, reset counters). */
export function packZeroed(ids: readonly number[], valueSize: number): Packed {
  const keys = Buffer.alloc(ids.length * 4);
  for (let i = 0; i < ids.length; i++) u32(keys, i * 4, ids[i]);
  return { keys, values: Buffer.alloc(ids.length * valueSize), count: ids.length };
}
