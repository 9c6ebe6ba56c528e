/**
 * What plugin-tc-tproxy reports through `describe`, read with @bpfsteer/contract-tproxy's view
 * schemas (the plugin's tests check its real output against the same schemas): an answer of
 * another shape (no plugin, or a plugin of another version) is treated as "no details", never as a crash.
 */
import { z } from 'zod';
import { TimeSlicer } from '@bpfsteer/agent-kernel';
import {
  tproxyInterfacesViewSchema,
  tproxyRuleViewSchema,
  tproxyRulesViewSchema,
  type TproxyInterfaceView,
  type TproxyRuleIntent,
} from '@bpfsteer/contract-tproxy';
import { canonicalPrefix } from '@bpfsteer/ip';
import { ruleKey } from './rule.js';

export interface RuleCounters {
  readonly id: number;
  readonly packets: number;
  readonly bytes: number;
  /** why the rule diverts nothing now (the plugin's word: no listener for it) */
  readonly problem?: string;
}

export interface RuleDetails {
  readonly capacity: number | null;
  /** counters by rule key (see ruleKey) */
  readonly byKey: ReadonlyMap<string, RuleCounters>;
}

export type LiveInterface = TproxyInterfaceView;

/** The key of a described intent, its CIDRs normalised like the store's. */
function describedKey(intent: TproxyRuleIntent): string | undefined {
  const dst = canonicalPrefix(intent.destination);
  const src = canonicalPrefix(intent.source);
  if (!dst.ok || !src.ok) return undefined;
  return ruleKey({ destination: dst.value.text, source: src.value.text, protocol: intent.protocol, ports: intent.ports });
}

/** The view without its rules, which are checked one by one afterwards (zod's array walks them all in one step). */
const rulesViewHeadSchema = tproxyRulesViewSchema.extend({ rules: z.custom<unknown[]>((v) => Array.isArray(v)) });

/**
 * Reads `describe('tproxy.rule')` in slices of `slicer` (100,000 rules); undefined when the answer
 * is absent or of another shape (any of its rules).
 */
export async function readRuleDetails(described: unknown, slicer: TimeSlicer = new TimeSlicer()): Promise<RuleDetails | undefined> {
  const parsed = rulesViewHeadSchema.safeParse(described);
  if (!parsed.success) return undefined;
  const byKey = new Map<string, RuleCounters>();
  const rules = parsed.data.rules;
  for (let i = 0; i < rules.length; i++) {
    if ((i & 255) === 0) await slicer.pause();
    const rule = tproxyRuleViewSchema.safeParse(rules[i]);
    if (!rule.success) return undefined;
    const r = rule.data;
    const key = describedKey(r.intent);
    if (key === undefined) continue;
    const seen = byKey.get(key);
    // a rule compiled per interface may be reported more than once: sum the counters
    const problem = seen?.problem ?? r.problem;
    byKey.set(key, {
      id: seen?.id ?? r.id,
      packets: (seen?.packets ?? 0) + r.packets,
      bytes: (seen?.bytes ?? 0) + r.bytes,
      ...(problem !== undefined && { problem }),
    });
  }
  return { capacity: parsed.data.capacity, byKey };
}

/** Reads `describe('tproxy.interface')`; undefined when absent or of another shape. */
export function readInterfaceDetails(described: unknown): ReadonlyMap<string, LiveInterface> | undefined {
  const parsed = tproxyInterfacesViewSchema.safeParse(described);
  if (!parsed.success) return undefined;
  return new Map(parsed.data.interfaces.map((i) => [i.name, i]));
}
