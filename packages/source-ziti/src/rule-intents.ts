/**
 * The `tproxy.rule` intents of the committed rule table, kept as one array and updated from table to
 * table in O(changed rules): a commit of 1,000 rules onto 100,000 makes 1,000 intents and copies
 * one array, instead of walking 101,000 rules. New rules go to the end; a removed rule's place is
 * taken by the last one. Unchanged rules keep their (frozen) intent object, which lets the agent and
 * the plugin recognise them cheaply.
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import { ruleKey, type Rule, type RuleIdentity } from './rule.js';
import { RuleTable } from './rule-table.js';
import { ruleToIntent } from './to-intents.js';

export interface ProposedIntents {
  /** the rule intents of the proposed table, followed by `tail` */
  readonly intents: readonly Intent[];
  /** makes the proposed table the committed one (call once its commit succeeded) */
  accept(): void;
}

export class RuleIntentList {
  #table: RuleTable = RuleTable.empty;
  /** the rule intents of #table, possibly followed by the tail of the last proposal */
  #intents: readonly Intent[] = [];
  #count = 0;
  /** the position of each rule's intent, by rule key */
  #at = new Map<string, number>();

  /** The intents of `table` followed by `tail` (a new array; the list itself changes on accept). */
  propose(table: ReadonlyMap<string, unknown>, tail: readonly Intent[]): ProposedIntents {
    const to = RuleTable.from(table as ReadonlyMap<string, never>);
    if (to.size === 0) {
      return { intents: [...tail], accept: () => this.#reset(to, [...tail]) };
    }
    const { put, putKeys, removed, removedKeys } = RuleTable.changes(this.#table, to);
    const intents = this.#intents.slice(0, this.#count);
    if (intents.length === 0) return this.#fill(to, put, putKeys, tail);
    const moved = new Map<string, number>(); // position changes, applied to #at on accept (-1: gone)
    const at = (key: string): number | undefined => moved.get(key) ?? this.#at.get(key);
    for (const key of removedKeys) {
      const i = at(key)!;
      const last = intents.length - 1;
      if (i !== last) {
        intents[i] = intents[last];
        moved.set(ruleKey(intents[i] as unknown as RuleIdentity), i); // an intent carries its rule's identity
      }
      intents.pop();
      moved.set(key, -1);
    }
    for (let k = 0; k < put.length; k++) {
      const key = putKeys[k];
      const i = removed.length === 0 ? this.#at.get(key) : at(key); // without removals nothing has moved
      if (i !== undefined && i >= 0) {
        intents[i] = ruleToIntent(put[k]);
      } else {
        moved.set(key, intents.length);
        intents.push(ruleToIntent(put[k]));
      }
    }
    const count = intents.length;
    for (const t of tail) intents.push(t);
    return {
      intents,
      accept: () => {
        for (const [key, i] of moved) {
          if (i < 0) this.#at.delete(key);
          else this.#at.set(key, i);
        }
        this.#table = to;
        this.#intents = intents;
        this.#count = count;
      },
    };
  }

  /** From no rules: every rule is new; the positions are made in one map, taken as they are. */
  #fill(to: RuleTable, put: readonly Rule[], putKeys: readonly string[], tail: readonly Intent[]): ProposedIntents {
    const intents = new Array<Intent>(put.length);
    const at = new Map<string, number>();
    for (let k = 0; k < put.length; k++) {
      intents[k] = ruleToIntent(put[k]);
      at.set(putKeys[k], k);
    }
    for (const t of tail) intents.push(t);
    return {
      intents,
      accept: () => {
        this.#table = to;
        this.#intents = intents;
        this.#count = put.length;
        this.#at = at;
      },
    };
  }

  #reset(table: RuleTable, intents: readonly Intent[]): void {
    this.#table = table;
    this.#intents = intents;
    this.#count = 0;
    this.#at = new Map();
  }
}
