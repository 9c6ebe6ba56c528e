// bench/tproxy-prog: ns per packet of tctp_ingress (bpf/tc_tproxy.bpf.c) under BPF_PROG_TEST_RUN with
// 1, 1,000 and 100,000 rules installed through the plugin's TproxyDataplane, IPv4 and IPv6, against
// an empty tc program (bpf/bench_empty_tc.bpf.o), in the same run.
// The test runs happen inside the lab netns with a __sk_buff context whose ifindex is the veth the
// dataplane is attached to (so the program runs its interface path, not the loopback shortcut).
// Packets: TCP SYNs to the destinations of divert rules ("divert": own-tuple socket lookup, conntrack
// lookup, the rule lookup (host rules: the tctp_dst_host hash and the node's inline port intervals), the listener lookup at 127.0.0.1:<tproxy port> where a listener waits;
// bpf_sk_assign returns -EOPNOTSUPP under test-run, so the packet ends dropped; the rules' hit
// counters are checked) and TCP SYNs to an address no rule covers ("no rule": the same path ending at
// a miss in the host hash and in the destination trie). Both kinds of destination are drawn from the space the rules fill. Events are off
// on the interface (a drop event per test run would measure the ring buffer instead of the lookups).
// Rules: router-like random sets (tproxy-rules.mjs): mostly host destinations with one port, some
// wider prefixes, ranges, source prefixes, pass and deny rules.
// Needs root, `make -C bpf` and the builds of netlab, core-bpf and plugin-tc-tproxy.
// Usage: node bench/tproxy-prog.bench.mjs [test runs per packet (125000)] [packets (8)] [rounds (3)]
import { fileURLToPath } from 'node:url';
import { BpfObject, withNetns } from '@bpfsteer/core-bpf';
import { NetLab, ipFrame } from '@bpfsteer/netlab';
import { onCleanup } from './cleanup.mjs';
import { printTable } from './table.mjs';
import { startTproxyDataplane } from './tproxy-dataplane.mjs';
import { routerRuleSet } from './tproxy-rules.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const repeat = Number(process.argv[2] ?? 125_000);
const PACKETS = Number(process.argv[3] ?? 8);
const ROUNDS = Number(process.argv[4] ?? 3);
const RULE_COUNTS = [1, 1_000, 100_000];
const PROBE_PORT = 443;

/** struct __sk_buff with ifindex and ingress_ifindex set (offsets 40 and 36 of the uapi struct). */
function skbContext(ifindex) {
  const ctx = new Uint8Array(192);
  const view = new DataView(ctx.buffer);
  view.setUint32(36, ifindex, true);
  view.setUint32(40, ifindex, true);
  return ctx;
}

/** testRun, retried when a signal (e.g. a child's SIGCHLD) interrupted it. */
function run(program, data, context) {
  for (let attempt = 0; ; attempt++) {
    try {
      return program.testRun({ data, context, repeat });
    } catch (err) {
      if (err?.errno !== 'EINTR' || attempt >= 5) throw err;
    }
  }
}

function nsPerPacket(program, frames, context, expect) {
  let total = 0;
  for (const f of frames) {
    const r = run(program, f, context);
    if (expect !== undefined && r.returnValue !== expect) throw new Error(`expected tc verdict ${expect}, got ${r.returnValue}`);
    total += r.durationNs;
  }
  return total / frames.length;
}

const TC_ACT_OK = 0;
const TC_ACT_SHOT = 2;

const lab = NetLab.create('tpp');
const objects = [];
const dataplanes = [];
const cleanup = onCleanup(() => {
  try {
    for (const dp of dataplanes) dp.close();
    for (const o of objects) o.close();
  } finally {
    lab.destroySync();
  }
});
try {
  const netns = lab.addNetns('r');
  lab.addVeth({ netns, ifname: 'tpp0', addresses: ['10.0.0.1/24', 'fd00::1/64'] }, { netns, ifname: 'tpp1', addresses: ['10.0.0.2/24', 'fd00::2/64'] });
  const ifindex = lab.ifIndex(netns, 'tpp0');
  const context = skbContext(ifindex);
  // the divert rules' listeners (TCP in LISTEN), so the program finds them and tries bpf_sk_assign
  const v4 = await lab.listen(netns, 'tcp', '127.0.0.1', 0);
  const v6 = await lab.listen(netns, 'tcp', '::1', 0);
  const listenerPort = { 4: v4.port, 6: v6.port };

  const empty = BpfObject.open(`${here}../bpf/build/bench_empty_tc.bpf.o`);
  objects.push(empty);
  empty.load();
  const emptyProgram = empty.program('bench_empty_tc');

  const dp = startTproxyDataplane({ netns, interfaces: ['tpp0'], pinRoot: `/sys/fs/bpf/${lab.id}`, events: false });
  dataplanes.push(dp);
  const ingress = dp.ingressProgram('tpp0');
  objects.push(ingress);

  const rows = [];
  for (const family of [4, 6]) {
    for (const n of RULE_COUNTS) {
      const set = routerRuleSet({ family, n, probes: PACKETS, probePort: PROBE_PORT, tproxyPort: listenerPort[family] });
      const t0 = process.hrtime.bigint();
      dp.setRules(set.intents);
      const applyMs = Number(process.hrtime.bigint() - t0) / 1e6;
      const src = family === 4 ? Uint8Array.of(192, 0, 2, 10) : Uint8Array.of(0x20, 1, 0xd, 0xb8, ...new Array(11).fill(0), 10);
      const frame = (dst, i) => ipFrame({ src, dst, proto: 'tcp', sport: 40000 + i, dport: PROBE_PORT, tcpFlags: 0x02 });
      const packets = {
        divert: Array.from({ length: PACKETS }, (_, i) => frame(set.probeAddresses[i % set.probeAddresses.length], i)),
        'no rule': Array.from({ length: PACKETS }, (_, i) => frame(set.missAddress, i)),
      };
      for (const [kind, frames] of Object.entries(packets)) {
        const best = { empty: Infinity, ours: Infinity };
        withNetns(netns, () => {
          for (let r = 0; r < ROUNDS; r++) {
            best.empty = Math.min(best.empty, nsPerPacket(emptyProgram, frames, context, TC_ACT_OK));
            best.ours = Math.min(best.ours, nsPerPacket(ingress, frames, context, TC_ACT_SHOT));
          }
        });
        if (kind === 'divert') {
          // the divert rules really matched (the verdict alone cannot tell a divert from a miss)
          const hits = dp.serviceHits();
          for (let i = 1; i <= set.probeAddresses.length; i++) {
            const n = hits.get(`probe-${i}`);
            if (!(n >= repeat)) throw new Error(`divert rule probe-${i} counted ${n} packets, expected >= ${repeat}`);
          }
        }
        rows.push([`IPv${family}`, String(n), kind, best.empty, best.ours, best.ours - best.empty, best.ours / best.empty, applyMs]);
      }
    }
    dp.setRules([]);
  }
  printTable(
    `tctp_ingress ns/packet (BPF_PROG_TEST_RUN in the lab netns, skb ifindex = the attached veth; best of ${ROUNDS} x ${PACKETS} packets x ${repeat} runs)`,
    ['family', 'rules', 'packet', 'empty ns', 'tctp ns', 'tctp - empty', 'tctp/empty', 'apply ms'],
    rows,
  );
  v4.close();
  v6.close();
} finally {
  cleanup();
}
