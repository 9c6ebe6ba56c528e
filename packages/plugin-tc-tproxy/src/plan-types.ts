/**
 * The planner's types shared by the planner (apply-plan.ts), the node compiler (node-changes.ts),
 * the tracked state (trie-state.ts) and the map writers: a rule as the planner needs it, a dst
 * value and the writes of one apply. Types only.
 */
import type { RuleMatch } from './compile-rules.js';
import type { DstKey, PortKey, RuleValue, SrcKey } from './map-codecs.js';
import type { PortInterval } from './port-partition.js';

/** A rule as the planner needs it. */
export interface PlanRule extends RuleMatch {
  readonly identity: string;
  /** TCTP_ACTION_* */
  readonly action: number;
  /** 0 unless DIVERT */
  readonly tproxyPort: number;
}

/** A tctp_dst value: the node id, and the port intervals of an inline node (else empty). */
export interface DstNodeValue {
  readonly id: number;
  readonly ranges: readonly PortInterval[];
}

export interface ApplyPlan {
  readonly ruleWrites: ReadonlyArray<readonly [number, RuleValue]>;
  /** rule ids handed out by this apply: their hit counters start at zero */
  readonly counterResets: readonly number[];
  readonly portWrites: ReadonlyArray<readonly [PortKey, number]>;
  readonly srcWrites: ReadonlyArray<readonly [SrcKey, number]>;
  /** longest prefix first */
  readonly dstWrites: ReadonlyArray<readonly [DstKey, DstNodeValue]>;
  /** shortest prefix first */
  readonly dstDeletes: readonly DstKey[];
  readonly srcDeletes: readonly SrcKey[];
  readonly portDeletes: readonly PortKey[];
  readonly ruleClears: readonly number[];
}

