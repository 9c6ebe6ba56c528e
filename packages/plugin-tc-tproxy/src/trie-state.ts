/**
 * What the rule maps hold, as this plugin tracks it between applies: the dst nodes by key with
 * their content and ids, the rule slots, and the id pools; and the rule set they were compiled
 * from (by identity, and indexed by dst group) so that the next apply recompiles only what changed.
 * Built by trie-adoption.ts (from the maps after a restart; not `synced`: the first apply compiles
 * everything and sweeps what nothing wants) or empty, then updated in place by each planApply
 * (apply-plan.ts): a state is used by one apply after the other, never twice.
 */
import type { PlanRule } from './plan-types.js';
import type { CompileRule, NodeContent } from './compile-rules.js';
import { emptyPool, type IdPool } from './id-pool.js';
import { RuleSlots } from './rule-slots.js';
import type { IpFamily, Prefix } from './key-prefix.js';
import type { DstKey } from './map-codecs.js';
import type { RuleIndex } from './rule-index.js';

/** A dst node in the maps: its dst entry, and (when it owns them) its src and port entries. */
export interface PlacedNode {
  readonly id: number;
  readonly ifindex: number;
  readonly family: IpFamily;
  readonly proto: number;
  readonly prefix: Prefix;
  readonly content: NodeContent;
  /** src node id of each of content.srcNodes */
  readonly srcIds: readonly number[];
  /** the exact kernel key (kept for entries adopted with a key this plugin would not write) */
  readonly rawKey?: DstKey;
  /** the last apply that wanted this node (planApply's bookkeeping) */
  epoch: number;
}

/** A rule in force: compiled (with its id) into the index, and the rule as last applied. */
export interface AppliedRule extends CompileRule {
  rule: PlanRule;
}

/** A non-empty tctp_rules slot. */
export type { RuleSlot } from './rule-slots.js';

export interface TrieState {
  /** by group (dstGroupKey: interface, family, protocol), then by Prefix.key */
  readonly dst: Map<string, Map<string, PlacedNode>>;
  /** entries in tctp_dst / tctp_src / tctp_port */
  dstEntries: number;
  srcEntries: number;
  portEntries: number;
  /** the non-empty rule slots, by rule id (index) */
  readonly slots: RuleSlots;
  /** non-empty rule slots */
  ruleCount: number;
  /** the rules in force by identity (empty after an adoption until the first apply) */
  readonly applied: Map<string, AppliedRule>;
  /** the last apply's input rules, their records and ids, in its order (an unchanged rule is found by position) */
  lastRules: readonly PlanRule[];
  lastApplied: readonly AppliedRule[];
  lastIds: readonly number[];
  /** by rule id: its index in the last apply's input (planApply's bookkeeping; checked before use) */
  readonly lastPosition: Int32Array;
  /** the compiled rules in force by dst group; undefined until the first apply */
  index: RuleIndex | undefined;
  /**
   * whether the nodes and slots are exactly those compiled from `applied` (false after an
   * adoption: the first apply then compiles every node and sweeps the nodes and slots it does not want)
   */
  synced: boolean;
  /** rule ids found in the maps after a restart, by identity hash, not yet matched to a rule */
  adoptable: Map<bigint, number>;
  rulePool: IdPool;
  dstPool: IdPool;
  srcPool: IdPool;
  /** applies planned on this state so far */
  epoch: number;
}

export const MAX_NODE_ID = 0xffffffff;

export function emptyTrieState(maxRules: number): TrieState {
  return {
    dst: new Map(),
    dstEntries: 0,
    srcEntries: 0,
    portEntries: 0,
    slots: new RuleSlots(maxRules),
    ruleCount: 0,
    applied: new Map(),
    lastRules: [],
    lastApplied: [],
    lastIds: [],
    lastPosition: new Int32Array(maxRules + 1),
    index: undefined,
    synced: true,
    adoptable: new Map(),
    rulePool: emptyPool(maxRules),
    dstPool: emptyPool(MAX_NODE_ID),
    srcPool: emptyPool(MAX_NODE_ID),
    epoch: 0,
  };
}


/** Every placed dst node. */
export function* placedNodes(state: TrieState): Generator<PlacedNode> {
  for (const group of state.dst.values()) yield* group.values();
}
