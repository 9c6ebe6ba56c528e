/**
 * From the tracked map contents (TrieState) and a desired rule set to the writes that converge the
 * maps, in an order under which every lookup during the apply gives the rule of the old or of the
 * new rule set (never a half-built path):
 *
 *   1. rule slots (new and changed) and the counters of new rule ids
 *   2. port, then src entries of new dst nodes (unreachable until their dst entry exists)
 *   3. dst entries, longest prefix first: a changed dst node gets a new id and is switched over by
 *      one dst entry update (copy on write), so a lookup never sees a node half old, half new
 *   4. dst entries no longer wanted, shortest prefix first
 *   5. src, then port entries of the dst nodes replaced or removed (unreachable now)
 *   6. rule slots no longer used
 *
 * A dst node whose content did not change keeps its id and is not touched; so is every
 * rule slot whose value did not change. Ids freed by an apply are reused only by a later one.
 */
import { CompileCapacityError, compileRules, sameContent, type CompileLimits, type CompileRule, type CompiledRules } from './compile-rules.js';
import { IdAllocator } from './id-pool.js';
import type { IpFamily, Prefix } from './ip-prefix.js';
import type { DstKey, PortKey, RuleValue, SrcKey } from './map-codecs.js';
import { identityHash } from './rule-identity.js';
import { ACTION_DENY, AF_INET, AF_INET6, DST_FIXED_BITS, PORT_FIXED_BITS, SRC_FIXED_BITS } from './tproxy-constants.js';
import { dstGroupKey, type PlacedNode, type RuleSlot, type TrieState } from './trie-state.js';

export { CompileCapacityError };

/** A rule as the planner needs it. */
export interface PlanRule {
  readonly identity: string;
  readonly family: IpFamily;
  /** IP protocol number */
  readonly proto: number;
  readonly destination: Prefix;
  readonly source: Prefix;
  readonly low: number;
  readonly high: number;
  /** TCTP_ACTION_* */
  readonly action: number;
  /** 0 unless DIVERT */
  readonly tproxyPort: number;
  /** undefined = every attached interface */
  readonly ifindexes?: readonly number[];
}

export interface ApplyPlan {
  readonly ruleWrites: ReadonlyArray<readonly [number, RuleValue]>;
  /** rule ids handed out by this apply: their hit counters start at zero */
  readonly counterResets: readonly number[];
  readonly portWrites: ReadonlyArray<readonly [PortKey, number]>;
  readonly srcWrites: ReadonlyArray<readonly [SrcKey, number]>;
  /** longest prefix first */
  readonly dstWrites: ReadonlyArray<readonly [DstKey, number]>;
  /** shortest prefix first */
  readonly dstDeletes: readonly DstKey[];
  readonly srcDeletes: readonly SrcKey[];
  readonly portDeletes: readonly PortKey[];
  readonly ruleClears: readonly number[];
}

export type RuleChange = 'added' | 'updated' | 'unchanged';

export interface PlannedApply {
  readonly plan: ApplyPlan;
  readonly next: TrieState;
  /** the identity of each desired rule, in order */
  readonly identities: readonly string[];
  /** the rule id of each desired rule, in order */
  readonly ids: readonly number[];
  /** how each desired rule's slot changes */
  readonly changes: readonly RuleChange[];
  /** rule slots cleared */
  readonly removed: number;
}

export interface PlanInput {
  /** one rule per identity */
  readonly rules: readonly PlanRule[];
  /** attached interfaces */
  readonly ifindexes: readonly number[];
  /** trie capacities */
  readonly limits?: CompileLimits;
}

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

function toCompileRule(r: PlanRule, id: number): CompileRule {
  return {
    id,
    family: r.family,
    proto: r.proto,
    destination: r.destination,
    source: r.source,
    low: r.low,
    high: r.high,
    deny: r.action === ACTION_DENY,
    dstLength: r.destination.length,
    srcLength: r.source.length,
    ...(r.ifindexes !== undefined ? { ifindexes: r.ifindexes } : {}),
  };
}

/** The rule ids ran out in this apply (ids freed by it are not reusable yet): converge in two steps. */
export class RuleIdsExhausted extends Error {
  constructor() {
    super('rule ids exhausted within one apply');
  }
}

/**
 * One convergence step from `state` to `input`: the map operations, and `state` updated to what
 * the maps hold once they ran (returned as `next`; the same object). Nothing is changed when it
 * throws: RuleIdsExhausted (see planConvergence) or CompileCapacityError.
 */
export function planApply(state: TrieState, input: PlanInput): PlannedApply {
  const rulePool = new IdAllocator(state.rulePool);
  const dstPool = new IdAllocator(state.dstPool);
  const srcPool = new IdAllocator(state.srcPool);
  const n = input.rules.length;

  // 1. rule ids (nothing in `state` changes until the rules compiled)
  const claimed = new Uint8Array(state.slots.length);
  const ids = new Array<number>(n);
  const newSlots = new Array<RuleSlot | undefined>(n); // a slot to write, or undefined when it stays
  const changes = new Array<RuleChange>(n);
  const counterResets: number[] = [];
  const known = new Uint8Array(n); // 1: the identity already had its id in state.ruleIds
  for (let i = 0; i < n; i++) {
    const r = input.rules[i];
    let id = state.ruleIds.get(r.identity);
    if (id !== undefined) known[i] = 1;
    let hash: bigint | undefined;
    if (id === undefined) {
      hash = identityHash(r.identity);
      const adopted = state.adoptable.get(hash);
      if (adopted !== undefined && claimed[adopted] === 0) id = adopted;
    }
    let old: RuleSlot | undefined;
    if (id === undefined || claimed[id] !== 0) {
      id = rulePool.alloc();
      if (id === undefined) throw new RuleIdsExhausted();
      counterResets.push(id);
    } else {
      old = state.slots[id];
    }
    claimed[id] = 1;
    ids[i] = id;
    if (old !== undefined && old.action === r.action && old.tproxyPort === r.tproxyPort && (hash === undefined || hash === old.identity)) {
      changes[i] = 'unchanged';
    } else {
      newSlots[i] = { action: r.action, tproxyPort: r.tproxyPort, identity: hash ?? old?.identity ?? identityHash(r.identity) };
      changes[i] = old === undefined ? 'added' : 'updated';
    }
  }

  // 2. compile against those ids
  const compileInput: CompileRule[] = input.rules.map((r, i) => toCompileRule(r, ids[i]));
  const compiled: CompiledRules = compileRules(compileInput, input.ifindexes, input.limits);

  // from here on nothing throws: update the state while planning the writes
  const ruleWrites: Array<readonly [number, RuleValue]> = [];
  for (let i = 0; i < n; i++) {
    const slot = newSlots[i];
    const id = ids[i];
    if (slot !== undefined) {
      ruleWrites.push([id, { action: slot.action, tproxy_port_be: slot.tproxyPort, identity: slot.identity }]);
      if (state.slots[id] === undefined) state.ruleCount++;
      state.slots[id] = slot;
    }
    if (known[i] === 0) state.ruleIds.set(input.rules[i].identity, id);
  }
  const ruleClears: number[] = [];
  for (let id = 1; id < state.slots.length; id++) {
    if (claimed[id] === 0 && state.slots[id] !== undefined) {
      ruleClears.push(id);
      state.slots[id] = undefined;
      state.ruleCount--;
      rulePool.release(id);
    }
  }
  if (ruleClears.length > 0) {
    for (const [identity, id] of state.ruleIds) if (claimed[id] === 0) state.ruleIds.delete(identity);
  }
  state.adoptable = new Map();

  // 3. dst nodes: keep the unchanged, build the new and changed ones under fresh ids
  const epoch = ++state.epoch;
  const portWrites: Array<readonly [PortKey, number]> = [];
  const srcWrites: Array<readonly [SrcKey, number]> = [];
  const dstWrites: Array<readonly [DstKey, number]> = [];
  const dstDeletes: DstKey[] = [];
  const srcDeletes: SrcKey[] = [];
  const portDeletes: PortKey[] = [];

  const retire = (old: PlacedNode) => {
    old.content.srcNodes.forEach((sn, i) => {
      const srcId = old.srcIds[i];
      srcDeletes.push(srcKeyOf(old.id, sn.prefix));
      for (const b of sn.blocks) portDeletes.push(portKeyOf(srcId, b.port, b.bits));
      srcPool.release(srcId);
    });
    state.srcEntries -= old.content.srcNodes.length;
    state.portEntries -= old.content.portEntries;
    dstPool.release(old.id);
  };

  for (const [ifindex, nodes] of compiled.byIfindex) {
    let groupKey = '';
    let group: Map<string, PlacedNode> | undefined;
    for (const node of nodes) {
      const key = dstGroupKey(ifindex, node.family, node.proto);
      if (key !== groupKey || group === undefined) {
        groupKey = key;
        group = state.dst.get(key);
        if (group === undefined) state.dst.set(key, (group = new Map()));
      }
      const old = group.get(node.prefix.key);
      if (old !== undefined && old.epoch !== epoch && sameContent(old.content, node.content)) {
        old.epoch = epoch;
        continue;
      }
      const id = dstPool.alloc() as number; // node ids (2^32) do not run out before the tries are full
      const srcIds = node.content.srcNodes.map((sn) => {
        const srcId = srcPool.alloc() as number;
        for (const b of sn.blocks) portWrites.push([portKeyOf(srcId, b.port, b.bits), b.ruleId]);
        srcWrites.push([srcKeyOf(id, sn.prefix), srcId]);
        return srcId;
      });
      state.srcEntries += node.content.srcNodes.length;
      state.portEntries += node.content.portEntries;
      const placed: PlacedNode = { id, ifindex, family: node.family, proto: node.proto, prefix: node.prefix, content: node.content, srcIds, epoch };
      dstWrites.push([dstKeyOf(placed), id]);
      group.set(node.prefix.key, placed);
      if (old === undefined) state.dstEntries++;
      else retire(old);
    }
  }
  for (const [groupKey, group] of state.dst) {
    for (const [key, old] of group) {
      if (old.epoch === epoch) continue;
      dstDeletes.push(old.rawKey ?? dstKeyOf(old));
      retire(old);
      group.delete(key);
      state.dstEntries--;
    }
    if (group.size === 0) state.dst.delete(groupKey);
  }
  dstWrites.sort((a, b) => b[0].prefixlen - a[0].prefixlen);
  dstDeletes.sort((a, b) => a.prefixlen - b.prefixlen);

  state.rulePool = rulePool.result();
  state.dstPool = dstPool.result();
  state.srcPool = srcPool.result();
  return {
    plan: { ruleWrites, counterResets, portWrites, srcWrites, dstWrites, dstDeletes, srcDeletes, portDeletes, ruleClears },
    next: state,
    identities: input.rules.map((r) => r.identity),
    ids,
    changes,
    removed: ruleClears.length,
  };
}

/**
 * The steps that converge `state` to `input`: one, or two when the new rules need ids that only the
 * rules this apply removes would free (first the rules that stay, then all). Throws
 * CompileCapacityError when the rule set does not fit the tries.
 */
export function planConvergence(state: TrieState, input: PlanInput): PlannedApply[] {
  try {
    return [planApply(state, input)];
  } catch (err) {
    if (!(err instanceof RuleIdsExhausted)) throw err;
  }
  // the first step changes the state: make sure the second cannot fail on capacity (the trie
  // entries a rule set needs do not depend on which ids its rules get)
  compileRules(
    input.rules.map((r, i) => toCompileRule(r, i + 1)),
    input.ifindexes,
    input.limits,
  );
  const known = input.rules.filter((r) => state.ruleIds.has(r.identity) || state.adoptable.has(identityHash(r.identity)));
  const first = planApply(state, { ...input, rules: known });
  const second = planApply(first.next, input);
  return [first, second];
}

/** Total entries written and deleted by a plan. */
export function planSize(plan: ApplyPlan): { written: number; deleted: number } {
  return {
    written: plan.ruleWrites.length + plan.portWrites.length + plan.srcWrites.length + plan.dstWrites.length,
    deleted: plan.dstDeletes.length + plan.srcDeletes.length + plan.portDeletes.length + plan.ruleClears.length,
  };
}
