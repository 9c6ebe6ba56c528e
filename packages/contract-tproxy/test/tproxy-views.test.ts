/** The describe views and the event: their schemas accept the documented shapes and refuse a drifted one. */
import { describe, expect, it } from 'vitest';
import { tproxyEventSchema, tproxyInterfacesViewSchema, tproxyRulesViewSchema, type TproxyEvent, type TproxyInterfacesView, type TproxyRulesView } from '../src/index.js';

const rules: TproxyRulesView = {
  capacity: 131072,
  rules: [
    {
      intent: { kind: 'tproxy.rule', destination: '10.0.0.16/28', source: '0.0.0.0/0', protocol: 'tcp', ports: { low: 22, high: 22 }, action: 'divert', tproxyPort: 33381 },
      id: 4,
      packets: 9,
      bytes: 900,
    },
  ],
};
const interfaces: TproxyInterfacesView = {
  interfaces: [{ name: 'eth0', ifindex: 2, attachment: 'tcx-ingress', ssh: true, echo: false, ipv6: true, events: { drops: true, diverts: false }, passed: 1, diverted: 2, dropped: 3, eventsLost: 0 }],
};
const event: TproxyEvent = {
  time: '2024-01-01T00:00:00.000Z',
  interface: 'eth0',
  kind: 'divert',
  reason: 'rule',
  family: 4,
  protocol: 'tcp',
  source: '10.0.0.2:40000',
  destination: '10.0.0.16:22',
  ruleId: 4,
  tproxyPort: 33381,
};

describe('views', () => {
  it('accept the documented shapes', () => {
    expect(tproxyRulesViewSchema.safeParse(rules).error).toBeUndefined();
    expect(tproxyInterfacesViewSchema.safeParse(interfaces).error).toBeUndefined();
    expect(tproxyEventSchema.safeParse(event).error).toBeUndefined();
    expect(tproxyEventSchema.safeParse({ ...event, family: 4, protocol: 132, source: '', destination: '', reason: 'proto', ruleId: undefined, tproxyPort: undefined }).success).toBe(true);
  });
  it.each<[string, unknown]>([
    ['a counter as bigint', { ...rules, rules: [{ ...rules.rules[0], packets: 9n }] }],
    ['an intent without kind', { ...rules, rules: [{ ...rules.rules[0], intent: { ...rules.rules[0].intent, kind: undefined } }] }],
    ['a renamed field', { capacity: 1, rule: [] }],
  ])('the rule view refuses %s', (_what, value) => {
    expect(tproxyRulesViewSchema.safeParse(value).success).toBe(false);
  });
  it.each<[string, unknown]>([
    ['a missing counter', { interfaces: [{ ...interfaces.interfaces[0], eventsLost: undefined }] }],
    ['an extra field', { interfaces: [{ ...interfaces.interfaces[0], mtu: 1500 }] }],
  ])('the interface view refuses %s', (_what, value) => {
    expect(tproxyInterfacesViewSchema.safeParse(value).success).toBe(false);
  });
  it.each<[string, unknown]>([
    ['an unknown reason', { ...event, reason: 'other' }],
    ['a time that is not ISO', { ...event, time: 'yesterday' }],
  ])('the event refuses %s', (_what, value) => {
    expect(tproxyEventSchema.safeParse(value).success).toBe(false);
  });
});
