/**
 * After a restart the pinned maps still hold the rule set in force: rebuild the TrieState from
 * them, so the first apply of the same desired state changes nothing. Rule ids are matched to rules
 * again through tctp_rules.identity (the identity hash); dst nodes by their key, with their content
 * rebuilt from their src and port entries (or, inline nodes, from the ranges of their value) in the
 * compiler's form. Anything inconsistent (shared
 * ids, malformed keys) is marked so that no compiled content equals it and the first apply
 * rewrites it; entries nothing can reach are returned as strays to delete.
 */
import { makeContent, type NodeContent, type SrcNode } from './compile-rules.js';
import { poolFromUsed } from './id-pool.js';
import { keptContent } from './inline-content.js';
import { maxPrefixLength } from '@bpfsteer/ip';
import { hostBitsClear, makePrefix, type IpFamily } from './key-prefix.js';
import type { DstKey, DstValue, PortKey, RuleValue, SrcKey } from './map-codecs.js';
import { pushBlocks, type PortBlock } from './port-partition.js';
import { AF_INET, AF_INET6, DST_FIXED_BITS, INLINE_RANGES, PORT_FIXED_BITS, PROTO_TCP, PROTO_UDP, SRC_FIXED_BITS } from './tproxy-constants.js';
import { dstGroupKey } from './rule-index.js';
import { RuleSlots } from './rule-slots.js';
import { MAX_NODE_ID, type PlacedNode, type TrieState } from './trie-state.js';

export interface KernelTries {
  readonly dst: ReadonlyArray<readonly [DstKey, DstValue]>;
  readonly src: ReadonlyArray<readonly [SrcKey, number]>;
  readonly port: ReadonlyArray<readonly [PortKey, number]>;
  /** the non-empty tctp_rules slots */
  readonly rules: ReadonlyArray<readonly [number, RuleValue]>;
}

export interface Adoption {
  readonly state: TrieState;
  /** src and port entries no dst node reaches, or malformed: delete them */
  readonly straySrc: readonly SrcKey[];
  readonly strayPort: readonly PortKey[];
}

function familyOf(code: number): IpFamily | undefined {
  return code === AF_INET ? 4 : code === AF_INET6 ? 6 : undefined;
}

/** The content of an inline dst value, marked inconsistent unless the compiler would write exactly these ranges. */
function inlineContent(family: IpFamily, value: DstValue): NodeContent {
  const n = value.nranges;
  const ranges = value.ranges.slice(0, Math.min(n, INLINE_RANGES));
  const blocks: PortBlock[] = [];
  let valid = n <= INLINE_RANGES;
  let next = 0; // ranges ascend and are disjoint
  for (const r of ranges) {
    if (r.low < next || r.high < r.low || r.rule_id < 1) valid = false;
    else pushBlocks(blocks, r.low, r.high, r.rule_id);
    next = r.high + 1;
  }
  const made = makeContent([{ prefix: makePrefix(family, new Uint8Array(16), 0), blocks }]);
  const same =
    valid &&
    made.inline !== undefined &&
    made.inline.length === ranges.length &&
    made.inline.every((iv, i) => iv.low === ranges[i].low && iv.high === ranges[i].high && iv.ruleId === ranges[i].rule_id);
  return same ? made : { ...made, srcEntries: 0, portEntries: 0, inline: undefined, inconsistent: true };
}

export function adoptTries(kernel: KernelTries, maxRules: number): Adoption {
  // rule slots
  const slots = new RuleSlots(maxRules);
  const usedRuleIds: number[] = [];
  const adoptable = new Map<bigint, number>();
  for (const [id, v] of kernel.rules) {
    if (v.action === 0 || id < 1 || id > maxRules) continue;
    slots.set(id, { action: v.action, tproxyPort: v.tproxy_port_be, identity: v.identity });
    usedRuleIds.push(id);
    if (!adoptable.has(v.identity)) adoptable.set(v.identity, id);
  }

  // dst entries: valid keys grouped by node id
  interface DstEntry {
    readonly key: DstKey;
    readonly value: DstValue;
    readonly id: number;
    readonly family: IpFamily;
    readonly length: number;
  }
  const valid: DstEntry[] = [];
  const invalid: DstKey[] = [];
  const keysOfId = new Map<number, DstEntry[]>();
  for (const [key, value] of kernel.dst) {
    const id = value.id;
    const family = familyOf(key.family);
    const length = key.prefixlen - DST_FIXED_BITS;
    const ok =
      family !== undefined &&
      (key.proto === PROTO_TCP || key.proto === PROTO_UDP) &&
      key.ifindex > 0 &&
      id >= 1 &&
      length >= 0 &&
      length <= maxPrefixLength(family) &&
      hostBitsClear(family, key.addr, length);
    if (!ok) {
      invalid.push(key);
      continue;
    }
    const e = { key, value, id, family, length };
    valid.push(e);
    const list = keysOfId.get(id);
    if (list) list.push(e);
    else keysOfId.set(id, [e]);
  }

  // src entries under live dst nodes
  const straySrc: SrcKey[] = [];
  const strayPort: PortKey[] = [];
  const forced = new Set<number>(); // dst ids whose nodes must be rewritten
  const srcOfDst = new Map<number, Array<{ key: SrcKey; id: number; length: number }>>();
  const usersOfSrcId = new Map<number, number>();
  for (const [key, id] of kernel.src) {
    const owners = keysOfId.get(key.dst_id);
    // src entries of an inline dst node are unreachable
    if (owners === undefined || owners.every((o) => o.value.nranges > 0)) {
      straySrc.push(key);
      continue;
    }
    const family = owners[0].family;
    const length = key.prefixlen - SRC_FIXED_BITS;
    if (id < 1 || length < 0 || length > maxPrefixLength(family) || !hostBitsClear(family, key.addr, length)) {
      straySrc.push(key);
      forced.add(key.dst_id);
      continue;
    }
    const list = srcOfDst.get(key.dst_id);
    const e = { key, id, length };
    if (list) list.push(e);
    else srcOfDst.set(key.dst_id, [e]);
    usersOfSrcId.set(id, (usersOfSrcId.get(id) ?? 0) + 1);
  }

  // port entries under live src nodes
  const blocksOfSrc = new Map<number, PortBlock[]>();
  for (const [key, ruleId] of kernel.port) {
    const bits = key.prefixlen - PORT_FIXED_BITS;
    const aligned = bits >= 0 && bits <= 16 && (key.port_be & (bits === 16 ? 0 : 0xffff >>> bits)) === 0;
    if (!usersOfSrcId.has(key.src_id) || !aligned) {
      strayPort.push(key);
      continue;
    }
    const b = { port: key.port_be, bits, ruleId };
    const list = blocksOfSrc.get(key.src_id);
    if (list) list.push(b);
    else blocksOfSrc.set(key.src_id, [b]);
  }
  for (const [id, users] of keysOfId) if (users.length > 1) forced.add(id);
  for (const [dstId, list] of srcOfDst) if (list.some((s) => (usersOfSrcId.get(s.id) ?? 0) > 1)) forced.add(dstId);

  // nodes
  const dst = new Map<string, Map<string, PlacedNode>>();
  let dstEntries = 0;
  const place = (groupKey: string, key: string, node: PlacedNode) => {
    let group = dst.get(groupKey);
    if (group === undefined) dst.set(groupKey, (group = new Map()));
    if (group.has(key)) return; // two kernel keys with one canonical key cannot happen (the key is exact)
    group.set(key, node);
    dstEntries++;
  };
  let srcEntries = 0;
  let portEntries = 0;
  const inlineOf = (family: IpFamily, value: DstValue, isForced: boolean) => {
    const content = inlineContent(family, value);
    return { content: isForced ? { ...content, inconsistent: true as const } : content, srcIds: [] as number[] };
  };
  const contentOf = new Map<number, { content: PlacedNode['content']; srcIds: number[] }>();
  for (const [dstId, owners] of keysOfId) {
    if (owners.every((o) => o.value.nranges > 0)) continue;
    const family = owners[0].family;
    const pairs = (srcOfDst.get(dstId) ?? []).map((s) => {
      const blocks = (blocksOfSrc.get(s.id) ?? []).sort((a, b) => a.port - b.port || a.bits - b.bits);
      const node: SrcNode = { prefix: makePrefix(family, s.key.addr, s.length), blocks };
      return { node, id: s.id };
    });
    pairs.sort((a, b) => (a.node.prefix.key < b.node.prefix.key ? -1 : a.node.prefix.key > b.node.prefix.key ? 1 : 0));
    const made = makeContent(pairs.map((p) => p.node));
    // the entries as they are (a content the compiler would write inline is rewritten so)
    let blocks = 0;
    for (const p of pairs) blocks += p.node.blocks.length;
    const content: NodeContent =
      forced.has(dstId) || made.inline !== undefined
        ? { srcNodes: made.srcNodes, srcEntries: pairs.length, portEntries: blocks, inconsistent: true }
        : made;
    contentOf.set(dstId, { content, srcIds: pairs.map((p) => p.id) });
    srcEntries += pairs.length;
    portEntries += blocks;
  }
  for (const e of valid) {
    const { content, srcIds } =
      e.value.nranges > 0 ? inlineOf(e.family, e.value, forced.has(e.id)) : contentOf.get(e.id)!;
    const prefix = makePrefix(e.family, e.key.addr, e.length);
    const node: PlacedNode = { id: e.id, ifindex: e.key.ifindex, family: e.family, proto: e.key.proto, prefix, content: keptContent(content), srcIds, rawKey: e.key, epoch: 0 };
    place(dstGroupKey(e.key.ifindex, e.family, e.key.proto), prefix.key, node);
  }
  invalid.forEach((key, i) => {
    const family: IpFamily = familyOf(key.family) ?? 4;
    const prefix = makePrefix(family, new Uint8Array(16), 0);
    place('!invalid', String(i), {
      id: 0,
      ifindex: key.ifindex,
      family,
      proto: key.proto,
      prefix,
      content: { srcNodes: [], srcEntries: 0, portEntries: 0, inconsistent: true },
      srcIds: [],
      rawKey: key,
      epoch: 0,
    });
  });

  const srcIdsInUse: number[] = [];
  for (const { srcIds } of contentOf.values()) srcIdsInUse.push(...srcIds);
  const state: TrieState = {
    dst,
    dstEntries,
    srcEntries,
    portEntries,
    slots,
    ruleCount: usedRuleIds.length,
    applied: new Map(),
    lastRules: [],
    lastApplied: [],
    lastIds: [],
    lastPosition: new Int32Array(maxRules + 1),
    index: undefined,
    synced: false,
    adoptable,
    rulePool: poolFromUsed(maxRules, usedRuleIds),
    dstPool: poolFromUsed(MAX_NODE_ID, keysOfId.keys()),
    srcPool: poolFromUsed(MAX_NODE_ID, srcIdsInUse),
    epoch: 0,
  };
  return { state, straySrc, strayPort };
}
