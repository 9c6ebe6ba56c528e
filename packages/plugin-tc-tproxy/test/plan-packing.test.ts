/**
 * The packed plan entries are byte for byte what the map codecs (checked against the BTF) encode of
 * the plan's entries: the packers read the placed nodes and slot columns (PlanWrites), the entry
 * lists are made from the same nodes independently of them.
 */
import { codecs, encodeValue, type Codec } from '@bpfsteer/core-bpf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planApply } from '../src/apply-plan.js';
import { dstKeyCodec, dstValueCodec, hostKeyCodec, nodeCodec, portKeyCodec, portValueCodec, ruleCodec, srcKeyCodec, type DstKey } from '../src/map-codecs.js';
import { packDstDeletes, packDstWrites, packPortDeletes, packPortWrites, packSlotWrites, packSrcDeletes, packSrcWrites, packZeroed } from '../src/plan-packing.js';
import { SlotWrites, type PlanWrites } from '../src/plan-writes.js';
import { adoptTries } from '../src/trie-adoption.js';
import { isHostKey, isHostNode } from '../src/trie-keys.js';
import { emptyTrieState } from '../src/trie-state.js';
import { ruleSetArb } from './support/rule-arbitraries.js';
import { MapModel, kernelOf, dstValueOf } from './support/rule-model.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const rule = fc.record({ action: fc.integer({ min: 0, max: 255 }), tproxy_port_be: fc.integer({ min: 0, max: 65535 }), identity: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) });

const encode = <T>(codec: Codec<T>, items: readonly T[]) => Buffer.concat(items.map((x) => encodeValue(codec, x)));
const hostKey = (k: DstKey) => ({ ifindex: k.ifindex, family: k.family, proto: k.proto, addr: k.addr });

/** Every packer's bytes for `plan` against the codecs' encoding of the plan's entry lists. */
function expectPacked(plan: PlanWrites): void {
  const { written, dropped } = plan.nodes;
  // the split by map agrees with the keys
  expect(written.host).toEqual(written.all.filter(isHostNode));
  expect(written.trie).toEqual(written.all.filter((n) => !isHostNode(n)));
  expect(dropped.host).toEqual(dropped.all.filter(isHostNode));
  expect(dropped.trie).toEqual(dropped.all.filter((n) => !isHostNode(n)));
  for (const host of [false, true]) {
    const entries = plan.dstWrites.filter(([k]) => isHostKey(k) === host);
    const packed = packDstWrites(host ? written.host : written.trie, host);
    expect(packed.count).toBe(entries.length);
    expect(packed.keys).toEqual(host ? encode(hostKeyCodec, entries.map(([k]) => hostKey(k))) : encode(dstKeyCodec, entries.map(([k]) => k)));
    expect(packed.values).toEqual(encode(dstValueCodec, entries.map(([, v]) => dstValueOf(v))));
    const deletes = plan.dstDeletes.filter((k) => isHostKey(k) === host);
    const packedDeletes = packDstDeletes(host ? dropped.host : dropped.trie, host);
    expect(packedDeletes).toEqual(host ? encode(hostKeyCodec, deletes.map(hostKey)) : encode(dstKeyCodec, deletes));
  }
  const src = packSrcWrites(plan);
  expect(src.count).toBe(plan.srcWrites.length);
  expect(src.keys).toEqual(encode(srcKeyCodec, plan.srcWrites.map(([k]) => k)));
  expect(src.values).toEqual(encode(nodeCodec, plan.srcWrites.map(([, id]) => ({ id }))));
  const port = packPortWrites(plan);
  expect(port.count).toBe(plan.portWrites.length);
  expect(port.keys).toEqual(encode(portKeyCodec, plan.portWrites.map(([k]) => k)));
  expect(port.values).toEqual(encode(portValueCodec, plan.portWrites.map(([, ruleId]) => ({ rule_id: ruleId }))));
  expect(packSrcDeletes(plan).keys).toEqual(encode(srcKeyCodec, plan.srcDeletes));
  expect(packPortDeletes(plan).keys).toEqual(encode(portKeyCodec, plan.portDeletes));
  const rules = packSlotWrites(plan.slots);
  expect(rules.keys).toEqual(encode(codecs.u32, plan.ruleWrites.map(([id]) => id)));
  expect(rules.values).toEqual(encode(ruleCodec, plan.ruleWrites.map(([, v]) => v)));
  // the counts without the lists are their lengths
  expect(plan.size()).toEqual({
    written: plan.ruleWrites.length + plan.portWrites.length + plan.srcWrites.length + plan.dstWrites.length,
    deleted: plan.dstDeletes.length + plan.srcDeletes.length + plan.portDeletes.length + plan.ruleClears.length,
  });
}

describe('plan packing', () => {
  it('packs the trie entries and rule slots of plans as the codecs encode their entries', () => {
    fc.assert(
      fc.property(ruleSetArb(), ruleSetArb(), (first, second) => {
        const model = new MapModel();
        // from empty; to another rule set (nodes replaced and dropped)
        const a = planApply(emptyTrieState(100), { rules: first, ifindexes: [1, 2] });
        expectPacked(a.plan);
        model.apply(a.plan);
        const b = planApply(a.next, { rules: second, ifindexes: [1, 2] });
        expectPacked(b.plan);
        model.apply(b.plan);
        // adopted from the maps, with a malformed key: nodes dropped under the keys they were adopted with
        const bogus = { prefixlen: 300, ifindex: 1, family: 7, proto: 6, addr: new Uint8Array(16) };
        model.dst.set(MapModel.dstId(bogus), { key: bogus, id: 77, value: dstValueOf({ id: 77, ranges: [] }) });
        const { state } = adoptTries(kernelOf(model), 100);
        const c = planApply(state, { rules: first, ifindexes: [1] });
        expect(c.plan.nodes.dropped.all.some((n) => n.rawKey === bogus)).toBe(true);
        expectPacked(c.plan);
      }),
      { numRuns: 100 },
    );
  });

  it('packs rule slots, and zeroed values under u32 ids', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(u32, rule)), fc.array(u32), (rules, ids) => {
        const slots = new SlotWrites();
        for (const [id, v] of rules) slots.push(id, v.action, v.tproxy_port_be, v.identity);
        expect(slots.entries()).toEqual(rules);
        const r = packSlotWrites(slots);
        expect(r.keys).toEqual(encode(codecs.u32, rules.map(([id]) => id)));
        expect(r.values).toEqual(encode(ruleCodec, rules.map(([, v]) => v)));
        const z = packZeroed(ids, 32);
        expect(z.keys).toEqual(encode(codecs.u32, ids));
        expect(z.values).toEqual(Buffer.alloc(32 * ids.length));
      }),
      { numRuns: 200 },
    );
  });
});
