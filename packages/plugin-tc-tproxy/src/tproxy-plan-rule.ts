/**
 * A validated rule in the planner's form (PlanRule): the rule itself with the ifindexes of its
 * interfaces, its other fields read from it instead of copied (one small object per rule).
 */
import type { IpFamily, Prefix } from './key-prefix.js';
import type { PlanRule } from './plan-types.js';
import { ACTION_CODE, PROTO_NUMBER, type TproxyRule } from './tproxy-rule.js';

export class TproxyPlanRule implements PlanRule {
  constructor(
    readonly rule: TproxyRule,
    /** the interfaces' ifindexes; undefined = every attached interface */
    readonly ifindexes: readonly number[] | undefined,
  ) {}

  get identity(): string {
    return this.rule.identity;
  }
  get family(): IpFamily {
    return this.rule.family;
  }
  get proto(): number {
    return PROTO_NUMBER[this.rule.protocol];
  }
  get destination(): Prefix {
    return this.rule.destination;
  }
  get source(): Prefix {
    return this.rule.source;
  }
  get low(): number {
    return this.rule.low;
  }
  get high(): number {
    return this.rule.high;
  }
  /** TCTP_ACTION_* */
  get action(): number {
    return ACTION_CODE[this.rule.action];
  }
  get tproxyPort(): number {
    return this.rule.tproxyPort;
  }
}
