/**
 * The core correctness proof of the rule compiler and the apply planner, by property:
 * - looking the compiled tries up like the BPF program does (three longest-prefix lookups) gives
 *   the same rule as a brute-force matcher applying the documented precedence, for random rule
 *   sets (IPv4 and IPv6, overlapping prefixes and ranges, shared low ports, interface lists);
 * - while an apply runs, after every single map operation, every packet gets the rule of the old
 *   or of the new rule set (never a half-built path, never a third answer);
 * - an apply of the state in force writes nothing, also after a restart (state adopted from the maps);
 * - the two-step convergence when rule ids run out within one apply.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planApply, planConvergence, planSize, type PlanRule } from '../src/apply-plan.js';
import { adoptTries } from '../src/trie-adoption.js';
import { emptyTrieState, type TrieState } from '../src/trie-state.js';
import { packetArb, ruleSetArb } from './support/rule-arbitraries.js';
import { MapModel, kernelOf, referenceWinner, type Packet } from './support/rule-model.js';

const IFS = [1, 2];

function expectedId(rules: readonly PlanRule[], ids: readonly number[], p: Packet): number {
  const w = referenceWinner(rules, p, IFS);
  return w === undefined ? 0 : ids[rules.indexOf(w)];
}

/** Rule sets with packets aimed at them. */
const scenario = ruleSetArb({ maxRules: 30, interfaces: IFS }).chain((rules) =>
  fc.tuple(fc.constant(rules), fc.array(packetArb(rules, IFS), { minLength: 40, maxLength: 80 })),
);

describe('compiled tries agree with the reference matcher', { timeout: 120_000 }, () => {
  it('for random rule sets and packets', () => {
    fc.assert(
      fc.property(scenario, ([rules, packets]) => {
        const { plan, ids, next } = planApply(emptyTrieState(1000), { rules, ifindexes: IFS });
        const model = new MapModel();
        model.apply(plan);
        for (const p of packets) expect(model.lookup(p)).toBe(expectedId(rules, ids, p));
        // the tracked state counts what the maps hold
        expect(next.dstEntries).toBe(model.dst.size);
        expect(next.srcEntries).toBe(model.src.size);
        expect(next.portEntries).toBe(model.port.size);
        expect(next.ruleCount).toBe(model.rules.size);
      }),
      { numRuns: 400 },
    );
  });

  it('for rules that share a destination and low ports', () => {
    // many rules on few prefixes: deep nodes, many overlapping ranges per src node
    const dense = ruleSetArb({ maxRules: 60, interfaces: [1] }).map((rules) =>
      rules.map((r) => ({ ...r, destination: rules[0]?.family === r.family ? rules[0].destination : r.destination })),
    );
    fc.assert(
      fc.property(
        dense
          .map((rules) => [...new Map(rules.map((r) => [`${r.destination.text} ${r.source.text} ${r.proto} ${r.low}-${r.high}`, r])).values()])
          .map((rules) => rules.map((r) => ({ ...r, identity: `${r.destination.text} ${r.source.text} ${r.proto} ${r.low}-${r.high}` })))
          .chain((rules) => fc.tuple(fc.constant(rules), fc.array(packetArb(rules, [1]), { minLength: 60, maxLength: 100 }))),
        ([rules, packets]) => {
          const { plan, ids } = planApply(emptyTrieState(1000), { rules, ifindexes: [1] });
          const model = new MapModel();
          model.apply(plan);
          for (const p of packets) {
            const w = referenceWinner(rules, p, [1]);
            expect(model.lookup(p)).toBe(w === undefined ? 0 : ids[rules.indexOf(w)]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('for ties: equal prefixes and range widths, overlapping ranges (deny wins, then the lower range)', () => {
    const ties = ruleSetArb({ maxRules: 40, interfaces: [1] }).map((rules) => {
      const byIdentity = new Map<string, PlanRule>();
      for (const r of rules) {
        const first = rules.find((x) => x.family === r.family)!;
        const low = 80 + (r.low % 7);
        const width = r.high - r.low > 3 ? 5 : 2;
        const t = { ...r, destination: first.destination, source: first.source, low, high: low + width };
        const identity = `${t.destination.text} ${t.source.text} ${t.proto} ${t.low}-${t.high}`;
        byIdentity.set(identity, { ...t, identity });
      }
      return [...byIdentity.values()];
    });
    fc.assert(
      fc.property(
        ties.chain((rules) => fc.tuple(fc.constant(rules), fc.array(packetArb(rules, [1]), { minLength: 40, maxLength: 60 }))),
        ([rules, packets]) => {
          const { plan, ids } = planApply(emptyTrieState(1000), { rules, ifindexes: [1] });
          const model = new MapModel();
          model.apply(plan);
          for (const p of packets) {
            const w = referenceWinner(rules, p, [1]);
            expect(model.lookup(p)).toBe(w === undefined ? 0 : ids[rules.indexOf(w)]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** A second rule set derived from the first: some kept, some with a new action, some dropped, some new. */
const transition = ruleSetArb({ maxRules: 16, interfaces: IFS }).chain((before) =>
  fc
    .tuple(
      fc.constant(before),
      fc.array(fc.constantFrom('keep', 'drop', 'change'), { minLength: before.length, maxLength: before.length }),
      ruleSetArb({ maxRules: 8, interfaces: IFS }),
    )
    .map(([b, fate, added]) => {
      const after: PlanRule[] = [];
      b.forEach((r, i) => {
        if (fate[i] === 'keep') after.push(r);
        if (fate[i] === 'change') after.push({ ...r, action: r.action === 1 ? 2 : 1, tproxyPort: r.action === 1 ? 0 : 4242 });
      });
      const seen = new Set(after.map((r) => r.identity));
      for (const r of added) if (!seen.has(r.identity)) after.push(r);
      return [b, after] as const;
    })
    .chain(([b, a]) => fc.tuple(fc.constant(b), fc.constant(a), fc.array(packetArb([...b, ...a], IFS), { minLength: 12, maxLength: 20 }))),
);

describe('applies', { timeout: 120_000 }, () => {
  it('give every packet the old or the new rule after every single map operation', () => {
    fc.assert(
      fc.property(transition, ([before, after, packets]) => {
        const first = planApply(emptyTrieState(1000), { rules: before, ifindexes: IFS });
        const model = new MapModel();
        model.apply(first.plan);
        const old = packets.map((p) => model.lookup(p));
        const second = planApply(first.next, { rules: after, ifindexes: IFS });
        const fresh = packets.map((p) => expectedId(after, second.ids, p));
        for (const op of model.operations(second.plan)) {
          op();
          packets.forEach((p, i) => {
            const got = model.lookup(p);
            if (got !== old[i] && got !== fresh[i]) {
              throw new Error(`packet ${JSON.stringify({ ...p, dst: [...p.dst], src: [...p.src] })}: got rule ${got}, old ${old[i]}, new ${fresh[i]}`);
            }
          });
        }
        packets.forEach((p, i) => expect(model.lookup(p)).toBe(fresh[i]));
        // ids freed by this apply were not handed out again by it
        const freed = new Set(second.plan.ruleClears);
        for (const id of second.plan.counterResets) expect(freed.has(id)).toBe(false);
        // the same state again: nothing to write
        const again = planApply(second.next, { rules: after, ifindexes: IFS });
        expect(planSize(again.plan)).toEqual({ written: 0, deleted: 0 });
        expect(again.ids).toEqual(second.ids);
      }),
      { numRuns: 250 },
    );
  });

  it('after a restart re-adopt every id and write nothing for the same rule set', () => {
    fc.assert(
      fc.property(transition, ([before, after]) => {
        const model = new MapModel();
        const first = planApply(emptyTrieState(1000), { rules: before, ifindexes: IFS });
        model.apply(first.plan);
        const second = planApply(first.next, { rules: after, ifindexes: IFS });
        model.apply(second.plan);
        const adopted = adoptTries(kernelOf(model), 1000);
        expect(adopted.straySrc).toEqual([]);
        expect(adopted.strayPort).toEqual([]);
        const re = planApply(adopted.state, { rules: after, ifindexes: IFS });
        expect(planSize(re.plan)).toEqual({ written: 0, deleted: 0 });
        expect(re.ids).toEqual(second.ids);
        expect(re.changes.every((c) => c === 'unchanged')).toBe(true);
        // and the adopted state converges to the other rule set like the original would
        const back = planApply(re.next, { rules: before, ifindexes: IFS });
        model.apply(back.plan);
        const ref = planApply(emptyTrieState(1000), { rules: before, ifindexes: IFS });
        const fresh = new MapModel();
        fresh.apply(ref.plan);
        expect(model.dst.size).toBe(fresh.dst.size);
        expect(model.src.size).toBe(fresh.src.size);
        expect(model.port.size).toBe(fresh.port.size);
        expect(model.rules.size).toBe(before.length);
      }),
      { numRuns: 150 },
    );
  });

  it('converge in two steps when the new rules need the ids of the removed ones', () => {
    fc.assert(
      fc.property(transition, ([before, after]) => {
        const capacity = Math.max(before.length, after.length, 1);
        const first = planConvergence(emptyTrieState(capacity), { rules: before, ifindexes: IFS });
        expect(first).toHaveLength(1);
        const steps = planConvergence(first[0].next, { rules: after, ifindexes: IFS });
        const model = new MapModel();
        model.apply(first[0].plan);
        for (const s of steps) model.apply(s.plan);
        const last = steps[steps.length - 1];
        expect(model.rules.size).toBe(after.length);
        for (const id of last.ids) expect(id).toBeLessThanOrEqual(capacity);
        const state: TrieState = last.next;
        expect(state.rulePool.count).toBe(after.length);
      }),
      { numRuns: 150 },
    );
  });
});
