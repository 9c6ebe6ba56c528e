// bench/sklookup-traffic: TCP connection rate from a mesh client netns into a pod netns over veth,
// landing on a proxy-like HBONE listener (:15008) that learns each connection's original
// destination, in the same run:
//   none      no program, no iptables: the client connects to pod:15008 itself (the baseline)
//   sklookup  plugin-sklookup's dataplane (SklookupDataplane) on the pod netns: client and pod are
//             mesh members (among 10,000 others), the listener (taken from the server process with
//             pidfd_getfd, as the agent discovers it) is in the SOCKHASH; the client connects to
//             pod:80 and the sk_lookup program assigns the connection to the listener, whose
//             getsockname is pod:80
//   iptables  the field's alternative: in the pod netns `iptables -t nat -A PREROUTING -p tcp -m dscp
//             --dscp 0x17 -j REDIRECT --to-ports 15008`; the client sets DSCP 0x17 (IP_TOS 0x5c) on
//             its sockets and connects to pod:80; the listener reads SO_ORIGINAL_DST
// Each mode has its own pod netns (same topology, one veth each from the one client netns), so
// conntrack, which the nat table switches on in its netns, touches the iptables pod only. Rounds
// interleave the modes. Every reply names the destination the server saw; a reply naming another one
// than the client dialled counts as "wrong" (none is accepted).
// Connection rate: bench/c/mesh_rr.c (client: N threads of connect + send 64 B + recv 64 B + close;
// server: 2N threads of accept + recv + send + wait for close). The rates are compared round by
// round (the machine is shared and noisy); the load average is printed with them.
// A second table times the program alone per lookup (BPF_PROG_TEST_RUN: diverted, passed, skip
// port) against an sk_lookup program that only passes (bench/c/mesh_empty_sk_lookup.bpf.c).
// Needs root, clang, iptables (with the dscp match and REDIRECT target), `make -C bpf` and the builds
// of netlab, core-bpf and plugin-sklookup.
// Usage: node bench/sklookup-traffic.bench.mjs [seconds per measurement (1)] [rounds (20)] [client workers (4)]
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { BpfObject, duplicateFdFromProcess } from '@bpfsteer/core-bpf';
import { NetLab } from '@bpfsteer/netlab';
import { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND, SklookupDataplane, readDesiredMesh } from '@bpfsteer/plugin-sklookup';
import { buildEmptySkLookup, buildMeshRr, runMeshClient, skLookupContext, startMeshServer } from './mesh-rr.mjs';
import { printTable } from './table.mjs';

const arg = (i, name, def, ok, accepted) => {
  const v = Number(process.argv[i] ?? def);
  if (!ok(v)) throw new Error(`${name} must be ${accepted}, got ${JSON.stringify(process.argv[i])}`);
  return v;
};
const seconds = arg(2, 'seconds per measurement', 1, (v) => v >= 0.1 && v <= 60, 'a number of seconds 0.1..60');
const rounds = arg(3, 'rounds', 20, (v) => Number.isInteger(v) && v >= 1 && v <= 1000, 'an integer 1..1000');
const workers = arg(4, 'client workers', 4, (v) => Number.isInteger(v) && v >= 1 && v <= 128, 'an integer 1..128');
const SERVER_THREADS = 2 * workers;
const HBONE = 15008;
const APP = 80;
const DSCP = 0x17;
const TOS = DSCP << 2;
const OTHER_MEMBERS = 10_000;
const TEST_RUN_REPEAT = 200_000;

const MODES = [
  { name: 'none', subnet: 1, port: HBONE, how: 'client -> pod:15008, nothing in between' },
  { name: 'sklookup', subnet: 2, port: APP, how: 'client -> pod:80, sk_lookup -> :15008 (SOCKHASH)' },
  { name: 'iptables', subnet: 3, port: APP, tos: TOS, how: 'client -> pod:80 DSCP 0x17, nat REDIRECT -> :15008' },
];
const podIp = (m) => `10.93.${m.subnet}.2`;
const clientIp = (m) => `10.93.${m.subnet}.9`;
const REDIRECT_RULE = ['PREROUTING', '-p', 'tcp', '-m', 'dscp', '--dscp', `0x${DSCP.toString(16)}`, '-j', 'REDIRECT', '--to-ports', String(HBONE)];

/** 10,000 other mesh members: 10.200.0.1 onwards */
const otherMembers = Array.from({ length: OTHER_MEMBERS }, (_, i) => `10.200.${(i + 1) >> 8}.${(i + 1) & 255}`);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const binary = buildMeshRr();
const emptyObjectPath = buildEmptySkLookup();
const lab = NetLab.create('skltr');
const pinRoot = `/sys/fs/bpf/bpfsteer-bench-skl-${process.pid}-${randomBytes(3).toString('hex')}`;
let dp;
let listenerCopy = -1;
let iptablesPod;
let empty;
const load0 = loadavg()[0];
try {
  const client = lab.addNetns('mc');
  // the client closes first: TIME_WAIT is on its side; let it reuse ports
  lab.sysctl(client, 'net.ipv4.tcp_tw_reuse', 1);
  lab.sysctl(client, 'net.ipv4.ip_local_port_range', '1024 65000');
  const servers = new Map();
  for (const m of MODES) {
    m.netns = lab.addNetns(`p${m.subnet}`);
    lab.addVeth({ netns: client, ifname: `to${m.subnet}`, addresses: [`${clientIp(m)}/24`] }, { netns: m.netns, ifname: 'eth0', addresses: [`${podIp(m)}/24`] });
    servers.set(m.name, await startMeshServer(lab, m.netns, binary, HBONE, SERVER_THREADS));
  }

  // sklookup: the real dataplane, the listener duplicated out of the server process
  const sk = MODES[1];
  const server = servers.get('sklookup');
  listenerCopy = duplicateFdFromProcess(server.pid, server.listenFd);
  dp = SklookupDataplane.open({ pinRoot });
  dp.load();
  dp.seed();
  dp.attach();
  const intents = [podIp(sk), clientIp(sk), ...otherMembers].map((address) => ({ kind: MESH_MEMBER_KIND, address }));
  const pod = { kind: SKLOOKUP_POD_KIND, uid: 'bench-pod', netns: lab.nsPath(sk.netns), addresses: [podIp(sk)], socketFd: listenerCopy };
  dp.apply(readDesiredMesh(new Map([[MESH_MEMBER_KIND, intents], [SKLOOKUP_POD_KIND, [pod]]]), dp.capacity));

  // iptables: DSCP-matched REDIRECT in its pod netns
  iptablesPod = MODES[2].netns;
  lab.sh(iptablesPod, ['iptables', '-t', 'nat', '-A', ...REDIRECT_RULE]);

  const run = (m, secs) => runMeshClient(lab, client, binary, { host: podIp(m), port: m.port, workers, seconds: secs, tos: m.tos });
  const results = new Map(MODES.map((m) => [m.name, []]));
  const check = (m, r) => {
    if (r.wrong > 0) throw new Error(`${m.name}: ${r.wrong} replies named another destination than ${podIp(m)}:${m.port}`);
    if (r.connections === 0) throw new Error(`${m.name}: no connection completed (${r.errors} errors)`);
  };
  for (const m of MODES) check(m, run(m, 1)); // warm-up, and the destination check once per mode
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < MODES.length; k++) {
      const m = MODES[(round + k) % MODES.length]; // rotate the order
      const r = run(m, seconds);
      check(m, r);
      results.get(m.name).push(r);
    }
  }
  const counters = dp.pods()[0].counters;
  const divertedWanted = results.get('sklookup').reduce((s, r) => s + r.connections, 0);
  if (counters.diverted < divertedWanted) throw new Error(`sklookup: diverted ${counters.diverted} < ${divertedWanted} connections`);

  // the machine is noisy: each round's rate is compared with the baseline's rate of the same round
  const noneRates = results.get('none').map((r) => r.rate);
  printTable(
    `TCP connection rate into a pod, ${workers} client threads, ${rounds} rounds x ${seconds} s per mode (connect + 64 B each way + close)`,
    ['mode', 'path', 'conn/s median', 'conn/s best', 'vs none (median of rounds)', 'min..max', 'errors'],
    MODES.map((m) => {
      const rs = results.get(m.name);
      const ratios = rs.map((r, i) => r.rate / noneRates[i]);
      return [
        m.name,
        m.how,
        median(rs.map((r) => r.rate)),
        Math.max(...rs.map((r) => r.rate)),
        median(ratios),
        `${Math.min(...ratios).toFixed(2)}..${Math.max(...ratios).toFixed(2)}`,
        String(rs.reduce((s, r) => s + r.errors, 0)),
      ];
    }),
  );
  const conntrack = lab.trySh(iptablesPod, ['cat', '/proc/sys/net/netfilter/nf_conntrack_count']).stdout.trim();
  console.log(
    `sk_lookup counters: diverted ${counters.diverted}, passed ${counters.passed}; conntrack entries in the iptables pod: ${conntrack || 'n/a'}; ` +
      `load average ${load0.toFixed(1)} -> ${loadavg()[0].toFixed(1)}`,
  );

  // the program alone, per lookup (BPF_PROG_TEST_RUN), against an sk_lookup program that only passes
  empty = BpfObject.open(emptyObjectPath);
  empty.load();
  const programs = { empty: empty.program('mesh_empty_sk_lookup'), ours: dp.program };
  const cases = [
    ['mesh client -> pod:80 (diverted)', { remote: clientIp(sk), remotePort: 40000, local: podIp(sk), localPort: APP }],
    ['non-member -> pod:80 (passed)', { remote: '10.93.2.77', remotePort: 40000, local: podIp(sk), localPort: APP }],
    ['mesh client -> pod:15008 (skip port)', { remote: clientIp(sk), remotePort: 40000, local: podIp(sk), localPort: HBONE }],
  ];
  /** a test run; a signal (e.g. a child's SIGCHLD) interrupts long runs with EINTR: run again */
  const testRun = (program, context) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return program.testRun({ context, repeat: TEST_RUN_REPEAT });
      } catch (err) {
        if (err?.errno !== 'EINTR' || attempt === 10) throw err;
      }
    }
  };
  const lookupRows = cases.map(([name, c]) => {
    const context = skLookupContext(c);
    const best = {};
    let assigned = false;
    for (const [k, p] of Object.entries(programs)) {
      best[k] = Infinity;
      for (let r = 0; r < 3; r++) {
        const res = testRun(p, context);
        best[k] = Math.min(best[k], res.durationNs);
        if (k === 'ours') assigned = res.context.readBigUInt64LE(0) !== 0n; // the selected socket's cookie
      }
    }
    return [name, best.empty, best.ours, best.ours - best.empty, assigned ? 'listener' : 'none'];
  });
  printTable(
    `sk_lookup program per lookup (BPF_PROG_TEST_RUN, best of 3 x ${TEST_RUN_REPEAT} runs, ns), ${OTHER_MEMBERS + 2} mesh members`,
    ['lookup', 'empty program', 'skl_mesh', 'extra ns', 'socket selected'],
    lookupRows,
  );
  const cpus = availableParallelism();
  const perConnectionUs = (cpus / median(noneRates)) * 1e6; // CPU time per connection at the baseline rate, all CPUs busy
  console.log(
    `one connection at the baseline median rate: ~${perConnectionUs.toFixed(0)} us of CPU (${cpus} CPUs); ` +
      `the divert adds ${lookupRows[0][3].toFixed(0)} ns to each new connection's lookup`,
  );
} finally {
  try {
    empty?.close();
    if (iptablesPod) lab.trySh(iptablesPod, ['iptables', '-t', 'nat', '-D', ...REDIRECT_RULE]);
    dp?.close({ keepPinned: false });
  } finally {
    if (listenerCopy >= 0) closeSync(listenerCopy);
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true, force: true });
    await lab.destroy();
  }
}
