import { describe, expect, it } from 'vitest';
import { isEmptyPlan, needsRemovalFirst, planApply, planConvergence } from '../src/apply-plan.js';
import { parseRule } from '../src/nexthop-rule.js';
import { computeV4Index, computeV6Index, v6BucketOf } from '../src/prefix-index.js';
import { parsePrefix } from '@bpfsteer/ip';
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
    expect([...p.resetCounters].sort()).toEqual([1, 2, 3]);
    expect(p.setPrefixes).toHaveLength(3);
    expect(p.setV4Buckets).toHaveLength(1 + 256);
    expect(p.setV6Buckets.map((b) => b.index)).toEqual([v6BucketOf(parsePrefix('fd00:1::5').bytes)]);
    expect(p.v6Short).toBeUndefined(); // no short IPv6 length, unchanged
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
    // the /16 bucket's single rule moved to slot 2
    expect(p.setV4Buckets).toEqual([{ index: (192 << 8) | 168, longMask: 1 << 15, fallbackSlot: 0, onlySlot: 2, sub: 0 }]);
  });

  it('removes rules and their index entries', () => {
    const prev = assignSlots(new Map(), [rr('192.168.1.5/32'), rr('fd00:1::5', 'fd00::1'), rr('fd00::/8', 'fd00::1')], 8);
    const next = assignSlots(prev, [], 8);
    const p = plan(prev, next);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 3 });
    expect(p.deletePrefixes.map((x) => x.text).sort()).toEqual(['192.168.1.5/32', 'fd00::/8', 'fd00:1::5/128'].sort());
    expect(p.setV4Buckets).toEqual([{ index: (192 << 8) | 168, longMask: 0, fallbackSlot: 0, onlySlot: 0, sub: 0 }]);
    expect(p.setV6Buckets).toEqual([{ index: v6BucketOf(parsePrefix('fd00:1::5').bytes), bucket: { longMask: [0, 0, 0], onlySlot: 0 } }]);
    expect(p.v6Short).toEqual({ mask: 0n, onlySlot: 0 });
    expect([...p.clearSlots].sort()).toEqual([1, 2, 3]);
  });

  it('writes nothing when only the interface name changes (same ifindex)', () => {
    const prev = assignSlots(new Map(), [rr('192.168.1.5/32')], 8);
    const next = assignSlots(prev, [rr('192.168.1.5/32', '10.0.0.1', 2, 'eth9')], 8);
    const p = plan(prev, next);
    expect(isEmptyPlan(p)).toBe(true);
    expect(p.report).toEqual({ added: 0, updated: 0, removed: 0 });
  });
});

describe('planConvergence', () => {
  it('makes before it breaks when the maps have room: one plan', () => {
    const prev = assignSlots(new Map(), [rr('10.1.0.0/16'), rr('10.2.0.0/16')], 4);
    const c = planConvergence(prev, indexOf(prev), [rr('10.2.0.0/16'), rr('10.3.0.0/16')], 4);
    expect(needsRemovalFirst(prev, [rr('10.2.0.0/16'), rr('10.3.0.0/16')], 4)).toBe(false);
    expect(c.plans).toHaveLength(1);
    expect(c.report).toEqual({ added: 1, updated: 0, removed: 1 });
  });

  it('removes first when adding first would overflow a prefix map or the slots', () => {
    const prev = assignSlots(new Map(), [rr('10.1.0.0/16'), rr('10.2.0.0/16')], 3);
    const desired = [rr('10.3.0.0/16'), rr('10.4.0.0/16')];
    expect(needsRemovalFirst(prev, desired, 3)).toBe(true);
    const c = planConvergence(prev, indexOf(prev), desired, 3);
    expect(c.plans).toHaveLength(2);
    expect(c.plans[0].deletePrefixes.map((p) => p.text).sort()).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
    expect(c.plans[0].setPrefixes).toEqual([]);
    expect(c.plans[1].deletePrefixes).toEqual([]);
    expect(c.plans[1].setPrefixes.map((r) => r.source.text).sort()).toEqual(['10.3.0.0/16', '10.4.0.0/16']);
    expect(c.report).toEqual({ added: 2, updated: 0, removed: 2 });
    expect([...c.next.values()].every((r) => r.slot >= 1 && r.slot <= 3)).toBe(true);
  });

  it('counts each family against its own prefix map', () => {
    const prev = assignSlots(new Map(), [rr('10.1.0.0/16')], 2);
    expect(needsRemovalFirst(prev, [rr('fd00::/16', 'fd00::1')], 2)).toBe(false);
    expect(needsRemovalFirst(prev, [rr('10.9.0.0/16'), rr('10.8.0.0/16')], 2)).toBe(true);
  });
});

describe('planApply with IPv4 sub-tables', () => {
  it('writes the cells of a new sub-table before the bucket, and clears a freed one after it', () => {
    const prev = assignSlots(new Map(), [rr('10.1.2.0/24'), rr('10.1.2.128/25')], 8);
    const p1 = plan(new Map(), prev);
    const bucket = (10 << 8) | 1;
    expect(p1.setV4Buckets).toEqual([{ index: bucket, longMask: (1 << 7) | (1 << 8), fallbackSlot: 0, onlySlot: 0, sub: 1 }]);
    // cells of table 1: the /24's cell 2 holds the /25 and falls back to the /24
    expect(p1.setV4Cells).toEqual([{ index: 2, longMask: 1, fallbackSlot: prev.get('10.1.2.0/24')!.slot, onlySlot: prev.get('10.1.2.128/25')!.slot }]);
    expect(p1.clearV4Cells).toEqual([]);

    const next = assignSlots(prev, [rr('10.1.2.0/24')], 8);
    const p2 = planApply(prev, next, { v4: p1.v4Index, v6: p1.v6Index });
    expect(p2.setV4Buckets).toEqual([{ index: bucket, longMask: 1 << 7, fallbackSlot: 0, onlySlot: next.get('10.1.2.0/24')!.slot, sub: 0 }]);
    expect(p2.setV4Cells).toEqual([]);
    expect(p2.clearV4Cells).toEqual([{ index: 2, longMask: 0, fallbackSlot: 0, onlySlot: 0 }]);
  });
});
