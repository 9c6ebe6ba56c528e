/**
 * The bytes of an apply's trie and rule-slot entries (PlanWrites: from the placed nodes and the slot
 * columns, without making an entry object first), packed straight into the buffers of a batched
 * map update. The generic codec path (TypedMap.setMany) validates and encodes every entry
 * field by field, about a microsecond each; a first apply of 100,000 rules writes 400,000 entries.
 * Member offsets come from the codecs of map-codecs.ts (which the skeleton checks against the
 * object's BTF), member encodings are the codecs' (u32/u64 host order, be16 network order, bytes);
 * test/plan-packing.test.ts checks every packed byte against the codecs' own encoding.
 */
import type { Codec } from '@bpfsteer/core-bpf';
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
} from './map-codecs.js';
import { InlineContent } from './inline-content.js';
import { copyPrefixBytes, type Prefix } from './key-prefix.js';
import type { NodeContent } from './node-content.js';
import type { PlanWrites, SlotWrites } from './plan-writes.js';
import { DST_FIXED_BITS, INLINE_RANGES, PORT_FIXED_BITS, SRC_FIXED_BITS } from './tproxy-constants.js';
import { familyCode } from './trie-keys.js';
import type { PlacedNode } from './trie-state.js';

/** The offset of member `name` of a struct codec, checked to have `size` bytes (a number's: aligned to them, see Packer). */
function member(codec: Codec<unknown>, name: string, size: number): number {
  if (codec.layout.kind !== 'struct') throw new Error(`plan-packing: ${codec.description} is not a struct`);
  const f = codec.layout.fields.find((x) => x.name === name);
  if (f === undefined || f.layout.size !== size) throw new Error(`plan-packing: ${codec.description} has no ${size}-byte member ${name}`);
  const numeric = size === 2 || size === 4 || size === 8;
  if (numeric && f.offset % size !== 0) throw new Error(`plan-packing: ${codec.description} member ${name} is not aligned`);
  return f.offset;
}

/** The size of a struct codec, checked to keep members of up to `align` bytes aligned in an array of it. */
function sizeOf(codec: Codec<unknown>, align: number): number {
  if (codec.size % align !== 0) throw new Error(`plan-packing: ${codec.description} is not a multiple of ${align} bytes`);
  return codec.size;
}

const DST = {
  size: sizeOf(dstKeyCodec, 4),
  prefixlen: member(dstKeyCodec, 'prefixlen', 4),
  ifindex: member(dstKeyCodec, 'ifindex', 4),
  family: member(dstKeyCodec, 'family', 1),
  proto: member(dstKeyCodec, 'proto', 1),
  addr: member(dstKeyCodec, 'addr', 16),
};
const HOST = {
  size: sizeOf(hostKeyCodec, 4),
  ifindex: member(hostKeyCodec, 'ifindex', 4),
  family: member(hostKeyCodec, 'family', 1),
  proto: member(hostKeyCodec, 'proto', 1),
  addr: member(hostKeyCodec, 'addr', 16),
};
const SRC = {
  size: sizeOf(srcKeyCodec, 4),
  prefixlen: member(srcKeyCodec, 'prefixlen', 4),
  dstId: member(srcKeyCodec, 'dst_id', 4),
  addr: member(srcKeyCodec, 'addr', 16),
};
const PORT = {
  size: sizeOf(portKeyCodec, 4),
  prefixlen: member(portKeyCodec, 'prefixlen', 4),
  srcId: member(portKeyCodec, 'src_id', 4),
  port: member(portKeyCodec, 'port_be', 2),
};
const NODE = { size: sizeOf(nodeCodec, 4), id: member(nodeCodec, 'id', 4) };
const RANGE = {
  size: sizeOf(portRangeCodec, 4),
  low: member(portRangeCodec, 'low', 2),
  high: member(portRangeCodec, 'high', 2),
  ruleId: member(portRangeCodec, 'rule_id', 4),
};
const DST_VALUE = {
  size: sizeOf(dstValueCodec, 4),
  id: member(dstValueCodec, 'id', 4),
  nranges: member(dstValueCodec, 'nranges', 4),
  ranges: member(dstValueCodec, 'ranges', RANGE.size * INLINE_RANGES),
};
const PORT_VALUE = { size: sizeOf(portValueCodec, 4), ruleId: member(portValueCodec, 'rule_id', 4) };
const RULE = {
  size: sizeOf(ruleCodec, 8),
  action: member(ruleCodec, 'action', 1),
  port: member(ruleCodec, 'tproxy_port_be', 2),
  identity: member(ruleCodec, 'identity', 8),
};

/**
 * A zeroed buffer (padding and unused members stay zero) written through typed views of it: a
 * member is one store, where Buffer.writeUInt32LE and its kin are a call with checks each (about a
 * microsecond per dst entry, over 100,000 of them). The views are host order, as the codecs'
 * u16 / u32 / u64 are; `member` and `sizeOf` check that every member stays aligned.
 */
class Packer {
  readonly buf: Buffer;
  // made when first written (a single change packs a few entries of several kinds)
  #u16: Uint16Array | undefined;
  #u32: Uint32Array | undefined;
  #u64: BigUint64Array | undefined;

  constructor(bytes: number) {
    this.buf = Buffer.alloc(bytes); // an ArrayBuffer of its own: offset 0
    if (this.buf.byteOffset % 8 !== 0) throw new Error('plan-packing: a buffer not aligned to 8 bytes');
  }

  u8(at: number, v: number): void {
    this.buf[at] = v;
  }
  u16(at: number, v: number): void {
    (this.#u16 ??= new Uint16Array(this.buf.buffer, this.buf.byteOffset, this.buf.length >>> 1))[at >>> 1] = v;
  }
  u32(at: number, v: number): void {
    (this.#u32 ??= new Uint32Array(this.buf.buffer, this.buf.byteOffset, this.buf.length >>> 2))[at >>> 2] = v;
  }
  /** network order (the codecs' be16) */
  be16(at: number, v: number): void {
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 0xff;
  }
  u64(at: number, v: bigint): void {
    // a store converts the bigint without BigInt operations (and their garbage)
    (this.#u64 ??= new BigUint64Array(this.buf.buffer, this.buf.byteOffset, this.buf.length >>> 3))[at >>> 3] = v;
  }
  bytes(at: number, v: Uint8Array): void {
    this.buf.set(v, at);
  }
  /** a prefix's 16 key bytes */
  prefix(at: number, prefix: Prefix): void {
    copyPrefixBytes(prefix, this.buf, at);
  }
}

/** Keys and values back to back, as BpfMap.updatePacked / deletePacked take them. */
export interface Packed {
  readonly keys: Buffer;
  readonly values: Buffer;
  readonly count: number;
}

function packDst(p: Packer, base: number, k: DstKey): void {
  p.u32(base + DST.prefixlen, k.prefixlen);
  p.u32(base + DST.ifindex, k.ifindex);
  p.u8(base + DST.family, k.family);
  p.u8(base + DST.proto, k.proto);
  p.bytes(base + DST.addr, k.addr);
}

/** A full-length dst key as a tctp_dst_host key (its prefixlen is implied). */
function packHost(p: Packer, base: number, k: DstKey): void {
  p.u32(base + HOST.ifindex, k.ifindex);
  p.u8(base + HOST.family, k.family);
  p.u8(base + HOST.proto, k.proto);
  p.bytes(base + HOST.addr, k.addr);
}

/** A placed node's dst key (trie-keys.ts's dstKeyOf, or the key it was adopted with) as a tctp_dst key, or (`host`) a tctp_dst_host key. */
function packNodeKey(p: Packer, base: number, node: PlacedNode, host: boolean): void {
  const raw = node.rawKey;
  if (raw !== undefined) {
    if (host) packHost(p, base, raw);
    else packDst(p, base, raw);
    return;
  }
  const at = host ? HOST : DST;
  if (!host) p.u32(base + DST.prefixlen, DST_FIXED_BITS + node.prefix.length);
  p.u32(base + at.ifindex, node.ifindex);
  p.u8(base + at.family, familyCode(node.family));
  p.u8(base + at.proto, node.proto);
  p.prefix(base + at.addr, node.prefix);
}

function packRange(p: Packer, at: number, low: number, high: number, ruleId: number): void {
  p.u16(at + RANGE.low, low);
  p.u16(at + RANGE.high, high);
  p.u32(at + RANGE.ruleId, ruleId);
}

/** A node's struct tctp_dst_value { id, nranges, ranges } at `base` (unused ranges stay zero). */
function packDstValue(p: Packer, base: number, id: number, content: NodeContent): void {
  p.u32(base + DST_VALUE.id, id);
  const at = base + DST_VALUE.ranges;
  if (content instanceof InlineContent) {
    // read in place: the content's `inline` makes a list at each read
    const n = content.intervalCount;
    if (n > INLINE_RANGES) throw new Error(`plan-packing: a dst value holds at most ${INLINE_RANGES} ranges, got ${n}`);
    p.u32(base + DST_VALUE.nranges, n);
    for (let j = 0; j < n; j++) packRange(p, at + j * RANGE.size, content.lowAt(j), content.highAt(j), content.ruleIdAt(j));
    return;
  }
  const ranges = content.inline ?? [];
  if (ranges.length > INLINE_RANGES) throw new Error(`plan-packing: a dst value holds at most ${INLINE_RANGES} ranges, got ${ranges.length}`);
  p.u32(base + DST_VALUE.nranges, ranges.length);
  for (let j = 0; j < ranges.length; j++) packRange(p, at + j * RANGE.size, ranges[j].low, ranges[j].high, ranges[j].ruleId);
}

/** The dst entries of written nodes, as tctp_dst (or, `host`, tctp_dst_host) keys -> struct tctp_dst_value. */
export function packDstWrites(nodes: readonly PlacedNode[], host = false): Packed {
  const keySize = host ? HOST.size : DST.size;
  const keys = new Packer(nodes.length * keySize);
  const values = new Packer(nodes.length * DST_VALUE.size);
  // indexed loops, here and below: they run once per apply over up to 100,000 nodes, mostly unoptimized
  for (let i = 0; i < nodes.length; i++) {
    packNodeKey(keys, i * keySize, nodes[i], host);
    packDstValue(values, i * DST_VALUE.size, nodes[i].id, nodes[i].content);
  }
  return { keys: keys.buf, values: values.buf, count: nodes.length };
}

/** The dst keys of dropped nodes, as tctp_dst (or, `host`, tctp_dst_host) keys. */
export function packDstDeletes(nodes: readonly PlacedNode[], host = false): Buffer {
  const keySize = host ? HOST.size : DST.size;
  const keys = new Packer(nodes.length * keySize);
  for (let i = 0; i < nodes.length; i++) packNodeKey(keys, i * keySize, nodes[i], host);
  return keys.buf;
}

/** The `count` src entries under `nodes` (tctp_src keys, and -> struct tctp_node { id } for `withValues`), from their src nodes and src ids. */
function packSrc(nodes: readonly PlacedNode[], count: number, withValues: boolean): Packed {
  const keys = new Packer(count * SRC.size);
  const values = new Packer(withValues ? count * NODE.size : 0);
  let n = 0;
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k];
    for (let i = 0; i < node.srcIds.length; i++, n++) {
      const prefix = node.content.srcNodes[i].prefix;
      const base = n * SRC.size;
      keys.u32(base + SRC.prefixlen, SRC_FIXED_BITS + prefix.length);
      keys.u32(base + SRC.dstId, node.id);
      keys.prefix(base + SRC.addr, prefix);
      if (withValues) values.u32(n * NODE.size + NODE.id, node.srcIds[i]);
    }
  }
  return { keys: keys.buf, values: values.buf, count };
}

/** The `count` port entries under `nodes` (tctp_port keys, and -> struct tctp_port_value { rule_id } for `withValues`). */
function packPort(nodes: readonly PlacedNode[], count: number, withValues: boolean): Packed {
  const keys = new Packer(count * PORT.size);
  const values = new Packer(withValues ? count * PORT_VALUE.size : 0);
  let n = 0;
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k];
    for (let i = 0; i < node.srcIds.length; i++) {
      const srcId = node.srcIds[i];
      const blocks = node.content.srcNodes[i].blocks;
      for (let j = 0; j < blocks.length; j++, n++) {
        const base = n * PORT.size;
        keys.u32(base + PORT.prefixlen, PORT_FIXED_BITS + blocks[j].bits);
        keys.u32(base + PORT.srcId, srcId);
        keys.be16(base + PORT.port, blocks[j].port);
        if (withValues) values.u32(n * PORT_VALUE.size + PORT_VALUE.ruleId, blocks[j].ruleId);
      }
    }
  }
  return { keys: keys.buf, values: values.buf, count };
}

/** The src entries of a plan's written nodes. */
export const packSrcWrites = (plan: PlanWrites): Packed => packSrc(plan.nodes.written.all, plan.made.src, true);
/** The port entries of a plan's written nodes. */
export const packPortWrites = (plan: PlanWrites): Packed => packPort(plan.nodes.written.all, plan.made.port, true);
/** The src keys of a plan's retired nodes (replaced or dropped), `values` empty. */
export const packSrcDeletes = (plan: PlanWrites): Packed => packSrc(plan.retired, plan.gone.src, false);
/** The port keys of a plan's retired nodes, `values` empty. */
export const packPortDeletes = (plan: PlanWrites): Packed => packPort(plan.retired, plan.gone.port, false);

/** tctp_rules entries: u32 id -> struct tctp_rule. */
export function packSlotWrites(slots: SlotWrites): Packed {
  const count = slots.length;
  const keys = new Packer(count * 4);
  const values = new Packer(count * RULE.size);
  for (let i = 0; i < count; i++) {
    keys.u32(i * 4, slots.ids[i]);
    const base = i * RULE.size;
    values.u8(base + RULE.action, slots.actions[i]);
    values.be16(base + RULE.port, slots.ports[i]);
    values.u64(base + RULE.identity, slots.identities[i]);
  }
  return { keys: keys.buf, values: values.buf, count };
}

/** u32 keys (rule ids) with all-zero values of `valueSize` bytes each (cleared slots, reset counters). */
export function packZeroed(ids: readonly number[], valueSize: number): Packed {
  const keys = new Packer(ids.length * 4);
  for (let i = 0; i < ids.length; i++) keys.u32(i * 4, ids[i]);
  return { keys: keys.buf, values: Buffer.alloc(ids.length * valueSize), count: ids.length };
}
