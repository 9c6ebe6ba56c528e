import { expect, test } from 'vitest';
import type { Rule } from '../src/rule.js';
import { ruleKey } from '../src/rule.js';
import { RuleTable } from '../src/rule-table.js';

const rule = (n: number, tproxyPort = 15000): Rule => ({
  destination: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}/32`,
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 443, high: 443 },
  action: 'divert',
  tproxyPort,
  interfaces: [],
});

function tableOf(base: RuleTable, rules: readonly Rule[]): RuleTable {
  const draft = base.edit();
  for (const r of rules) draft.set(ruleKey(r), r);
  return draft.done();
}

test('changes lists the rules in table order (the snapshot reuses a record that puts them all)', async () => {
  // inserted in an order unrelated to the buckets', so the buckets are copied out of order
  const rules = Array.from({ length: 5000 }, (_, i) => rule((i * 7919) % 5000));
  const table = tableOf(RuleTable.empty, rules);
  const all = await RuleTable.changes(RuleTable.empty, table);
  expect(all.put).toEqual(table.valueArray());
  expect(all.putKeys).toEqual(table.entryArray().map(([key]) => key));

  const changed = rules.filter((_, i) => i % 3 === 0).map((r) => ({ ...r, tproxyPort: 15001 }));
  const next = tableOf(table, changed);
  const some = await RuleTable.changes(table, next);
  expect(some.put).toEqual(next.valueArray().filter((r) => r.tproxyPort === 15001));
  expect(some.put).toHaveLength(changed.length);

  const draft = next.edit();
  for (const r of rules.slice(0, 100)) draft.delete(ruleKey(r));
  const fewer = draft.done();
  const removed = await RuleTable.changes(next, fewer);
  expect(removed.removedKeys).toEqual(next.entryArray().map(([key]) => key).filter((key) => !fewer.has(key)));
});
