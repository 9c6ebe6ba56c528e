/** What the plugin's `describe('tproxy.rule')` answers: the applied rules with their ids and hit counters. */
import { z } from 'zod';
import { tproxyRuleIntentShapeSchema } from './tproxy-rule-intent.js';

const count = z.number().int().min(0);

export const tproxyRuleViewSchema = z.strictObject({
  /** the intent as applied */
  intent: tproxyRuleIntentShapeSchema,
  /** the rule's id in the maps (stable while the rule stays) */
  id: z.number().int().min(1),
  /** packets and bytes that matched it, summed over CPUs */
  packets: count,
  bytes: count,
  /** a divert rule that diverts nothing now, and why (no listener at 127.0.0.1 / ::1 on its tproxy port) */
  problem: z.string().optional(),
});

export const tproxyRulesViewSchema = z.strictObject({
  /** the rule capacity (maxRules) */
  capacity: z.number().int().min(1),
  /** by rule id */
  rules: z.array(tproxyRuleViewSchema),
});

export type TproxyRuleView = Readonly<z.output<typeof tproxyRuleViewSchema>>;
export interface TproxyRulesView {
  readonly capacity: number;
  readonly rules: readonly TproxyRuleView[];
}
