/**
 * The dst nodes an apply writes and deletes: which nodes to compile (all of them, or those of the
 * changed destination prefixes and the prefixes inside them), their content compared with what the
 * maps hold (an unchanged node keeps its id and is not touched), the capacity check, and the trie
 * writes of new and changed nodes under fresh ids (copy on write) with the state updated to match.
 * An inline node (NodeContent.inline) is one dst entry whose value holds its port intervals.
 */
import { CompileCapacityError, nodeContent, sameContent, type CompileLimits, type CompileRule, type NodeContent } from './compile-rules.js';
import { IdAllocator } from './id-pool.js';
import { InlineContent, keptContent } from './inline-content.js';
import { maxPrefixLength } from '@bpfsteer/ip';
import type { IpFamily, Prefix } from './key-prefix.js';
import type { ApplyPlan, DstNodeValue } from './plan-types.js';
import type { DstKey, PortKey, SrcKey } from './map-codecs.js';
import type { DirtyPrefixes, DstGroup, IndexedPrefix, RuleIndex } from './rule-index.js';
import { AF_INET, AF_INET6, DST_FIXED_BITS, PORT_FIXED_BITS, SRC_FIXED_BITS } from './tproxy-constants.js';
import type { PlacedNode, TrieState } from './trie-state.js';

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

const NO_IDS: readonly number[] = Object.freeze([]);
const NO_RANGES: DstNodeValue['ranges'] = Object.freeze([]);

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A dst node to (re)write: new, or replacing `old` (whose content changed). */
interface NodeWrite {
  readonly group: DstGroup;
  readonly prefix: Prefix;
  readonly content: NodeContent;
  readonly old: PlacedNode | undefined;
}

/** A placed node to delete: its group and key in TrieState.dst. */
interface NodeDrop {
  readonly node: PlacedNode;
  readonly groupKey: string;
  readonly key: string;
}

export interface NodeChanges {
  readonly writes: NodeWrite[];
  readonly drops: NodeDrop[];
}

/**
 * nodeContent of a node's rules, the commonest node (one rule, from any source: its one port
 * interval inline) straight as the state keeps it, without the src node, port blocks and lists
 * nodeContent would build first (a batch of 100,000 host rules compiles as many nodes).
 */
function compiledContent(rules: readonly CompileRule[]): NodeContent {
  if (rules.length === 1 && rules[0].source.length === 0) {
    const r = rules[0];
    return InlineContent.single(r.low, r.high, r.id);
  }
  return nodeContent(rules);
}

/** Compiles one node, reusing the content of the same prefix of another interface with the same rules. */
class NodeCompiler {
  readonly #memo: Map<string, { rules: readonly CompileRule[]; content: NodeContent }> | undefined;
  readonly writes: NodeWrite[] = [];

  constructor(
    interfaces: number,
    private readonly epoch: number,
  ) {
    this.#memo = interfaces > 1 ? new Map() : undefined;
  }

  /** Compiles `entry` of `group`; a write unless `placed` (the group's placed nodes) has it with that content. */
  visit(group: DstGroup, entry: IndexedPrefix, placed: Map<string, PlacedNode> | undefined, rules = group.rulesOf(entry)): void {
    let content: NodeContent | undefined;
    if (this.#memo !== undefined) {
      const key = `${group.family}|${group.proto}|${entry.prefix.key}`;
      const m = this.#memo.get(key);
      if (m !== undefined && sameList(m.rules, rules)) content = m.content;
      else this.#memo.set(key, { rules, content: (content = compiledContent(rules)) });
    } else {
      content = compiledContent(rules);
    }
    const old = placed?.get(entry.prefix.key);
    if (old !== undefined) {
      // kept or replaced: either way not swept
      if (old.epoch === this.epoch) return; // already visited (a prefix dirty twice)
      old.epoch = this.epoch;
      if (sameContent(old.content, content)) return;
    }
    this.writes.push({ group, prefix: entry.prefix, content, old });
  }
}

/** Every node of `index`, and every placed node it does not have (to delete). */
export function compileAll(state: TrieState, index: RuleIndex, epoch: number): NodeChanges {
  const compiler = new NodeCompiler(index.ifindexes.length, epoch);
  for (const group of index.groups.values()) {
    const placed = state.dst.get(group.key);
    group.forEachNode((entry, rules) => compiler.visit(group, entry, placed, rules));
  }
  const drops: NodeDrop[] = [];
  state.dst.forEach((placed, groupKey) =>
    placed.forEach((node, key) => {
      if (node.epoch !== epoch) drops.push({ node, groupKey, key });
    }),
  );
  return { writes: compiler.writes, drops };
}

/**
 * The nodes of the dirty prefixes and of the prefixes inside them (their content includes the
 * dirty prefix's rules), and the placed nodes of dirty prefixes no rule has any more.
 */
export function compileDirty(state: TrieState, index: RuleIndex, dirty: DirtyPrefixes, epoch: number): NodeChanges {
  const compiler = new NodeCompiler(index.ifindexes.length, epoch);
  const drops: NodeDrop[] = [];
  for (const [group, prefixes] of dirty) {
    const placed = state.dst.get(group.key);
    // most of the group changes (e.g. a large batch): compile it all in one ordered walk, rather
    // than look for descendants and ancestors prefix by prefix
    let all = prefixes.length * 2 > group.size;
    const targets = new Set<IndexedPrefix>();
    if (!all) {
      for (let k = 0; k < prefixes.length; k++) {
        const prefix = prefixes[k];
        const entry = group.byKey.get(prefix.key);
        if (entry !== undefined) targets.add(entry);
        if (prefix.length < maxPrefixLength(prefix.family)) for (const d of group.descendants(prefix)) targets.add(d);
        if (targets.size * 2 > group.size) {
          all = true;
          break;
        }
      }
    }
    if (all) group.forEachNode((entry, rules) => compiler.visit(group, entry, placed, rules));
    else for (const entry of targets) compiler.visit(group, entry, placed);
    if (placed === undefined) continue;
    for (let k = 0; k < prefixes.length; k++) {
      const key = prefixes[k].key;
      if (group.byKey.has(key)) continue;
      const old = placed.get(key);
      if (old !== undefined && old.epoch !== epoch) {
        old.epoch = epoch;
        drops.push({ node: old, groupKey: group.key, key });
      }
    }
  }
  return { writes: compiler.writes, drops };
}

/**
 * CompileCapacityError when the tries would hold more than `limits` once the nodes are written, or
 * at any moment while they are: executePlan writes every new src and port entry (under fresh ids)
 * and new dst entry before it deletes the replaced ones, so the peak is what the maps hold now plus
 * everything written. Checked before the first write, so a refused plan changes nothing.
 */
export function checkCapacity(state: TrieState, nodes: NodeChanges, limits: CompileLimits): void {
  let dst = state.dstEntries;
  let src = state.srcEntries;
  let port = state.portEntries;
  let srcPeak = src;
  let portPeak = port;
  // indexed loops: they run once per apply over up to 100,000 nodes, mostly unoptimized
  for (let k = 0; k < nodes.writes.length; k++) {
    const w = nodes.writes[k];
    src += w.content.srcEntries;
    port += w.content.portEntries;
    srcPeak += w.content.srcEntries;
    portPeak += w.content.portEntries;
    if (w.old === undefined) dst++;
    else {
      src -= w.old.content.srcEntries;
      port -= w.old.content.portEntries;
    }
  }
  const dstPeak = dst;
  for (let k = 0; k < nodes.drops.length; k++) {
    const node = nodes.drops[k].node;
    dst--;
    src -= node.content.srcEntries;
    port -= node.content.portEntries;
  }
  if (limits.dst !== undefined && dst > limits.dst) throw new CompileCapacityError('dst', dst, limits.dst);
  if (limits.src !== undefined && src > limits.src) throw new CompileCapacityError('src', src, limits.src);
  if (limits.port !== undefined && port > limits.port) throw new CompileCapacityError('port', port, limits.port);
  if (limits.dst !== undefined && dstPeak > limits.dst) throw new CompileCapacityError('dst', dstPeak, limits.dst, true);
  if (limits.src !== undefined && srcPeak > limits.src) throw new CompileCapacityError('src', srcPeak, limits.src, true);
  if (limits.port !== undefined && portPeak > limits.port) throw new CompileCapacityError('port', portPeak, limits.port, true);
}

/** Prefix lengths of dst keys: the fixed bits and up to 128 address bits. */
const DST_KEY_LENGTHS = DST_FIXED_BITS + 129;

/**
 * Sorts `list` in place by the prefix length of each item (longest first when `descending`),
 * stable: one counting pass instead of a comparison sort (an apply of 100,000 rules writes as many
 * dst entries, of a handful of lengths).
 */
export function sortByPrefixLength<T>(list: T[], lengthOf: (item: T) => number, descending: boolean): void {
  if (list.length < 2) return;
  if (list.length <= 16) {
    list.sort(descending ? (a, b) => lengthOf(b) - lengthOf(a) : (a, b) => lengthOf(a) - lengthOf(b));
    return;
  }
  const start = new Array<number>(DST_KEY_LENGTHS + 1).fill(0);
  const rank = (item: T) => {
    const len = lengthOf(item);
    return descending ? DST_KEY_LENGTHS - 1 - len : len;
  };
  for (let i = 0; i < list.length; i++) start[rank(list[i]) + 1]++;
  for (let i = 1; i <= DST_KEY_LENGTHS; i++) start[i] += start[i - 1];
  const sorted = new Array<T>(list.length);
  for (let i = 0; i < list.length; i++) sorted[start[rank(list[i])]++] = list[i];
  for (let i = 0; i < sorted.length; i++) list[i] = sorted[i];
}

/** The trie writes of `nodes` (new and changed nodes under fresh ids, copy on write), `state` updated. */
export function placeNodes(
  state: TrieState,
  nodes: NodeChanges,
  epoch: number,
): Pick<ApplyPlan, 'portWrites' | 'srcWrites' | 'dstWrites' | 'dstDeletes' | 'srcDeletes' | 'portDeletes'> {
  const dstPool = new IdAllocator(state.dstPool);
  const srcPool = new IdAllocator(state.srcPool);
  const portWrites: Array<readonly [PortKey, number]> = [];
  const srcWrites: Array<readonly [SrcKey, number]> = [];
  const dstWrites: Array<readonly [DstKey, DstNodeValue]> = [];
  const dstDeletes: DstKey[] = [];
  const srcDeletes: SrcKey[] = [];
  const portDeletes: PortKey[] = [];

  const retire = (old: PlacedNode) => {
    // an inline node has no src ids (and no src or port entries)
    old.srcIds.forEach((srcId, i) => {
      const sn = old.content.srcNodes[i];
      srcDeletes.push(srcKeyOf(old.id, sn.prefix));
      for (const b of sn.blocks) portDeletes.push(portKeyOf(srcId, b.port, b.bits));
      srcPool.release(srcId);
    });
    state.srcEntries -= old.content.srcEntries;
    state.portEntries -= old.content.portEntries;
    dstPool.release(old.id);
  };

  for (let k = 0; k < nodes.writes.length; k++) {
    const { group, prefix, content, old } = nodes.writes[k];
    const id = dstPool.alloc() as number; // node ids (2^32) do not run out before the tries are full
    const inline = content.inline; // read once: an InlineContent makes the list at each read
    const srcIds =
      inline !== undefined
        ? NO_IDS
        : content.srcNodes.map((sn) => {
            const srcId = srcPool.alloc() as number;
            for (const b of sn.blocks) portWrites.push([portKeyOf(srcId, b.port, b.bits), b.ruleId]);
            srcWrites.push([srcKeyOf(id, sn.prefix), srcId]);
            return srcId;
          });
    state.srcEntries += content.srcEntries;
    state.portEntries += content.portEntries;
    const placed: PlacedNode = { id, ifindex: group.ifindex, family: group.family, proto: group.proto, prefix, content: keptContent(content), srcIds, epoch };
    dstWrites.push([dstKeyOf(placed), { id, ranges: inline ?? NO_RANGES }]);
    let map = state.dst.get(group.key);
    if (map === undefined) state.dst.set(group.key, (map = new Map()));
    map.set(prefix.key, placed);
    if (old === undefined) state.dstEntries++;
    else retire(old);
  }
  for (const { node, groupKey, key } of nodes.drops) {
    dstDeletes.push(node.rawKey ?? dstKeyOf(node));
    retire(node);
    state.dstEntries--;
    const map = state.dst.get(groupKey)!;
    map.delete(key);
    if (map.size === 0) state.dst.delete(groupKey);
  }
  sortByPrefixLength(dstWrites, (w) => w[0].prefixlen, true);
  sortByPrefixLength(dstDeletes, (k) => k.prefixlen, false);
  state.dstPool = dstPool.result();
  state.srcPool = srcPool.result();
  return { portWrites, srcWrites, dstWrites, dstDeletes, srcDeletes, portDeletes };
}
