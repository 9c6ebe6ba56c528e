/**
 * What the rule maps hold, as this plugin tracks it between applies: the dst nodes by key with
 * their content and ids, the rule slots, and the id pools. Built by trie-adoption.ts (from the maps
 * after a restart) or empty, then updated in place by each planApply (apply-plan.ts): a state is
 * used by one apply after the other, never twice.
 */
import type { NodeContent } from './compile-rules.js';
import { emptyPool, type IdPool } from './id-pool.js';
import type { IpFamily, Prefix } from './ip-prefix.js';
import type { DstKey } from './map-codecs.js';

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

/** A non-empty tctp_rules slot. */
export interface RuleSlot {
  readonly action: number;
  readonly tproxyPort: number;
  readonly identity: bigint;
}

export interface TrieState {
  /** by group (dstGroupKey: interface, family, protocol), then by Prefix.key */
  readonly dst: Map<string, Map<string, PlacedNode>>;
  /** entries in tctp_dst / tctp_src / tctp_port */
  dstEntries: number;
  srcEntries: number;
  portEntries: number;
  /** the non-empty rule slots, by rule id (index) */
  readonly slots: Array<RuleSlot | undefined>;
  /** non-empty rule slots */
  ruleCount: number;
  /** rule id of each rule identity this plugin applied */
  readonly ruleIds: Map<string, number>;
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
    slots: new Array(maxRules + 1).fill(undefined),
    ruleCount: 0,
    ruleIds: new Map(),
    adoptable: new Map(),
    rulePool: emptyPool(maxRules),
    dstPool: emptyPool(MAX_NODE_ID),
    srcPool: emptyPool(MAX_NODE_ID),
    epoch: 0,
  };
}

/** The group of a dst node: interface, family, protocol (within it, nodes are keyed by Prefix.key). */
export function dstGroupKey(ifindex: number, family: IpFamily, proto: number): string {
  return `${ifindex}|${family}|${proto}`;
}

/** Every placed dst node. */
export function* placedNodes(state: TrieState): Generator<PlacedNode> {
  for (const group of state.dst.values()) yield* group.values();
}
