/**
 * A change by position that lists one rule twice (two changed positions with the same identity, not
 * in force yet) is not planned by position: planPatch refuses it (PatchNotApplicable), so the
 * dataplane checks the whole list, which merges an identical copy or refuses a conflicting one, as
 * it does without changes. Before, each position got a rule slot of its own (found by an
 * independent review: pass and deny of one rule planned as two slots).
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import { describe, expect, it } from 'vitest';
import { PatchNotApplicable, planConvergence, planPatch } from '../src/apply-plan.js';
import { TproxyPlanRule } from '../src/tproxy-plan-rule.js';
import { RuleNormalizer } from '../src/tproxy-rule.js';
import { emptyTrieState } from '../src/trie-state.js';

const IFINDEXES = [3];
const rule = (action: 'pass' | 'deny', low = 80): Intent =>
  ({ kind: 'tproxy.rule', destination: '10.0.0.1/32', source: '0.0.0.0/0', protocol: 'tcp', ports: { low, high: low }, action }) as Intent;

/** planPatch of `added` appended to an empty list, as the plugin plans a change by position. */
function patchOnEmpty(added: Intent[]) {
  const normalizer = new RuleNormalizer((r) => new TproxyPlanRule(r, undefined));
  const state = emptyTrieState(100);
  const list: Intent[] = [];
  normalizer.normalize(list);
  planConvergence(state, { rules: [], ifindexes: IFINDEXES });
  list.push(...added);
  const positions = added.map((_, i) => i);
  const normalized = normalizer.normalizeChanged(list, positions, list, '')!;
  return () => planPatch(state, { length: list.length, positions, rules: normalized.derived, ifindexes: IFINDEXES });
}

describe('planPatch: a rule listed twice by one change', () => {
  it('is not planned by position when the copies conflict', () => {
    expect(patchOnEmpty([rule('pass'), rule('deny')])).toThrow(PatchNotApplicable);
  });
  it('is not planned by position when the copies are equal (the whole list merges them)', () => {
    expect(patchOnEmpty([rule('pass'), rule('pass')])).toThrow(PatchNotApplicable);
  });
  it('plans distinct rules by position, one slot each', () => {
    const step = patchOnEmpty([rule('pass', 80), rule('deny', 81)])();
    expect(step.touched).toEqual([0, 1]);
  });
});
