/**
 * RuleTable.changes and the incremental intent list against their plain definitions, over random
 * sequences of inserts, updates, deletes, flushes and refused (not accepted) commits.
 */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { Intent } from '@bpfsteer/agent-kernel';
import type { Rule } from '../src/rule.js';
import { RuleIntentList } from '../src/rule-intents.js';
import { applyOperations, emptyState, flushRules, type Operation, type ZitiState } from '../src/rule-store.js';
import { RuleTable } from '../src/rule-table.js';
import { interfaceIntents, stateToIntents } from '../src/to-intents.js';

const rule = (n: number, port: number): Rule => ({
  destination: `10.0.0.${n}/32`,
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 80, high: 80 },
  action: 'divert',
  tproxyPort: port,
  interfaces: [],
});

const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ n: fc.integer({ min: 0, max: 40 }), port: fc.integer({ min: 1, max: 3 }) }).map(({ n, port }) => ({ op: 'insert', rule: rule(n, port) }) as const),
  fc.integer({ min: 0, max: 40 }).map((n) => ({ op: 'delete', selector: { ...rule(n, 1), ports: { low: 80 } } }) as const),
);

type Step = { kind: 'ops'; ops: Operation[]; accept: boolean } | { kind: 'flush' };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('ops' as const), ops: fc.array(operation, { minLength: 1, maxLength: 12 }), accept: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flush' as const }) },
);

const sorted = (intents: readonly Intent[]) => intents.map((i) => JSON.stringify(i)).sort();

test('RuleTable.changes lists exactly the entries that differ (edited from, or unrelated tables)', () => {
  fc.assert(
    fc.property(fc.array(fc.array(operation, { minLength: 1, maxLength: 12 }), { maxLength: 12 }), (batches) => {
      let state: ZitiState = emptyState;
      const history: RuleTable[] = [RuleTable.from(state.rules)];
      for (const ops of batches) {
        const done = applyOperations(state, ops);
        if (!done.ok) continue;
        state = done.state;
        history.push(RuleTable.from(state.rules));
      }
      for (const from of [history[0], history[Math.floor(history.length / 2)], history.at(-2) ?? history[0]]) {
        const to = history.at(-1)!;
        const { put, putKeys, removed, removedKeys } = RuleTable.changes(from, to);
        const expectPut = [...to].filter(([k, v]) => from.get(k) !== v);
        const expectRemoved = [...from].filter(([k]) => !to.has(k));
        expect(new Map(putKeys.map((k, i) => [k, put[i]]))).toEqual(new Map(expectPut));
        expect(put).toHaveLength(expectPut.length);
        expect(new Map(removedKeys.map((k, i) => [k, removed[i]]))).toEqual(new Map(expectRemoved));
        expect(removed).toHaveLength(expectRemoved.length);
      }
    }),
    { numRuns: 300 },
  );
});

test('the incremental intent list always equals the snapshot of the proposed state; refused proposals change nothing', () => {
  fc.assert(
    fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
      const list = new RuleIntentList();
      let committed: ZitiState = emptyState;
      for (const s of steps) {
        let next: ZitiState;
        let accept = true;
        if (s.kind === 'flush') {
          next = flushRules(committed).state;
        } else {
          const done = applyOperations(committed, s.ops);
          if (!done.ok) continue;
          next = done.state;
          accept = s.accept;
        }
        const proposed = list.propose(next.rules, interfaceIntents(next));
        expect(sorted(proposed.intents)).toEqual(sorted(stateToIntents(next)));
        if (accept) {
          proposed.accept();
          committed = next;
        }
      }
      // what the list holds now: the committed state (checked through an empty change)
      expect(sorted(list.propose(committed.rules, []).intents)).toEqual(sorted(stateToIntents(committed)));
    }),
    { numRuns: 400 },
  );
});

test('an unchanged rule keeps its intent object; the interfaces follow the rules', () => {
  const list = new RuleIntentList();
  const a = applyOperations(emptyState, [{ op: 'insert', rule: rule(1, 1) }, { op: 'insert', rule: rule(2, 1) }]);
  if (!a.ok) throw new Error();
  const first = list.propose(a.state.rules, [{ kind: 'tproxy.interface', name: 'eth0' }]);
  first.accept();
  const b = applyOperations(a.state, [{ op: 'insert', rule: rule(3, 1) }]);
  if (!b.ok) throw new Error();
  const second = list.propose(b.state.rules, []);
  expect(second.intents.slice(0, 2)).toEqual(first.intents.slice(0, 2));
  expect(second.intents[0]).toBe(first.intents[0]);
  expect(second.intents[1]).toBe(first.intents[1]);
  expect(second.intents[2]).toMatchObject({ destination: '10.0.0.3/32' });
  expect(first.intents.at(-1)).toEqual({ kind: 'tproxy.interface', name: 'eth0' });
});
