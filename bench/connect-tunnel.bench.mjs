// bench/connect-tunnel: seed 001's pod-to-pod path, connections per second and throughput, three
// ways in one run, in a lab of two nodes and two pods (netlab's buildTwoNodeLab):
//   direct   pod A -> pod B, no tunnel (the floor)
//   tunnel   plugin-connect-redirect's connect4 redirect to node A's @bpfsteer/tunnel, mutual TLS
//            HTTP/2 CONNECT to node B's tunnel, delivered to pod B (SO_ORIGINAL_DST through the
//            plugin's getsockopt program)
//   classic  iptables REDIRECT in pod A to a stunnel client there (the sidecar way), TLS to a stunnel
//            server on node B that connects to pod B — both from Debian (stunnel4)
// Connections: bench/conn-rate.mjs (connect, send, half-close, read the answer), 8 at a time.
// Throughput: iperf3, one stream. Also the cost of the connect-time hooks themselves for a connect
// they do not redirect: connections/s to a local listener from a process of the hooked cgroup against
// one in a cgroup with an empty connect4 program (bpf/bench_empty_connect.bpf.c) and one in a cgroup
// without programs (BPF_PROG_TEST_RUN cannot run cgroup/connect4 programs: the kernel answers ENOTSUPP).
// Needs root, stunnel4, iperf3, the builds of netlab, plugin-connect-redirect and tunnel.
// The three paths exist side by side and are measured in turns, ROUNDS times (the medians and ranges
// shown): a machine whose speed drifts during the run moves all three alike.
// Usage: node bench/connect-tunnel.bench.mjs [seconds per measure (3)] [rounds (3)]  (BENCH_SAMPLES=1: every sample too)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildTwoNodeLab, makeTestCa, NetLab, spawnIn, untilLine } from '@bpfsteer/netlab';
import { ConnectRedirectDataplane, readEndpoint } from '@bpfsteer/plugin-connect-redirect';
import { attachCgroup, BpfObject, createCgroup, removeCgroup } from '@bpfsteer/core-bpf';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { intArgs } from './int-args.mjs';
import { median } from './stats.mjs';
import { printTable } from './table.mjs';

const USAGE = 'usage: node bench/connect-tunnel.bench.mjs [seconds per measure (3)] [rounds (3)]';
const SECONDS = intArgs(USAGE)(2, 3, 'seconds', 1);
const ROUNDS = intArgs(USAGE)(3, 3, 'rounds', 1);
const CONCURRENCY = 8;
const rate = fileURLToPath(new URL('conn-rate.mjs', import.meta.url));
const runner = fileURLToPath(new URL('../packages/tunnel/test/support/run-tunnel.mjs', import.meta.url));

const lab = NetLab.create('ctb');
onCleanup(() => lab.destroySync());
const dir = mkdtempSync('/tmp/bpfsteer-ctb-');
onCleanup(() => rmSync(dir, { recursive: true, force: true }));
const t = buildTwoNodeLab(lab, 63);
const suffix = `${process.pid}`;
/** removes a cgroup once its processes (killed just before, by the cleanup steps after this one) are gone */
const removeWhenEmpty = (cg) => {
  for (let i = 0; i < 100 && readFileSync(`${cg}/cgroup.procs`, 'utf8').trim() !== ''; i++) execFileSync('sleep', ['0.05']);
  removeCgroup(cg);
};
const podCg = createCgroup(`bpfsteer-bench-ctb-${suffix}-pod`);
onCleanup(() => removeWhenEmpty(podCg));
const tunnelCg = createCgroup(`bpfsteer-bench-ctb-${suffix}-tunnel`);
onCleanup(() => removeWhenEmpty(tunnelCg));
/** the baseline of the hook's cost: a cgroup with an empty connect4 program (bpf/bench_empty_connect.bpf.c) */
const emptyCg = createCgroup(`bpfsteer-bench-ctb-${suffix}-empty`);
onCleanup(() => removeWhenEmpty(emptyCg));

/** every process started here: stopped (and reaped: a zombie still holds its cgroup) before the cleanup */
const children = [];
const stopChildren = () =>
  Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r).kill('SIGKILL')))));

/** Spawns argv in netns (and cgroup); resolves once it printed `ready`. */
async function start(argv, netns, cgroup) {
  const child = spawnIn(lab.nsPath(netns), argv, cgroup ? { cgroup } : {});
  children.push(child);
  onCleanup(() => child.exitCode === null && child.kill('SIGKILL'));
  await untilLine(child, 'ready');
  return child;
}

/** Runs argv to its end in netns (and cgroup); its stdout. */
function run(argv, netns, cgroup) {
  const inNs = ['nsenter', `--net=${lab.nsPath(netns)}`, '--', ...argv];
  return cgroup ? execFileSync('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...inNs], { encoding: 'utf8' }) : execFileSync(inNs[0], inNs.slice(1), { encoding: 'utf8' });
}

const connsPerSecond = (host, port, netns, cgroup) => {
  const r = JSON.parse(run([process.execPath, rate, 'client', host, String(port), String(SECONDS), String(CONCURRENCY)], netns, cgroup));
  if (r.errors > 0) throw new Error(`${r.errors} connections failed to ${host}:${port}`);
  return r.conns / r.seconds;
};
const gbitPerSecond = (host, cgroup) => {
  const r = JSON.parse(run(['iperf3', '-c', host, '-p', '5201', '-t', String(SECONDS), '-J'], t.podA, cgroup));
  return r.end.sum_received.bits_per_second / 1e9;
};

// Each measure of connections/s leaves some 15,000 connections in TIME_WAIT towards one address:
// with rounds, the ephemeral ports (32768-60999) would run out and connects slow down (seen: 200/s).
// TIME_WAIT ports are reused for outgoing connects (tcp_tw_reuse 1, not only on loopback), in every netns.
for (const netns of [t.podA, t.nodeA, t.nodeB, t.podB]) {
  run(['sysctl', '-qw', 'net.ipv4.tcp_tw_reuse=1'], netns);
}

// pod B's servers, pod A's local one (for the hook's own cost)
await start([process.execPath, rate, 'server', '0.0.0.0', '80'], t.podB);
const iperf = spawnIn(lab.nsPath(t.podB), ['iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
children.push(iperf);
onCleanup(() => iperf.kill('SIGKILL'));
await start([process.execPath, rate, 'server', '127.0.0.1', '81'], t.podA);
await new Promise((r) => setTimeout(r, 300));

// --- the hook's own cost: the programs run for pod A's cgroup only, so a client outside it is the
// baseline, measured in turns (before any rule, tunnel or iptables rule exists)
const dp = ConnectRedirectDataplane.open({ pinRoot: `/sys/fs/bpf/bpfsteer-bench-ctb-${suffix}` });
onCleanup(() => dp.close());
dp.load();
dp.seed();
const target = readEndpoint(`${t.nodeA4}:18000`, 4);
dp.configure({ ipv4: target.value }, { cgroup: tunnelCg });
dp.attach([podCg], [tunnelCg]);
dp.setRules([{ destination: t.podBNet4, ports: ['80', '5201'] }]);
const empty = BpfObject.open(fileURLToPath(new URL('../bpf/build/bench_empty_connect.bpf.o', import.meta.url)));
onCleanup(() => empty.close());
empty.load();
const emptyLink = attachCgroup(empty.program('bench_empty_connect4'), { cgroup: emptyCg, attachType: 'connect4' });
onCleanup(() => emptyLink.detach());
const hookRuns = { none: [], empty: [], ours: [] };
for (let i = 0; i < 3; i++) {
  hookRuns.none.push(connsPerSecond('127.0.0.1', 81, t.podA));
  hookRuns.empty.push(connsPerSecond('127.0.0.1', 81, t.podA, emptyCg));
  hookRuns.ours.push(connsPerSecond('127.0.0.1', 81, t.podA, podCg));
}
const hooks = Object.fromEntries(Object.entries(hookRuns).map(([k, v]) => [k, median(v)]));

// --- the three paths side by side, so that they can be measured in turns:
//   tunnel   a client in pod A's cgroup to pod B: the connect4 redirect, the two tunnels
//   classic  a client outside that cgroup to the same address: iptables REDIRECT, the two stunnels
//   direct   a client outside that cgroup to pod B's other address: neither rule matches it
const ca = makeTestCa(dir, 'bench');
const tls = (node, allowed) => ({ ...ca.issue(node, { uri: `spiffe://bench/${node}` }), allowedIdentities: [`spiffe://bench/${allowed}`] });
await start([process.execPath, runner, JSON.stringify({ outbound: [], inbound: ['[::]:18001'], tls: tls('node-b', 'node-a') })], t.nodeB);
await start(
  [process.execPath, runner, JSON.stringify({ outbound: [`${t.nodeA4}:18000`], inbound: [], peers: [{ destination: t.podBNet4, address: `${t.wire.b4}:18001` }], tls: tls('node-a', 'node-b') })],
  t.nodeA,
  tunnelCg,
);
const stunnel = (name, netns, services) => {
  const conf = `${dir}/${name}.conf`;
  const files = ca.issue(`stunnel-${name}`, { uri: `spiffe://bench/stunnel-${name}` });
  writeFileSync(
    conf,
    // TCP_NODELAY on both sides, as the tunnel's sockets have it (Node's default): without it stunnel
    // waits for delayed ACKs on each small exchange
    [`foreground = yes`, `pid =`, 'socket = l:TCP_NODELAY=1', 'socket = r:TCP_NODELAY=1', `cert = ${files.certFile}`, `key = ${files.keyFile}`, `CAfile = ${files.caFile}`, `verifyChain = yes`, `requireCert = yes`, ...services].join('\n') + '\n',
  );
  const child = spawnIn(lab.nsPath(netns), ['stunnel4', conf], { stdio: 'ignore' });
  children.push(child);
  onCleanup(() => child.kill('SIGKILL'));
};
stunnel('server', t.nodeB, ['[http]', 'accept = 18100', `connect = ${t.podB4}:80`, '[iperf]', 'accept = 18101', `connect = ${t.podB4}:5201`]);
stunnel('client', t.podA, ['[http]', 'client = yes', 'accept = 127.0.0.1:18000', `connect = ${t.wire.b4}:18100`, '[iperf]', 'client = yes', 'accept = 127.0.0.1:18001', `connect = ${t.wire.b4}:18101`]);
for (const [port, to] of [['80', '18000'], ['5201', '18001']]) {
  run(['iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', t.podB4, '--dport', port, '-j', 'REDIRECT', '--to-ports', to], t.podA);
}
await new Promise((r) => setTimeout(r, 500));

const paths = {
  direct: { host: t.podBOther4, cgroup: undefined },
  tunnel: { host: t.podB4, cgroup: podCg },
  classic: { host: t.podB4, cgroup: undefined },
};
const samples = Object.fromEntries(Object.keys(paths).map((k) => [k, { conns: [], gbit: [] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [k, p] of Object.entries(paths)) samples[k].conns.push(connsPerSecond(p.host, 80, t.podA, p.cgroup));
  for (const [k, p] of Object.entries(paths)) samples[k].gbit.push(gbitPerSecond(p.host, p.cgroup));
}
const range = (xs) => `${Math.min(...xs).toFixed(xs[0] < 10 ? 2 : 0)}-${Math.max(...xs).toFixed(xs[0] < 10 ? 2 : 0)}`;
if (process.env.BENCH_SAMPLES) console.log(JSON.stringify(samples));
const results = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { conns: median(v.conns), gbit: median(v.gbit), connsRange: range(v.conns), gbitRange: range(v.gbit) }]));

printTable(
  `pod A -> pod B over two nodes, ${SECONDS} s per measure, ${ROUNDS} rounds of the three paths in turn (median, range); ${CONCURRENCY} connections at a time (connections/s), one iperf3 stream (Gbit/s)`,
  ['path', 'connections/s', 'range', 'vs classic', 'Gbit/s', 'range', 'vs classic'],
  ['direct', 'tunnel', 'classic'].map((k) => [k, results[k].conns, results[k].connsRange, results[k].conns / results.classic.conns, results[k].gbit, results[k].gbitRange, results[k].gbit / results.classic.gbit]),
);
printTable(
  'the connect-time hooks on a connect they do not redirect (local listener, rules miss)',
  ['client (median of 3 turns)', 'connections/s', 'µs per connection', 'vs empty program'],
  [
    ['in a cgroup without programs', hooks.none, 1e6 / hooks.none, hooks.empty / hooks.none],
    ['with an empty connect4 program', hooks.empty, 1e6 / hooks.empty, 1],
    ['with the plugin\'s programs', hooks.ours, 1e6 / hooks.ours, hooks.empty / hooks.ours],
  ],
);
await stopChildren();
runCleanup();
