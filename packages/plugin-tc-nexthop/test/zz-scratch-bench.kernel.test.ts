import { it } from 'vitest';
import { BpfObject, loadSkeleton, TypedMap, codecs } from '@bpfsteer/core-bpf';
import { nexthopSkeleton, executePlan } from '../src/nexthop-maps.js';
import { planApply } from '../src/apply-plan.js';
import { assignSlots, resolveRule } from '../src/slot-allocation.js';
import { parseRule } from '../src/nexthop-rule.js';
import { computeV4Index, computeV6Index, emptyV4Index } from '../src/prefix-index.js';
import { formatIp } from '../src/ip-address.js';

let seed = 12345;
const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const rb = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));

function pkt(src: Uint8Array): Uint8Array {
  const v6 = src.length === 16;
  const b = Buffer.alloc(v6 ? 14 + 40 + 8 : 14 + 20 + 8);
  b.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  if (v6) { b[14] = 0x60; b.writeUInt16BE(8, 18); b[20] = 17; b[21] = 64; b.set(src, 22); b.set(rb(16), 38); }
  else { b[14] = 0x45; b.writeUInt16BE(28, 16); b[22] = 64; b[23] = 17; b.set(src, 26); b.set(rb(4), 30); }
  return b;
}

function genRules(n: number, fam: 4 | 6) {
  const specs = [];
  const seen = new Set<string>();
  while (specs.length < n) {
    const len = fam === 4 ? [8, 12, 16, 20, 22, 24, 26, 28, 30, 32][Math.floor(rnd() * 10)] : [32, 40, 48, 56, 64, 80, 96, 112, 128][Math.floor(rnd() * 9)];
    const a = rb(fam === 4 ? 4 : 16);
    if (fam === 6) { a[0] = 0xfd; a[1] = Math.floor(rnd() * 4); }
    const src = `${formatIp(a)}/${len}`;
    const r = parseRule({ source: src, nexthop: fam === 4 ? '10.0.0.1' : 'fd00::1', interface: 'lo' });
    if (seen.has(r.source.text)) continue;
    seen.add(r.source.text);
    specs.push(r);
  }
  return specs;
}

function measure(prog: { testRun: (o: any) => any }, pkts: Uint8Array[], repeat = 200000) {
  let total = 0;
  for (const p of pkts) total += prog.testRun({ data: p, repeat }).durationNs;
  return total / pkts.length;
}

it('bench', () => {
  const empty = BpfObject.open('/work/main/bpf/build/bench_empty_tc.bpf.o'); empty.load();
  const lpm = BpfObject.open('/work/main/bpf/build/bench_lpm_nexthop.bpf.o'); lpm.load();
  const skel = loadSkeleton('/work/main/bpf/build/tc_nexthop.bpf.o', nexthopSkeleton, {});
  const lpm4 = TypedMap.wrap(lpm.map('lpm_v4'), codecs.struct({ prefixlen: codecs.u32, addr_be: codecs.bytes(4, 4) }), codecs.u32);
  const lpm6 = TypedMap.wrap(lpm.map('lpm_v6'), codecs.struct({ prefixlen: codecs.u32, addr_be: codecs.bytes(16, 4) }), codecs.u32);
  const lpmRules = TypedMap.wrap(lpm.map('lpm_rules'), codecs.u32, codecs.struct({ ifindex: codecs.u32, nh_family: codecs.u32, nh_addr_be: codecs.bytes(16, 4) }));
  for (const [n, fam] of [[1, 4], [10000, 4], [1, 6], [10000, 6]] as const) {
    const rules = genRules(n, fam);
    const resolved = rules.map((r) => resolveRule(r, 1));
    const placed = assignSlots(new Map(), resolved, 16384);
    const plan = planApply(new Map(), placed, { v4: emptyV4Index(), v6: { buckets: new Map(), shortMask: 0n } });
    // reset maps between runs: simple approach - new skeleton each time
    executePlan(skel.maps, plan);
    for (const r of placed.values()) {
      (fam === 4 ? lpm4 : lpm6).set({ prefixlen: r.source.length, addr_be: r.source.bytes }, r.slot);
      const nh = new Uint8Array(16); nh.set(r.nexthop.bytes);
      lpmRules.set(r.slot, { ifindex: 1, nh_family: fam === 4 ? 2 : 10, nh_addr_be: nh });
    }
    const hits: Uint8Array[] = []; const misses: Uint8Array[] = [];
    const rl = [...placed.values()];
    for (let i = 0; i < 32; i++) {
      const r = rl[Math.floor(rnd() * rl.length)];
      const a = new Uint8Array(r.source.bytes); const x = rb(a.length);
      for (let bit = r.source.length; bit < a.length * 8; bit++) if (x[bit >> 3] & (0x80 >> (bit & 7))) a[bit >> 3] |= 0x80 >> (bit & 7);
      hits.push(pkt(a));
      const m = rb(fam === 4 ? 4 : 16); if (fam === 6) m[0] = 0xfd;
      misses.push(pkt(m));
    }
    const progs = { empty: empty.program('bench_empty_tc'), lpm: lpm.program('bench_lpm_nexthop'), ours: skel.programs.tc_nexthop };
    const ret = progs.ours.testRun({ data: hits[0] }).returnValue; const retl = progs.lpm.testRun({ data: hits[0] }).returnValue;
    for (const [label, set] of [['hit', hits], ['rand', misses]] as const) {
      const e = measure(progs.empty, set), l = measure(progs.lpm, set), o = measure(progs.ours, set);
      console.log(`v${fam} rules=${n} ${label}: empty ${e.toFixed(1)} lpm ${l.toFixed(1)} (${(l / e).toFixed(2)}x) ours ${o.toFixed(1)} (${(o / e).toFixed(2)}x) ret ours=${ret} lpm=${retl}`);
    }
    // clear for next round
    const clear = planApply(placed, new Map(), { v4: computeV4Index(rl.map((r) => ({ prefix: r.source, slot: r.slot }))), v6: computeV6Index(rl.map((r) => ({ prefix: r.source, slot: r.slot }))) });
    executePlan(skel.maps, clear);
    for (const r of rl) (fam === 4 ? lpm4 : lpm6).delete({ prefixlen: r.source.length, addr_be: r.source.bytes });
  }
  skel.close(); empty.close(); lpm.close();
}, 600000);
