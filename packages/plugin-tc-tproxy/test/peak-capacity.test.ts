// The planner refuses, before any write, a change whose final state fits the tries but whose
// copy-on-write peak (new entries written before the replaced ones are deleted) does not: found by
// the differential kernel test as an ENOSPC half-way through an apply.
import { describe, expect, it } from 'vitest';
import { CompileCapacityError, planApply, planSize, type PlanRule } from '../src/apply-plan.js';
import { makePrefix } from '../src/key-prefix.js';
import { ruleIdentity } from '../src/rule-identity.js';
import { emptyTrieState } from '../src/trie-state.js';

const DIVERT = 1;
/** A rule restricted to one source, so that its node uses src and port entries (not inline). */
function rule(dstOctet: number, port: number, tproxyPort: number): PlanRule {
  const destination = makePrefix(4, new Uint8Array([10, 0, dstOctet, 0]), 24);
  const source = makePrefix(4, new Uint8Array([192, 168, 0, 0]), 16);
  return {
    identity: ruleIdentity(destination.text, source.text, 'tcp', port, port),
    family: 4,
    proto: 6,
    destination,
    source,
    low: port,
    high: port,
    action: DIVERT,
    tproxyPort,
  };
}

describe('capacity at the peak of a change', () => {
  const first = Array.from({ length: 20 }, (_, i) => rule(i, 80, 15000));
  // the same destinations with other ports: every node is rewritten under fresh src/port ids
  const second = Array.from({ length: 20 }, (_, i) => rule(i, 443, 15001));

  it('counts what is written before the replaced entries go, and changes nothing when refused', () => {
    const state = planApply(emptyTrieState(1024), { rules: first, ifindexes: [1] }).next;
    const portNow = state.portEntries;
    expect(portNow).toBeGreaterThan(0);
    // enough for either rule set, not for both at once
    const limits = { port: portNow + portNow / 2 };
    let err: unknown;
    try {
      planApply(state, { rules: second, ifindexes: [1], limits });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CompileCapacityError);
    expect(err).toMatchObject({ trie: 'port', peak: true, capacity: limits.port, needed: 2 * portNow });
    expect((err as Error).message).toMatch(/at once \(new entries are written before the replaced ones are deleted\)/);
    // the state was not touched: the same rules plan to nothing
    expect(planSize(planApply(state, { rules: first, ifindexes: [1] }).plan)).toEqual({ written: 0, deleted: 0 });
    // with room for both, the same change goes through
    const step = planApply(state, { rules: second, ifindexes: [1], limits: { port: 2 * portNow } });
    expect(step.next.portEntries).toBe(portNow);
  });
});
