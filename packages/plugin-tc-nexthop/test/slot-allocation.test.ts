import { describe, expect, it } from 'vitest';
import { parseRule } from '../src/nexthop-rule.js';
import { assignSlots, resolveRule, type PlacedRule } from '../src/slot-allocation.js';

const rr = (source: string, nexthop = '10.0.0.1', ifindex = 2, iface = 'eth1') =>
  resolveRule(parseRule({ source, nexthop, interface: iface }), ifindex);
const slots = (m: Map<string, PlacedRule>) => Object.fromEntries([...m].map(([k, v]) => [k, v.slot]));

describe('assignSlots', () => {
  it('numbers new rules from 1', () => {
    const m = assignSlots(new Map(), [rr('10.1.0.0/16'), rr('10.2.0.0/16')], 4);
    expect(slots(m)).toEqual({ '10.1.0.0/16': 1, '10.2.0.0/16': 2 });
  });
  it('keeps slots of unchanged rules and does not reuse a removed slot at once', () => {
    const prev = assignSlots(new Map(), [rr('10.1.0.0/16'), rr('10.2.0.0/16')], 4);
    const next = assignSlots(prev, [rr('10.2.0.0/16'), rr('10.3.0.0/16')], 4);
    expect(slots(next)).toEqual({ '10.2.0.0/16': 2, '10.3.0.0/16': 3 });
  });
  it('moves a changed rule to a fresh slot', () => {
    const prev = assignSlots(new Map(), [rr('10.1.0.0/16')], 4);
    const next = assignSlots(prev, [rr('10.1.0.0/16', '10.0.0.9')], 4);
    expect(slots(next)).toEqual({ '10.1.0.0/16': 2 });
    const moved = assignSlots(prev, [rr('10.1.0.0/16', '10.0.0.1', 3)], 4);
    expect(slots(moved)).toEqual({ '10.1.0.0/16': 2 });
  });
  it('keeps the slot when only the interface name changes (same ifindex)', () => {
    const prev = assignSlots(new Map(), [rr('10.1.0.0/16')], 4);
    const next = assignSlots(prev, [rr('10.1.0.0/16', '10.0.0.1', 2, 'renamed')], 4);
    expect(next.get('10.1.0.0/16')).toMatchObject({ slot: 1, interface: 'renamed' });
  });
  it('when full, rewrites a changed rule in place and reuses removed slots', () => {
    const prev = assignSlots(new Map(), [rr('10.1.0.0/16'), rr('10.2.0.0/16')], 2);
    const next = assignSlots(prev, [rr('10.1.0.0/16', '10.0.0.9'), rr('10.3.0.0/16')], 2);
    expect(slots(next)).toEqual({ '10.1.0.0/16': 1, '10.3.0.0/16': 2 });
  });
  it('rejects more rules than slots', () => {
    expect(() => assignSlots(new Map(), [rr('10.1.0.0/16'), rr('10.2.0.0/16')], 1)).toThrow(/exceed the capacity of 1/);
  });
});
