/**
 * What the planner keeps between applies, per rule: the normalizer's cache and the tracked trie
 * state of a large rule set stay small (the plugin's thread holds them for every rule in force).
 */
import vm from 'node:vm';
import v8 from 'node:v8';
import type { Intent } from '@bpfsteer/agent-kernel';
import { TPROXY_RULE_KIND } from '@bpfsteer/contract-tproxy';
import { describe, expect, it } from 'vitest';
import { planConvergence } from '../src/apply-plan.js';
import { TproxyPlanRule } from '../src/tproxy-plan-rule.js';
import { RuleNormalizer } from '../src/tproxy-rule.js';
import { emptyTrieState } from '../src/trie-state.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const heapUsed = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** Router-like rules: host destinations, one port each, any source; every tenth a /24 with a port range. */
function routerRules(n: number): Intent[] {
  return Array.from({ length: n }, (_, i) => ({
    kind: TPROXY_RULE_KIND,
    destination: i % 10 === 0 ? `10.${(i >> 8) & 255}.${i & 255}.0/24` : `11.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`,
    source: '0.0.0.0/0',
    protocol: 'tcp',
    ports: { low: 443, high: i % 10 === 0 ? 450 : 443 },
    action: 'divert',
    tproxyPort: 15000,
    service: `svc-${i}`,
  }));
}

describe('the planner at scale', () => {
  it('keeps under 1.4 KB per rule in force (rules, cache, index, trie state)', () => {
    const n = 20_000;
    const intents = routerRules(n);
    const before = heapUsed();
    const normalizer = new RuleNormalizer((r) => new TproxyPlanRule(r, undefined));
    const state = emptyTrieState(n);
    const { derived } = normalizer.normalize(intents);
    // (the plan itself, the writes of this apply, is not kept)
    expect(planConvergence(state, { rules: derived, ifindexes: [2] })[0].plan.ruleWrites).toHaveLength(n);
    const perRule = (heapUsed() - before) / n;
    // (~1.1 KB here; a TproxyDataplane held 2.2 KB per rule at 100,000 rules before its records
    // were made compact, 1.0 KB since)
    expect(perRule).toBeLessThan(1400);
    expect(state.ruleCount).toBe(n); // (keeps the state alive until measured)
    expect(normalizer.normalize(intents).derived[0]).toBe(derived[0]);
  });
});
