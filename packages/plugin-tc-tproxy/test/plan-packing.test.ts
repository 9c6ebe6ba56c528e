/** The packed plan entries are byte for byte what the map codecs (checked against the BTF) encode. */
import { codecs, encodeValue } from '@bpfsteer/core-bpf';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dstKeyCodec, dstValueCodec, hostKeyCodec, nodeCodec, portKeyCodec, portValueCodec, ruleCodec, srcKeyCodec } from '../src/map-codecs.js';
import { packDstKeys, packDstWrites, packHostKeys, packPortKeys, packPortWrites, packRuleWrites, packSrcKeys, packSrcWrites, packZeroed } from '../src/plan-packing.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const addr = fc.uint8Array({ minLength: 16, maxLength: 16 });
const dstKey = fc.record({ prefixlen: u32, ifindex: u32, family: fc.integer({ min: 0, max: 255 }), proto: fc.integer({ min: 0, max: 255 }), addr });
const srcKey = fc.record({ prefixlen: u32, dst_id: u32, addr });
const portKey = fc.record({ prefixlen: u32, src_id: u32, port_be: fc.integer({ min: 0, max: 65535 }) });
const u16 = fc.integer({ min: 0, max: 65535 });
const dstValue = fc.record({ id: u32, ranges: fc.array(fc.record({ low: u16, high: u16, ruleId: u32 }), { maxLength: 4 }) });
const rule = fc.record({ action: fc.integer({ min: 0, max: 255 }), tproxy_port_be: fc.integer({ min: 0, max: 65535 }), identity: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) });

const concat = (parts: Buffer[]) => Buffer.concat(parts);

describe('plan packing', () => {
  it('packs trie keys and dst / node / rule-id values as the codecs encode them', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(dstKey, dstValue)), fc.array(fc.tuple(srcKey, u32)), fc.array(fc.tuple(portKey, u32)), (dst, src, port) => {
        const d = packDstWrites(dst);
        expect(d.count).toBe(dst.length);
        expect(d.keys).toEqual(concat(dst.map(([k]) => encodeValue(dstKeyCodec, k))));
        const ranges = (v: (typeof dst)[number][1]) =>
          [0, 1, 2, 3].map((i) => (i < v.ranges.length ? { low: v.ranges[i].low, high: v.ranges[i].high, rule_id: v.ranges[i].ruleId } : { low: 0, high: 0, rule_id: 0 }));
        expect(d.values).toEqual(concat(dst.map(([, v]) => encodeValue(dstValueCodec, { id: v.id, nranges: v.ranges.length, ranges: ranges(v) }))));
        expect(packDstKeys(dst.map(([k]) => k))).toEqual(d.keys);
        // as tctp_dst_host keys: the same without prefixlen
        const hostKeys = concat(dst.map(([k]) => encodeValue(hostKeyCodec, { ifindex: k.ifindex, family: k.family, proto: k.proto, addr: k.addr })));
        const h = packDstWrites(dst, true);
        expect(h.keys).toEqual(hostKeys);
        expect(h.values).toEqual(d.values);
        expect(packHostKeys(dst.map(([k]) => k))).toEqual(hostKeys);
        const s = packSrcWrites(src);
        expect(s.keys).toEqual(concat(src.map(([k]) => encodeValue(srcKeyCodec, k))));
        expect(s.values).toEqual(concat(src.map(([, id]) => encodeValue(nodeCodec, { id }))));
        expect(packSrcKeys(src.map(([k]) => k))).toEqual(s.keys);
        const p = packPortWrites(port);
        expect(p.keys).toEqual(concat(port.map(([k]) => encodeValue(portKeyCodec, k))));
        expect(p.values).toEqual(concat(port.map(([, ruleId]) => encodeValue(portValueCodec, { rule_id: ruleId }))));
        expect(packPortKeys(port.map(([k]) => k))).toEqual(p.keys);
      }),
      { numRuns: 200 },
    );
  });

  it('packs rule slots, and zeroed values under u32 ids', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(u32, rule)), fc.array(u32), (rules, ids) => {
        const r = packRuleWrites(rules);
        expect(r.keys).toEqual(concat(rules.map(([id]) => encodeValue(codecs.u32, id))));
        expect(r.values).toEqual(concat(rules.map(([, v]) => encodeValue(ruleCodec, v))));
        const z = packZeroed(ids, 32);
        expect(z.keys).toEqual(concat(ids.map((id) => encodeValue(codecs.u32, id))));
        expect(z.values).toEqual(Buffer.alloc(32 * ids.length));
      }),
      { numRuns: 200 },
    );
  });
});
