/**
 * The dst nodes an apply writes and deletes: which nodes to compile (all of them, or those of the
 * changed destination prefixes and the prefixes inside them), their content compared with what the
 * maps hold (an unchanged node keeps its id and is not touched), the capacity check, and new and
 * changed nodes placed under fresh ids (copy on write; their trie writes follow from the placed
 * nodes, plan-writes.ts) with the state updated to match.
 * An inline node (NodeContent.inline) is one dst entry whose value holds its port intervals.
 */
import { CompileCapacityError, nodeContent, sameContent, type CompileLimits, type CompileRule, type NodeContent } from './compile-rules.js';
import { IdAllocator } from './id-pool.js';
import { InlineContent, isInline, keptContent } from './inline-content.js';
import { maxPrefixLength } from '@bpfsteer/ip';
import type { Prefix } from './key-prefix.js';
import type { DstNodes, NodePlacement } from './plan-writes.js';
import type { DirtyPrefixes, DstGroup, IndexedPrefix, RuleIndex } from './rule-index.js';
import { partitionPorts } from './port-partition.js';
import { DST_FIXED_BITS, INLINE_RANGES } from './tproxy-constants.js';
import { isHostNode, nodeKeyLength } from './trie-keys.js';
import type { PlacedNode, TrieState } from './trie-state.js';

const NO_IDS: readonly number[] = Object.freeze([]);
const NO_PLACED: readonly PlacedNode[] = Object.freeze([]);
const NO_NODES: DstNodes = Object.freeze({ all: NO_PLACED, host: NO_PLACED, trie: NO_PLACED });

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
 * nodeContent of a node's rules, the commonest nodes (every rule from any source: one src node
 * whose few port intervals go inline) straight as the state keeps them (InlineContent), without the
 * src node, port blocks and lists nodeContent would build first and the state would drop (a batch
 * of 100,000 host rules compiles as many nodes). The intervals are nodeContent's: the blocks of
 * partitionPorts's maximal intervals merge back into them.
 */
function compiledContent(rules: readonly CompileRule[]): NodeContent {
  for (let i = 0; i < rules.length; i++) if (rules[i].source.length !== 0) return nodeContent(rules);
  if (rules.length === 1) return InlineContent.single(rules[0].low, rules[0].high, rules[0].id);
  const intervals = partitionPorts(rules);
  return intervals.length <= INLINE_RANGES ? InlineContent.of(intervals) : nodeContent(rules);
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
 * `nodes` in the order of their dst keys' prefix lengths (`lengths[i]` is that of `nodes[i]`;
 * longest first when `descending`), and split by the map their dst entry lives in (`host[i]`):
 * stable, one counting pass instead of a comparison sort (an apply of 100,000 rules writes as many
 * dst entries, of a handful of lengths), with the lengths read when the nodes were at hand.
 */
function inKeyOrder(nodes: readonly PlacedNode[], lengths: Uint8Array, host: Uint8Array, descending: boolean): DstNodes {
  const n = nodes.length;
  if (n === 0) return NO_NODES;
  if (n === 1) return host[0] !== 0 ? { all: nodes, host: nodes, trie: NO_PLACED } : { all: nodes, host: NO_PLACED, trie: nodes }; // (a single change)
  const start = new Uint32Array(DST_KEY_LENGTHS + 1);
  const rank = (i: number) => (descending ? DST_KEY_LENGTHS - 1 - lengths[i] : lengths[i]);
  for (let i = 0; i < n; i++) start[rank(i) + 1]++;
  for (let r = 1; r <= DST_KEY_LENGTHS; r++) start[r] += start[r - 1];
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[start[rank(i)]++] = i;
  const all = new Array<PlacedNode>(n);
  const hosts: PlacedNode[] = [];
  const tries: PlacedNode[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k];
    all[k] = nodes[i];
    (host[i] !== 0 ? hosts : tries).push(nodes[i]);
  }
  return { all, host: hosts, trie: tries };
}

/**
 * The dst nodes of `nodes` placed under fresh ids (copy on write) and those they replace or drop
 * taken out, `state` updated to match; the map operations follow from the nodes (PlanWrites).
 */
export function placeNodes(state: TrieState, nodes: NodeChanges, epoch: number): NodePlacement {
  const dstPool = new IdAllocator(state.dstPool);
  const srcPool = new IdAllocator(state.srcPool);
  const n = nodes.writes.length;
  const written = new Array<PlacedNode>(n);
  const writtenLengths = new Uint8Array(n);
  const writtenHost = new Uint8Array(n);
  const replaced: PlacedNode[] = [];
  const dropped: PlacedNode[] = [];

  const retire = (old: PlacedNode) => {
    // an inline node has no src ids (and no src or port entries)
    for (let i = 0; i < old.srcIds.length; i++) srcPool.release(old.srcIds[i]);
    state.srcEntries -= old.content.srcEntries;
    state.portEntries -= old.content.portEntries;
    dstPool.release(old.id);
  };

  // indexed loops: they run once per apply over up to 100,000 nodes, mostly unoptimized
  let group: DstGroup | undefined;
  let map: Map<string, PlacedNode> | undefined;
  for (let k = 0; k < n; k++) {
    const w = nodes.writes[k];
    const content = w.content;
    const id = dstPool.alloc() as number; // node ids (2^32) do not run out before the tries are full
    let srcIds = NO_IDS;
    if (!isInline(content)) {
      const ids = new Array<number>(content.srcNodes.length);
      for (let i = 0; i < ids.length; i++) ids[i] = srcPool.alloc() as number;
      srcIds = ids;
    }
    state.srcEntries += content.srcEntries;
    state.portEntries += content.portEntries;
    if (w.group !== group) {
      // (the writes come group by group)
      group = w.group;
      map = state.dst.get(group.key);
      if (map === undefined) state.dst.set(group.key, (map = new Map()));
    }
    const placed: PlacedNode = {
      id,
      ifindex: group.ifindex,
      family: group.family,
      proto: group.proto,
      prefix: w.prefix,
      content: keptContent(content),
      srcIds,
      epoch,
    };
    written[k] = placed;
    writtenLengths[k] = nodeKeyLength(placed);
    writtenHost[k] = isHostNode(placed) ? 1 : 0;
    map!.set(w.prefix.key, placed);
    if (w.old === undefined) state.dstEntries++;
    else {
      retire(w.old);
      replaced.push(w.old);
    }
  }
  const droppedLengths = new Uint8Array(nodes.drops.length);
  const droppedHost = new Uint8Array(nodes.drops.length);
  for (let k = 0; k < nodes.drops.length; k++) {
    const { node, groupKey, key } = nodes.drops[k];
    dropped.push(node);
    droppedLengths[k] = Math.min(nodeKeyLength(node), DST_KEY_LENGTHS - 1); // (a key adopted from the maps may claim any length)
    droppedHost[k] = isHostNode(node) ? 1 : 0;
    retire(node);
    state.dstEntries--;
    const groupMap = state.dst.get(groupKey)!;
    groupMap.delete(key);
    if (groupMap.size === 0) state.dst.delete(groupKey);
  }
  state.dstPool = dstPool.result();
  state.srcPool = srcPool.result();
  return {
    written: inKeyOrder(written, writtenLengths, writtenHost, true),
    replaced,
    dropped: inKeyOrder(dropped, droppedLengths, droppedHost, false),
  };
}
