import { expect, test } from 'vitest';
import { interfaceToIntent, ruleToIntent, stateToIntents } from '../src/to-intents.js';
import type { Rule } from '../src/rule.js';

const divert: Rule = { destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381, interfaces: ['ens33', 'lo'], service: 'svc' };

test.each<[string, Rule, object]>([
  ['divert with interfaces and service', divert, { kind: 'tproxy.rule', destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381, interfaces: ['ens33', 'lo'], service: 'svc' }],
  ['pass: no tproxyPort, no interfaces', { ...divert, action: 'pass', tproxyPort: undefined, interfaces: [], service: undefined }, { kind: 'tproxy.rule', destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'pass' }],
  ['deny v6', { destination: 'fd00::/64', source: '::/0', protocol: 'udp', ports: { low: 1, high: 65535 }, action: 'deny', interfaces: [] }, { kind: 'tproxy.rule', destination: 'fd00::/64', source: '::/0', protocol: 'udp', ports: { low: 1, high: 65535 }, action: 'deny' }],
])('%s', (_n, rule, intent) => {
  expect(ruleToIntent(rule)).toStrictEqual(intent);
});

test('interface intents carry only the fields set', () => {
  expect(interfaceToIntent('eth0', { echo: true })).toStrictEqual({ kind: 'tproxy.interface', name: 'eth0', echo: true });
  expect(interfaceToIntent('eth0', { ssh: false, ipv6: true, events: { drops: false } })).toStrictEqual({
    kind: 'tproxy.interface', name: 'eth0', ssh: false, ipv6: true, events: { drops: false },
  });
});

test('a state becomes rules then interfaces by name', () => {
  const intents = stateToIntents({ rules: new Map([['k', divert]]), interfaces: new Map([['lo', { echo: true }], ['eth0', { ssh: false }]]) });
  expect(intents.map((i) => `${i.kind}:${String(i.name ?? i.destination)}`)).toEqual(['tproxy.rule:10.0.0.16/28', 'tproxy.interface:eth0', 'tproxy.interface:lo']);
});
