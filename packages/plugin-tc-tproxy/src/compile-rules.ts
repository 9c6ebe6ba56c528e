/**
 * The rule compiler (pure): rules -> the nodes of the three LPM tries the BPF program looks up one
 * after the other (see bpf/tc_tproxy.h):
 *
 *   tctp_dst  {ifindex, family, proto, dst prefix} -> dst node
 *   tctp_src  {dst node, src prefix}               -> src node
 *   tctp_port {src node, port block}               -> rule id
 *
 * A dst node whose only src node is "any source" with at most INLINE_RANGES port intervals is
 * inline: the intervals go into its dst value and it has no src or port entries (NodeContent.inline).
 *
 * One lookup per trie is enough because a dst node holds the rules of every shorter destination
 * prefix that contains it (same interface, family and protocol), a src node the rules of every
 * shorter source prefix of its dst node, and a src node's port blocks partition 0..65535 by the
 * winning rule (port-partition.ts). Node ids are not chosen here: node-changes.ts keeps the id of a
 * dst node whose content (its src nodes and their blocks, which name rule ids) did not change
 * (sameContent). Applies compile node by node (nodeContent) from the rule index (rule-index.ts);
 * compileRules compiles a whole rule set at once: the reference the incremental applies are
 * checked against, and the capacity check of a two-step convergence.
 */
import { InlineContent } from './inline-content.js';
import { prefixKeyAt, type IpFamily, type Prefix } from './key-prefix.js';
import type { NodeContent, SrcNode } from './node-content.js';
import { blockIntervals, portBlocks, type PartitionRule, type PortBlock, type PortInterval } from './port-partition.js';
import { byNumber, sortSmall } from './small-sort.js';
import { INLINE_RANGES } from './tproxy-constants.js';

/** What a rule matches: the fields the planner's rules and the compiled rules share. */
export interface RuleMatch {
  readonly family: IpFamily;
  /** IP protocol number (6 / 17) */
  readonly proto: number;
  readonly destination: Prefix;
  readonly source: Prefix;
  readonly low: number;
  readonly high: number;
  /** the interfaces it applies to; undefined = every attached interface */
  readonly ifindexes?: readonly number[];
}

export interface CompileRule extends PartitionRule, RuleMatch {
  /** rule id (1..maxRules) */
  readonly id: number;
  readonly deny: boolean;
}

export type { NodeContent, SrcNode } from './node-content.js';

export interface DstNode {
  readonly family: IpFamily;
  readonly proto: number;
  readonly prefix: Prefix;
  readonly content: NodeContent;
}

export interface CompiledRules {
  /** the dst nodes of every attached interface (nodes of interfaces with the same rules are shared) */
  readonly byIfindex: ReadonlyMap<number, readonly DstNode[]>;
  readonly counts: { readonly dst: number; readonly src: number; readonly port: number };
}

export interface CompileLimits {
  /** refuse (CompileCapacityError) rule sets needing more entries than this in a trie */
  readonly dst?: number;
  readonly src?: number;
  readonly port?: number;
}

/** The rule set needs more trie entries than the maps hold. */
export class CompileCapacityError extends Error {
  readonly trie: 'dst' | 'src' | 'port';
  readonly needed: number;
  readonly capacity: number;
  /** the final state fits; the entries written before the replaced ones are deleted do not */
  readonly peak: boolean;
  constructor(trie: 'dst' | 'src' | 'port', needed: number, capacity: number, peak = false) {
    super(
      peak
        ? `replacing the rules needs ${needed} entries in tctp_${trie} at once (new entries are written before the replaced ones are deleted), more than its ${capacity}`
        : `the rules need more than ${capacity} entries in tctp_${trie} (at least ${needed})`,
    );
    this.peak = peak;
    this.trie = trie;
    this.needed = needed;
    this.capacity = capacity;
  }
}

/** Whether two contents hold the same src prefixes, blocks and rule ids (both sorted as makeContent sorts). */
export function sameContent(a: NodeContent, b: NodeContent): boolean {
  if (a.inconsistent || b.inconsistent) return false;
  if (a === b) return true;
  // an inline node is its dst value: equal intervals, equal node (the state keeps them only: InlineContent)
  if (a instanceof InlineContent) return b instanceof InlineContent ? a.equals(b) : b.inline !== undefined && a.holds(b.inline);
  if (b instanceof InlineContent) return a.inline !== undefined && b.holds(a.inline);
  if (a.inline !== undefined || b.inline !== undefined) return a.inline !== undefined && b.inline !== undefined && sameIntervals(a.inline, b.inline);
  const n = a.srcNodes.length;
  if (n !== b.srcNodes.length || a.portEntries !== b.portEntries || a.srcEntries !== b.srcEntries) return false;
  for (let i = 0; i < n; i++) {
    const x = a.srcNodes[i];
    const y = b.srcNodes[i];
    if (x.prefix.key !== y.prefix.key || x.blocks.length !== y.blocks.length) return false;
    for (let j = 0; j < x.blocks.length; j++) {
      const p = x.blocks[j];
      const q = y.blocks[j];
      if (p.port !== q.port || p.bits !== q.bits || p.ruleId !== q.ruleId) return false;
    }
  }
  return true;
}

function sameIntervals(a: readonly PortInterval[], b: readonly PortInterval[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].low !== b[i].low || a[i].high !== b[i].high || a[i].ruleId !== b[i].ruleId) return false;
  return true;
}

function byPrefixKey(a: SrcNode, b: SrcNode): number {
  return a.prefix.key < b.prefix.key ? -1 : a.prefix.key > b.prefix.key ? 1 : 0;
}

/**
 * A content from its src nodes (sorted here by prefix key); inline when its only src node is "any
 * source" with 1..INLINE_RANGES port intervals.
 */
export function makeContent(srcNodes: SrcNode[]): NodeContent {
  if (srcNodes.length > 1) sortSmall(srcNodes, byPrefixKey);
  if (srcNodes.length === 1 && srcNodes[0].prefix.length === 0 && srcNodes[0].blocks.length > 0) {
    const inline = blockIntervals(srcNodes[0].blocks);
    if (inline.length <= INLINE_RANGES) return { srcNodes, srcEntries: 0, portEntries: 0, inline };
  }
  let portEntries = 0;
  for (const n of srcNodes) portEntries += n.blocks.length;
  return { srcNodes, srcEntries: srcNodes.length, portEntries };
}

interface Group<T> {
  readonly prefix: Prefix;
  readonly own: T[];
}

/**
 * Groups items by prefix and gives each prefix the items of its own group plus those of every
 * shorter prefix in the set that contains it. Calls `visit(prefix, items)` once per distinct prefix.
 */
function withAncestors<T>(items: readonly T[], prefixOf: (item: T) => Prefix, visit: (prefix: Prefix, items: readonly T[]) => void): void {
  const groups = new Map<string, Group<T>>();
  const lengths = new Set<number>();
  for (const item of items) {
    const p = prefixOf(item);
    let g = groups.get(p.key);
    if (g === undefined) {
      g = { prefix: p, own: [] };
      groups.set(p.key, g);
      lengths.add(p.length);
    }
    g.own.push(item);
  }
  const sorted = sortSmall([...lengths], byNumber);
  for (const g of groups.values()) {
    let all: T[] | undefined;
    for (const len of sorted) {
      if (len >= g.prefix.length) break;
      const anc = groups.get(prefixKeyAt(g.prefix, len));
      if (anc !== undefined) all = appendAll(all ?? [], anc.own);
    }
    visit(g.prefix, all === undefined ? g.own : appendAll(all, g.own));
  }
}

/** `target` with `items` appended (no spread: lists may be longer than the argument limit). */
function appendAll<T>(target: T[], items: readonly T[]): T[] {
  for (let i = 0; i < items.length; i++) target.push(items[i]);
  return target;
}

class Budget {
  src = 0;
  port = 0;
  constructor(readonly limits: CompileLimits) {}
  add(src: number, port: number): void {
    this.src += src;
    this.port += port;
    if (this.limits.src !== undefined && this.src > this.limits.src) throw new CompileCapacityError('src', this.src, this.limits.src);
    if (this.limits.port !== undefined && this.port > this.limits.port) throw new CompileCapacityError('port', this.port, this.limits.port);
  }
}

/** The content of a dst node holding `rules` (all of one family and protocol, all containing its prefix). */
export function nodeContent(rules: readonly CompileRule[]): NodeContent {
  if (rules.length === 1) {
    const r = rules[0];
    return makeContent([{ prefix: r.source, blocks: portBlocks(rules) }]);
  }
  const srcNodes: SrcNode[] = [];
  withAncestors(
    rules,
    (r) => r.source,
    (prefix, matching) => srcNodes.push({ prefix, blocks: portBlocks(matching) }),
  );
  return makeContent(srcNodes);
}

/** The dst nodes of one interface's rules. */
function compileInterface(rules: readonly CompileRule[], budget: Budget): DstNode[] {
  const byFamilyProto = new Map<string, CompileRule[]>();
  for (const r of rules) {
    const k = `${r.family}/${r.proto}`;
    let list = byFamilyProto.get(k);
    if (list === undefined) byFamilyProto.set(k, (list = []));
    list.push(r);
  }
  const out: DstNode[] = [];
  for (const list of byFamilyProto.values()) {
    const { family, proto } = list[0];
    withAncestors(
      list,
      (r) => r.destination,
      (prefix, matching) => {
        const content = nodeContent(matching);
        budget.add(content.srcEntries, content.portEntries);
        out.push({ family, proto, prefix, content });
      },
    );
  }
  return out;
}

/**
 * Compiles `rules` for the attached interfaces `ifindexes`. Interfaces to which the same rules apply
 * share their DstNode objects (compiled once). Throws CompileCapacityError past `limits`.
 */
export function compileRules(rules: readonly CompileRule[], ifindexes: readonly number[], limits: CompileLimits = {}): CompiledRules {
  const everywhere: CompileRule[] = [];
  const restricted: CompileRule[] = [];
  for (const r of rules) (r.ifindexes === undefined ? everywhere : restricted).push(r);
  // interfaces grouped by the restricted rules that apply to them
  const groups = new Map<string, { ifindexes: number[]; rules: CompileRule[] }>();
  for (const ifindex of ifindexes) {
    const mine = restricted.filter((r) => r.ifindexes!.includes(ifindex));
    const key = mine.map((r) => r.id).join(',');
    const g = groups.get(key);
    if (g) g.ifindexes.push(ifindex);
    else groups.set(key, { ifindexes: [ifindex], rules: mine });
  }
  const byIfindex = new Map<number, readonly DstNode[]>();
  const budget = new Budget(limits);
  let dst = 0;
  let src = 0;
  let port = 0;
  for (const g of groups.values()) {
    const before = { src: budget.src, port: budget.port };
    const nodes = compileInterface(g.rules.length === 0 ? everywhere : [...everywhere, ...g.rules], budget);
    const n = g.ifindexes.length;
    const addSrc = budget.src - before.src;
    const addPort = budget.port - before.port;
    // the shared nodes are written once per interface
    budget.add(addSrc * (n - 1), addPort * (n - 1));
    dst += nodes.length * n;
    src += addSrc * n;
    port += addPort * n;
    if (limits.dst !== undefined && dst > limits.dst) throw new CompileCapacityError('dst', dst, limits.dst);
    for (const ifindex of g.ifindexes) byIfindex.set(ifindex, nodes);
  }
  return { byIfindex, counts: { dst, src, port } };
}
