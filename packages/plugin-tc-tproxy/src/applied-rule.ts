/**
 * A rule in force as the planner keeps it: its rule id and the rule as last applied, with the
 * compiled fields (CompileRule) read from that rule instead of copied — one small record per rule
 * in force (100,000 of them stay in memory between applies).
 */
import type { IpFamily, Prefix } from './key-prefix.js';
import type { PlanRule } from './plan-types.js';
import { ACTION_DENY } from './tproxy-constants.js';
import type { AppliedRule } from './trie-state.js';

export class AppliedRecord implements AppliedRule {
  constructor(
    readonly id: number,
    /** replaced only by a rule that compiles alike (sameCompiled in apply-plan.ts) */
    public rule: PlanRule,
  ) {}

  get family(): IpFamily {
    return this.rule.family;
  }
  get proto(): number {
    return this.rule.proto;
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
  get deny(): boolean {
    return this.rule.action === ACTION_DENY;
  }
  get dstLength(): number {
    return this.rule.destination.length;
  }
  get srcLength(): number {
    return this.rule.source.length;
  }
  get ifindexes(): readonly number[] | undefined {
    return this.rule.ifindexes;
  }
}
