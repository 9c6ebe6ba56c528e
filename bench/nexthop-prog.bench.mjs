// bench/nexthop-prog: ns per packet of the tc_nexthop program (BPF_PROG_TEST_RUN) against an empty
// tc program and a plain LPM_TRIE program with the same parsing and redirect step
// (bpf/bench_lpm_nexthop.bpf.c), at 1 and 10,000 rules of mixed prefix lengths, in the same run.
// Needs root, `make -C bpf` and the builds of netlab, core-bpf and plugin-tc-nexthop.
// Rows: "hit" packets come from inside random rules; "random" sources are random addresses (mostly
// no rule); "v4 dense" puts all IPv4 rules under one /12 so buckets hold several lengths.
// Usage: node bench/nexthop-prog.bench.mjs [repeat]   (test runs per packet, default 50000)
import { execFileSync } from 'node:child_process';
import { randomBytes as cryptoRandom } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { BpfObject, TypedMap, codecs } from '@bpfsteer/core-bpf';
import { ipFrame } from '@bpfsteer/netlab';
import { networkOf, parsePrefix } from '@bpfsteer/ip';
import { NexthopDataplane } from '@bpfsteer/plugin-tc-nexthop';
import { printTable } from './table.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const buildDir = `${here}../bpf/build`;
const repeat = Number(process.argv[2] ?? 50_000);
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

/** A random address inside `prefix`. */
function addressIn(prefix) {
  const a = new Uint8Array(prefix.bytes);
  const x = bytes(a.length);
  for (let bit = prefix.length; bit < a.length * 8; bit++) if (x[bit >> 3] & (0x80 >> (bit & 7))) a[bit >> 3] |= 0x80 >> (bit & 7);
  return a;
}

const scenarios = {
  v4: { family: 4, lengths: [8, 12, 16, 20, 22, 24, 26, 28, 30, 32] },
  'v4 dense': { family: 4, lengths: [17, 18, 20, 22, 24, 24, 26, 28, 30, 32], within: parsePrefix('10.16.0.0/12') },
  v6: { family: 6, lengths: [32, 40, 48, 56, 64, 64, 80, 96, 112, 128], within: parsePrefix('fd00::/14') },
};
const RULE_COUNTS = [1, 10_000];

function rulesFor(scenario, n) {
  const out = new Map();
  while (out.size < n) {
    const base = scenario.within ? addressIn(scenario.within) : bytes(scenario.family === 4 ? 4 : 16);
    const p = networkOf({ family: scenario.family, bytes: base }, pick(scenario.lengths));
    out.set(p.text, p);
  }
  return [...out.values()];
}

/** Random sources: anywhere (or, for a scenario under one prefix, anywhere in a 4x larger one). */
function randomSource(scenario) {
  if (!scenario.within) return bytes(scenario.family === 4 ? 4 : 16);
  return addressIn(networkOf(scenario.within, Math.max(0, scenario.within.length - 2)));
}

function nsPerPacket(program, packets) {
  let total = 0;
  for (const p of packets) total += program.testRun({ data: p, repeat }).durationNs;
  return total / packets.length;
}

// tcnh_rules value (bpf/tc_nexthop.h); checked against the object's BTF when wrapped
const ruleCodec = codecs.struct({
  ifindex: codecs.u32,
  nh_family: codecs.u32,
  nh_addr_be: codecs.bytes(16, 4),
  src_prefixlen: codecs.u32,
  src_addr_be: codecs.bytes(16, 4),
});

/** The LPM_TRIE baseline loaded with `prefixes`, all pointing at rule slot 1. */
function loadLpm(family, prefixes) {
  const lpm = BpfObject.open(`${buildDir}/bench_lpm_nexthop.bpf.o`);
  lpm.load();
  const size = family === 4 ? 4 : 16;
  const lpmKey = codecs.struct({ prefixlen: codecs.u32, addr_be: codecs.bytes(size, 4) });
  const trie = TypedMap.wrap(lpm.map(family === 4 ? 'lpm_v4' : 'lpm_v6'), lpmKey, codecs.u32);
  const nh = new Uint8Array(16);
  nh.set(family === 4 ? [10, 99, 0, 1] : [0xfd, 0x99, ...new Array(13).fill(0), 1]);
  TypedMap.wrap(lpm.map('tcnh_rules'), codecs.u32, ruleCodec).set(1, {
    ifindex: 2,
    nh_family: family === 4 ? 2 : 10,
    nh_addr_be: nh,
    src_prefixlen: 0,
    src_addr_be: new Uint8Array(16),
  });
  trie.setMany(prefixes.map((p) => [{ prefixlen: p.length, addr_be: p.bytes }, 1]));
  return lpm;
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
  dp = NexthopDataplane.start({ netns });
  const rows = [];
  for (const [name, scenario] of Object.entries(scenarios)) {
    for (const n of RULE_COUNTS) {
      if (n === 1 && name === 'v4 dense') continue; // one rule is not dense
      const prefixes = rulesFor(scenario, n);
      const nexthop = scenario.family === 4 ? '10.99.0.1' : 'fd99::1';
      dp.setRules(prefixes.map((p) => ({ source: p.text, nexthop, interface: 'bench0' })));
      const lpm = loadLpm(scenario.family, prefixes);
      objects.push(lpm);

      const packets = {
        hit: Array.from({ length: PACKETS }, () => ipFrame({ src: addressIn(pick(prefixes)) })),
        random: Array.from({ length: PACKETS }, () => ipFrame({ src: randomSource(scenario) })),
      };
      const programs = { empty: empty.program('bench_empty_tc'), lpm: lpm.program('bench_lpm_nexthop'), ours: dp.program };
      for (const [kind, frames] of Object.entries(packets)) {
        const best = { empty: Infinity, lpm: Infinity, ours: Infinity };
        for (let r = 0; r < ROUNDS; r++) {
          for (const k of Object.keys(best)) best[k] = Math.min(best[k], nsPerPacket(programs[k], frames));
        }
        rows.push([name, String(n), kind, best.empty, best.lpm, best.ours, best.lpm / best.empty, best.ours / best.empty]);
      }
      lpm.close();
    }
  }
  printTable(
    `tc_nexthop ns/packet (BPF_PROG_TEST_RUN, best of ${ROUNDS} x ${PACKETS} packets x ${repeat} runs)`,
    ['scenario', 'rules', 'packets', 'empty ns', 'lpm_trie ns', 'ours ns', 'lpm_trie/empty', 'ours/empty'],
    rows,
  );
} finally {
  dp?.close({ keepPinned: false });
  for (const o of objects) o.close();
  execFileSync('ip', ['netns', 'del', netns]);
}
