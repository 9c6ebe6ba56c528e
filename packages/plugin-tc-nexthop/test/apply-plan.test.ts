import { describe, expect, it } from 'vitest';
import { planApply, isEmptyPlan } from '../src/apply-plan.js';
import { parseRule } from '../src/nexthop-rule.js';
import { computeV4Index, computeV6Index } from '../src/prefix-index.js';
import { assignSlots, resolveRule, type PlacedRule } from '../src/slot-allocation.js';

const rr = (source: string, nexthop = '10.0.0.1', ifindex = 2, iface = 'eth1') =>
  resolveRule(parseRule({ source, nexthop, interface: iface }), ifindex);
const indexOf = (m: ReadonlyMap<string, PlacedRule>) => {
  const rules = [...m.values()].map((r) => ({ prefix: r.source, slot: r.slot }));
  return { v4: computeV4Index(rules), v6: computeV6Index(rules) };
};
const plan = (prev: Map<string, PlacedRule>, next: Map<string, PlacedRule>) => planApply(prev, next, indexOf(prev));

describe('planApply', () => {
  it('adds rules from nothing', () => {
    const next = assignSlots(new Map(), [rr('192.168.1.5/32'), rr('10.0.0.0/8'), rr('fd00:1::5', 'fd00::1')], 8);
    const p = plan(new Map(), next);
    expect(p.report).toEqual({ added: 3, updated: 0, removed: 0 });
    expect(p.writeRules.map((r) => r.slot).sort()).toEqual([1, 2, 3]);
    expect(p.resetCounters.sort()).toEqual([1, 2, 3]);
    expect(p.setPrefixes).toHaveLength(3);
    expect(p.setV4Buckets).toHaveLength(1 + 256);
    expect(p.setV6Buckets.map((b) => b.key)).toEqual(['fd000001']);
    expect(p.v6ShortMask).toBeUndefined(); // no short IPv6 length, unchanged
    expect(p.deletePrefixes).toEqual([]);
    expect(p.clearSlots).toEqual([]);
  });

  it('is empty when nothing changes (idempotent)', () => {
    const prev = assignSlots(new Map(), [rr('192.168.1.5/32'), rr('fd00::/16', 'fd00::1')], 8);
    const next = assignSlots(prev, [rr('192.168.1.5/32'), rr('fd00::/16', 'fd00::1')], 8);
    const p = plan(prev, next);
    expect(isEmptyPlan(p)).toBe(true);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 0 });
  });

  it('moves a changed rule: new slot, counters follow, old slot cleared', () => {
    const prev = assignSlots(new Map(), [rr('192.168.1.5/32')], 8);
    const next = assignSlots(prev, [rr('192.168.1.5/32', '10.0.0.2')], 8);
    const p = plan(prev, next);
    expect(p.report).toEqual({ added: 0, updated: 1, removed: 0 });
    expect(p.writeRules.map((r) => r.slot)).toEqual([2]);
    expect(p.moveCounters).toEqual([{ from: 1, to: 2 }]);
    expect(p.resetCounters).toEqual([]);
    expect(p.setPrefixes.map((r) => r.slot)).toEqual([2]);
    expect(p.clearSlots).toEqual([1]);
    expect(p.setV4Buckets).toEqual([]);
  });

  it('removes rules and their index entries', () => {
    const prev = assignSlots(new Map(), [rr('192.168.1.5/32'), rr('fd00:1::5', 'fd00::1'), rr('fd00::/8', 'fd00::1')], 8);
    const next = assignSlots(prev, [], 8);
    const p = plan(prev, next);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 3 });
    expect(p.deletePrefixes.map((x) => x.text).sort()).toEqual(['192.168.1.5/32', 'fd00::/8', 'fd00:1::5/128'].sort());
    expect(p.setV4Buckets).toEqual([{ index: (192 << 8) | 168, longMask: 0, fallbackSlot: 0 }]);
    expect(p.deleteV6Buckets).toEqual(['fd000001']);
    expect(p.v6ShortMask).toBe(0n);
    expect(p.clearSlots.sort()).toEqual([1, 2, 3]);
  });

  it('writes nothing when only the interface name changes (same ifindex)', () => {
    const prev = assignSlots(new Map(), [rr('192.168.1.5/32')], 8);
    const next = assignSlots(prev, [rr('192.168.1.5/32', '10.0.0.1', 2, 'eth9')], 8);
    const p = plan(prev, next);
    expect(isEmptyPlan(p)).toBe(true);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 0 });
  });
});
