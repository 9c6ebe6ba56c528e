import { expect, test } from 'vitest';
import { intentChange } from '../src/intent-changes.js';
import { ruleKey, type Rule } from '../src/rule.js';
import type { ZitiState } from '../src/rule-store.js';

const rule = (i: number): Rule => ({
  destination: `10.${i >> 8}.${i & 255}.0/24`,
  source: '0.0.0.0/0',
  protocol: 'tcp',
  ports: { low: 443, high: 443 },
  action: 'divert',
  tproxyPort: 15000,
  interfaces: [],
});
const state = (rules: Rule[], interfaces: [string, { echo?: boolean }][] = []): ZitiState => ({
  rules: new Map(rules.map((r) => [ruleKey(r), r])),
  interfaces: new Map(interfaces),
});

test('the first commit is a reset with every rule and interface; later ones carry only what changed', async () => {
  const base = Array.from({ length: 1000 }, (_, i) => rule(i));
  const first = await intentChange(undefined, state(base, [['eth0', { echo: true }]]));
  expect(first.change.reset).toBe(true);
  expect(first.change.upsert).toHaveLength(1001);
  const grown = state([...base, rule(2000)], [['eth0', { echo: true }]]);
  const second = await intentChange(first.next, grown);
  expect(second.change).toEqual({
    upsert: [[ruleKey(rule(2000)), expect.objectContaining({ kind: 'tproxy.rule', destination: '10.7.208.0/24' })]],
    remove: [],
  });
  const third = await intentChange(second.next, state(base.slice(1), [['eth0', { echo: false }], ['eth1', {}]]));
  expect(third.change.remove).toEqual(expect.arrayContaining([ruleKey(base[0]), ruleKey(rule(2000))]));
  expect(third.change.remove).toHaveLength(2);
  expect(third.change.upsert).toEqual([
    ['interface eth0', { kind: 'tproxy.interface', name: 'eth0', echo: false }],
    ['interface eth1', { kind: 'tproxy.interface', name: 'eth1' }],
  ]);
  const fourth = await intentChange(third.next, state(base.slice(1)));
  expect(fourth.change).toEqual({ upsert: [], remove: ['interface eth0', 'interface eth1'] });
});

test('a change that keeps the settings map keeps their intents (nothing remade or compared)', async () => {
  const settings = new Map([['eth0', { echo: true }]]);
  const [one, two] = [rule(1), rule(2)];
  const first = await intentChange(undefined, { rules: state([one]).rules, interfaces: settings });
  const second = await intentChange(first.next, { rules: state([one, two]).rules, interfaces: settings });
  expect(second.next.interfaces).toBe(first.next.interfaces);
  expect(second.change).toEqual({ upsert: [[ruleKey(two), expect.objectContaining({ kind: 'tproxy.rule' })]], remove: [] });
  // an equal map that is another object is compared: still no change
  const third = await intentChange(second.next, { rules: state([one, two]).rules, interfaces: new Map(settings) });
  expect(third.change).toEqual({ upsert: [], remove: [] });
});
