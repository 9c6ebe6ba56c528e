/**
 * The map operations of one apply (ApplyPlan) in the form the planner makes them: the rule slots
 * written as columns, and the dst nodes written, replaced and dropped, from which every trie key
 * and value follows. executePlan packs them straight from there (plan-packing.ts); ApplyPlan's
 * lists of entries are made from them only when read (tests, tools). An apply of 100,000 rules
 * writes some 300,000 entries: as lists, each a tuple, a key (with a view of its address) and a value.
 */
import type { DstKey, PortKey, RuleValue, SrcKey } from './map-codecs.js';
import type { ApplyPlan, DstNodeValue } from './plan-types.js';
import { dstKeyOf, portKeyOf, srcKeyOf } from './trie-keys.js';
import type { PlacedNode } from './trie-state.js';

/**
 * tctp_rules slots to write, as columns (`ids[i]` gets `actions[i]`, `ports[i]`, `identities[i]`
 * for i < length): typed arrays, so that a batch of 100,000 new rules keeps neither a tuple and a
 * value object per slot nor its identity as a bigint object.
 */
export class SlotWrites {
  #ids = new Uint32Array(8);
  #actions = new Uint8Array(8);
  #ports = new Uint16Array(8);
  #identities = new BigUint64Array(8);
  #length = 0;

  get length(): number {
    return this.#length;
  }
  get ids(): Uint32Array {
    return this.#ids;
  }
  get actions(): Uint8Array {
    return this.#actions;
  }
  get ports(): Uint16Array {
    return this.#ports;
  }
  get identities(): BigUint64Array {
    return this.#identities;
  }

  push(id: number, action: number, tproxyPort: number, identity: bigint): void {
    const i = this.#length++;
    if (i === this.#ids.length) this.#grow();
    this.#ids[i] = id;
    this.#actions[i] = action;
    this.#ports[i] = tproxyPort;
    this.#identities[i] = identity;
  }

  #grow(): void {
    const size = this.#ids.length * 2;
    const ids = new Uint32Array(size);
    const actions = new Uint8Array(size);
    const ports = new Uint16Array(size);
    const identities = new BigUint64Array(size);
    ids.set(this.#ids);
    actions.set(this.#actions);
    ports.set(this.#ports);
    identities.set(this.#identities);
    this.#ids = ids;
    this.#actions = actions;
    this.#ports = ports;
    this.#identities = identities;
  }

  /** as ApplyPlan.ruleWrites */
  entries(): Array<readonly [number, RuleValue]> {
    const out: Array<readonly [number, RuleValue]> = [];
    for (let i = 0; i < this.#length; i++) {
      out.push([this.#ids[i], { action: this.#actions[i], tproxy_port_be: this.#ports[i], identity: this.#identities[i] }]);
    }
    return out;
  }
}

/** Dst nodes in the order their dst entries are written or deleted, and split by map: tctp_dst_host (full-length keys) and tctp_dst. */
export interface DstNodes {
  readonly all: readonly PlacedNode[];
  readonly host: readonly PlacedNode[];
  readonly trie: readonly PlacedNode[];
}

/** The dst nodes an apply writes and takes out of the maps (node-changes.ts's placeNodes). */
export interface NodePlacement {
  /** new nodes (new dst entries, or replacing the dst entry of a node in `replaced`), longest prefix first */
  readonly written: DstNodes;
  /** nodes whose dst entry a written node took over: their src and port entries go */
  readonly replaced: readonly PlacedNode[];
  /** nodes whose dst entry goes (with their src and port entries), shortest prefix first */
  readonly dropped: DstNodes;
}

const NO_RANGES: DstNodeValue['ranges'] = Object.freeze([]);

/** Calls `visit` for each src entry of `nodes` (its node, index in the node's src nodes, src id). */
function forEachSrc(nodes: readonly PlacedNode[], visit: (node: PlacedNode, i: number, srcId: number) => void): void {
  for (const node of nodes) for (let i = 0; i < node.srcIds.length; i++) visit(node, i, node.srcIds[i]);
}

/** The entries under the src ids of `nodes`: src entries, and port entries. */
export function srcEntriesOf(nodes: readonly PlacedNode[]): { src: number; port: number } {
  let src = 0;
  let port = 0;
  for (let k = 0; k < nodes.length; k++) {
    const node = nodes[k];
    src += node.srcIds.length;
    for (let i = 0; i < node.srcIds.length; i++) port += node.content.srcNodes[i].blocks.length;
  }
  return { src, port };
}

/**
 * One apply's map operations (see the file comment): its nodes' keys and contents do not change
 * once placed, so the lists made later are what was written.
 */
export class PlanWrites implements ApplyPlan {
  // made when first read
  #retired: readonly PlacedNode[] | undefined;
  #made: { src: number; port: number } | undefined;
  #gone: { src: number; port: number } | undefined;
  #ruleWrites: ApplyPlan['ruleWrites'] | undefined;
  #portWrites: ApplyPlan['portWrites'] | undefined;
  #srcWrites: ApplyPlan['srcWrites'] | undefined;
  #dstWrites: ApplyPlan['dstWrites'] | undefined;
  #dstDeletes: ApplyPlan['dstDeletes'] | undefined;
  #srcDeletes: ApplyPlan['srcDeletes'] | undefined;
  #portDeletes: ApplyPlan['portDeletes'] | undefined;

  constructor(
    readonly slots: SlotWrites,
    readonly counterResets: readonly number[],
    readonly nodes: NodePlacement,
    readonly ruleClears: readonly number[],
  ) {}

  /** the nodes whose src and port entries go (replaced, then dropped) */
  get retired(): readonly PlacedNode[] {
    if (this.#retired === undefined) {
      const { replaced, dropped } = this.nodes;
      this.#retired = replaced.length === 0 ? dropped.all : dropped.all.length === 0 ? replaced : [...replaced, ...dropped.all];
    }
    return this.#retired;
  }

  /** the src and port entries written (under the written nodes), counted once (a pass over 100,000 nodes) */
  get made(): { src: number; port: number } {
    return (this.#made ??= srcEntriesOf(this.nodes.written.all));
  }

  /** the src and port entries deleted (under the retired nodes) */
  get gone(): { src: number; port: number } {
    return (this.#gone ??= srcEntriesOf(this.retired));
  }

  /** Entries written and deleted (ApplyPlan's list lengths, without making the lists). */
  size(): { written: number; deleted: number } {
    const { made, gone } = this;
    return {
      written: this.slots.length + made.port + made.src + this.nodes.written.all.length,
      deleted: this.nodes.dropped.all.length + gone.src + gone.port + this.ruleClears.length,
    };
  }

  get ruleWrites(): ApplyPlan['ruleWrites'] {
    return (this.#ruleWrites ??= this.slots.entries());
  }

  get portWrites(): ApplyPlan['portWrites'] {
    if (this.#portWrites === undefined) {
      const out: Array<readonly [PortKey, number]> = [];
      forEachSrc(this.nodes.written.all, (node, i, srcId) => {
        for (const b of node.content.srcNodes[i].blocks) out.push([portKeyOf(srcId, b.port, b.bits), b.ruleId]);
      });
      this.#portWrites = out;
    }
    return this.#portWrites;
  }

  get srcWrites(): ApplyPlan['srcWrites'] {
    if (this.#srcWrites === undefined) {
      const out: Array<readonly [SrcKey, number]> = [];
      forEachSrc(this.nodes.written.all, (node, i, srcId) => out.push([srcKeyOf(node.id, node.content.srcNodes[i].prefix), srcId]));
      this.#srcWrites = out;
    }
    return this.#srcWrites;
  }

  get dstWrites(): ApplyPlan['dstWrites'] {
    return (this.#dstWrites ??= this.nodes.written.all.map((node) => [dstKeyOf(node), { id: node.id, ranges: node.content.inline ?? NO_RANGES }] as const));
  }

  get dstDeletes(): ApplyPlan['dstDeletes'] {
    return (this.#dstDeletes ??= this.nodes.dropped.all.map((node): DstKey => node.rawKey ?? dstKeyOf(node)));
  }

  get srcDeletes(): ApplyPlan['srcDeletes'] {
    if (this.#srcDeletes === undefined) {
      const out: SrcKey[] = [];
      forEachSrc(this.retired, (node, i) => out.push(srcKeyOf(node.id, node.content.srcNodes[i].prefix)));
      this.#srcDeletes = out;
    }
    return this.#srcDeletes;
  }

  get portDeletes(): ApplyPlan['portDeletes'] {
    if (this.#portDeletes === undefined) {
      const out: PortKey[] = [];
      forEachSrc(this.retired, (node, i, srcId) => {
        for (const b of node.content.srcNodes[i].blocks) out.push(portKeyOf(srcId, b.port, b.bits));
      });
      this.#portDeletes = out;
    }
    return this.#portDeletes;
  }
}
