// bench/nexthop-prog: ns per packet of the tc_nexthop program (BPF_PROG_TEST_RUN) against an
// empty tc program and a plain LPM_TRIE program with the same semantics, at 1 and 10,000 rules of
// mixed prefix lengths. Needs root, `make -C bpf` and the package build (it imports dist/).
// Usage: node bench/nexthop-prog.bench.mjs [--json] [repeat]
// Rows: "hit" packets come from inside random rules; "random" sources are random addresses
// (mostly no rule); "dense" puts all IPv4 rules under one /12 so buckets hold several lengths.
import { execFileSync } from 'node:child_process';
import { randomBytes as cryptoRandom } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BpfObject, TypedMap, codecs } from '@bpfsteer/core-bpf';
import { NexthopDataplane, formatIp, parseCidr } from '../dist/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const buildDir = `${here}../../../bpf/build`;
const json = process.argv.includes('--json');
const repeat = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 50_000);
const ROUNDS = 3;
const PACKETS = 64;

// deterministic pseudo-random numbers (xorshift32)
let seed = 0x2545f491;
const rnd = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 2 ** 32;
};
const bytes = (n) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
const pick = (list) => list[Math.floor(rnd() * list.length)];

function addressIn(prefix) {
  const a = new Uint8Array(prefix.bytes);
  const x = bytes(a.length);
  for (let bit = prefix.length; bit < a.length * 8; bit++) if (x[bit >> 3] & (0x80 >> (bit & 7))) a[bit >> 3] |= 0x80 >> (bit & 7);
  return a;
}

function frame(src) {
  const v6 = src.length === 16;
  const b = Buffer.alloc(v6 ? 14 + 40 + 8 : 14 + 20 + 8);
  b.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  if (v6) {
    b[14] = 0x60;
    b.writeUInt16BE(8, 18);
    b[20] = 17;
    b[21] = 64;
    b.set(src, 22);
  } else {
    b[14] = 0x45;
    b.writeUInt16BE(28, 16);
    b[22] = 64;
    b[23] = 17;
    b.set(src, 26);
  }
  return b;
}

const scenarios = {
  v4: { family: 4, lengths: [8, 12, 16, 20, 22, 24, 26, 28, 30, 32] },
  'v4 dense': { family: 4, lengths: [17, 18, 20, 22, 24, 24, 26, 28, 30, 32], within: parseCidr('10.16.0.0/12') },
  v6: { family: 6, lengths: [32, 40, 48, 56, 64, 64, 80, 96, 112, 128], within: parseCidr('fd00::/14') },
};

function rulesFor(scenario, n) {
  const out = new Map();
  while (out.size < n) {
    const base = scenario.within ? addressIn(scenario.within) : bytes(scenario.family === 4 ? 4 : 16);
    const p = parseCidr(`${formatIp(base)}/${pick(scenario.lengths)}`);
    out.set(p.text, p);
  }
  return [...out.values()];
}

function nsPerPacket(program, packets) {
  let total = 0;
  for (const p of packets) total += program.testRun({ data: p, repeat }).durationNs;
  return total / packets.length;
}

const netns = `bstbench-${process.pid}-${cryptoRandom(2).toString('hex')}`;
execFileSync('ip', ['netns', 'add', netns]);
const objects = [];
let dp;
try {
  execFileSync('ip', ['-n', netns, 'link', 'add', 'bench0', 'type', 'veth', 'peer', 'name', 'bench1']);
  const empty = BpfObject.open(`${buildDir}/bench_empty_tc.bpf.o`);
  objects.push(empty);
  empty.load();
  const emptyProg = empty.program('bench_empty_tc');
  dp = NexthopDataplane.start({ netns });
  const rows = [];
  for (const [name, scenario] of Object.entries(scenarios)) {
    for (const n of [1, 10_000]) {
      if (n === 1 && name === 'v4 dense') continue;
      const prefixes = rulesFor(scenario, n);
      const nh = scenario.family === 4 ? '10.99.0.1' : 'fd99::1';
      dp.setRules(prefixes.map((p) => ({ source: p.text, nexthop: nh, interface: 'bench0' })));

      // the same rules in a plain LPM_TRIE program
      const lpm = BpfObject.open(`${buildDir}/bench_lpm_nexthop.bpf.o`);
      objects.push(lpm);
      lpm.load();
      const lpmKey = codecs.struct({ prefixlen: codecs.u32, addr_be: codecs.bytes(scenario.family === 4 ? 4 : 16, 4) });
      const trie = TypedMap.wrap(lpm.map(scenario.family === 4 ? 'lpm_v4' : 'lpm_v6'), lpmKey, codecs.u32);
      const rule = codecs.struct({
        ifindex: codecs.u32,
        nh_family: codecs.u32,
        nh_addr_be: codecs.bytes(16, 4),
        src_prefixlen: codecs.u32,
        src_addr_be: codecs.bytes(16, 4),
      });
      const nhBytes = new Uint8Array(16);
      nhBytes.set(scenario.family === 4 ? [10, 99, 0, 1] : [0xfd, 0x99, ...new Array(13).fill(0), 1]);
      TypedMap.wrap(lpm.map('lpm_rules'), codecs.u32, rule).set(1, {
        ifindex: 2,
        nh_family: scenario.family === 4 ? 2 : 10,
        nh_addr_be: nhBytes,
        src_prefixlen: 0,
        src_addr_be: new Uint8Array(16),
      });
      trie.setMany(prefixes.map((p) => [{ prefixlen: p.length, addr_be: p.bytes }, 1]));

      const hits = Array.from({ length: PACKETS }, () => frame(addressIn(pick(prefixes))));
      const random = Array.from({ length: PACKETS }, () => {
        const a = scenario.within ? addressIn(parseCidr(`${formatIp(scenario.within.bytes)}/${Math.max(0, scenario.within.length - 2)}`)) : bytes(scenario.family === 4 ? 4 : 16);
        return frame(a);
      });
      const programs = { empty: emptyProg, lpm: lpm.program('bench_lpm_nexthop'), ours: dp.program };
      for (const [kind, packets] of [['hit', hits], ['random', random]]) {
        const best = { empty: Infinity, lpm: Infinity, ours: Infinity };
        for (let r = 0; r < ROUNDS; r++) {
          for (const k of Object.keys(best)) best[k] = Math.min(best[k], nsPerPacket(programs[k], packets));
        }
        rows.push({ scenario: name, rules: n, packets: kind, empty: best.empty, lpm: best.lpm, ours: best.ours, lpmRatio: best.lpm / best.empty, oursRatio: best.ours / best.empty });
      }
      lpm.close();
    }
  }
  if (json) {
    for (const r of rows) console.log(JSON.stringify({ bench: 'nexthop-prog', ...r }));
  } else {
    const header = ['scenario', 'rules', 'packets', 'empty ns', 'lpm ns', 'ours ns', 'lpm/empty', 'ours/empty'];
    const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v < 10 ? v.toFixed(2) : v.toFixed(1)) : String(v));
    const cells = [header, ...rows.map((r) => [r.scenario, r.rules, r.packets, r.empty, r.lpm, r.ours, r.lpmRatio, r.oursRatio].map(fmt))];
    const widths = header.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
    const line = (c) => `| ${c.map((x, i) => x.padStart(widths[i])).join(' | ')} |`;
    console.log(`\ntc_nexthop ns/packet (BPF_PROG_TEST_RUN, best of ${ROUNDS} x ${PACKETS} packets x ${repeat} runs)`);
    console.log(line(header));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const c of cells.slice(1)) console.log(line(c));
  }
} finally {
  dp?.close({ keepPinned: false });
  for (const o of objects) o.close();
  execFileSync('ip', ['netns', 'del', netns]);
}
