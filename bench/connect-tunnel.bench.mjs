// bench/connect-tunnel: seed 001's pod-to-pod path, connections per second and throughput, three
// ways in one run, in a lab of two nodes and two pods (netlab's buildTwoNodeLab):
//   direct   pod A -> pod B, no tunnel (the floor)
//   tunnel   plugin-connect-redirect's connect4 redirect to node A's @bpfsteer/tunnel, mutual TLS
//            HTTP/2 CONNECT to node B's tunnel, delivered to pod B (SO_ORIGINAL_DST through the
//            plugin's getsockopt program)
//   classic  iptables REDIRECT in pod A to a stunnel client there (the sidecar way), TLS to a stunnel
//            server on node B that connects to pod B — both from Debian (stunnel4)
// Connections: bench/conn-rate.mjs (connect, send, half-close, read the answer), 8 at a time.
// Throughput: iperf3, one stream. Also the cost of the connect-time hook itself for a connect it
// does not redirect: connections/s to a local listener from a process of the hooked cgroup against
// one outside it (BPF_PROG_TEST_RUN cannot run cgroup/connect4 programs: the kernel answers ENOTSUPP).
// Needs root, stunnel4, iperf3, the builds of netlab, plugin-connect-redirect and tunnel.
// Usage: node bench/connect-tunnel.bench.mjs [seconds per measure (3)]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildTwoNodeLab, makeTestCa, NetLab, spawnIn, untilLine } from '@bpfsteer/netlab';
import { ConnectRedirectDataplane, readEndpoint } from '@bpfsteer/plugin-connect-redirect';
import { createCgroup, removeCgroup } from '@bpfsteer/core-bpf';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { intArgs } from './int-args.mjs';
import { median } from './stats.mjs';
import { printTable } from './table.mjs';

const USAGE = 'usage: node bench/connect-tunnel.bench.mjs [seconds]';
const SECONDS = intArgs(USAGE)(2, 3, 'seconds', 1);
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

// pod B's servers, pod A's local one (for the hook's own cost)
await start([process.execPath, rate, 'server', '0.0.0.0', '80'], t.podB);
const iperf = spawnIn(lab.nsPath(t.podB), ['iperf3', '-s', '-p', '5201'], { stdio: 'ignore' });
children.push(iperf);
onCleanup(() => iperf.kill('SIGKILL'));
await start([process.execPath, rate, 'server', '127.0.0.1', '81'], t.podA);
await new Promise((r) => setTimeout(r, 300));

const results = {};
// --- direct, and the hook's cost on a connect it lets go
results.direct = { conns: connsPerSecond(t.podB4, 80, t.podA), gbit: gbitPerSecond(t.podB4) };

// --- tunnel
const dp = ConnectRedirectDataplane.open({ pinRoot: `/sys/fs/bpf/bpfsteer-bench-ctb-${suffix}` });
onCleanup(() => dp.close());
dp.load();
dp.seed();
const target = readEndpoint(`${t.nodeA4}:18000`, 4);
dp.configure({ ipv4: target.value }, { cgroup: tunnelCg });
dp.attach([podCg], [tunnelCg]);
dp.setRules([{ destination: t.podBNet4, ports: ['80', '5201'] }]);
// the programs run for pod A's cgroup only: a client outside it is the baseline, measured in turns
const unhookedRuns = [];
const hookedRuns = [];
for (let i = 0; i < 3; i++) {
  unhookedRuns.push(connsPerSecond('127.0.0.1', 81, t.podA));
  hookedRuns.push(connsPerSecond('127.0.0.1', 81, t.podA, podCg));
}
const unhooked = median(unhookedRuns);
const hooked = median(hookedRuns);
const ca = makeTestCa(dir, 'bench');
const tls = (node, allowed) => ({ ...ca.issue(node, { uri: `spiffe://bench/${node}` }), allowedIdentities: [`spiffe://bench/${allowed}`] });
await start([process.execPath, runner, JSON.stringify({ outbound: [], inbound: ['[::]:18001'], tls: tls('node-b', 'node-a') })], t.nodeB);
await start(
  [process.execPath, runner, JSON.stringify({ outbound: [`${t.nodeA4}:18000`], inbound: [], peers: [{ destination: t.podBNet4, address: `${t.wire.b4}:18001` }], tls: tls('node-a', 'node-b') })],
  t.nodeA,
  tunnelCg,
);
results.tunnel = { conns: connsPerSecond(t.podB4, 80, t.podA, podCg), gbit: gbitPerSecond(t.podB4, podCg) };
dp.setRules([]);

// --- classic: iptables REDIRECT in pod A to a stunnel client there, stunnel server on node B
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
results.classic = { conns: connsPerSecond(t.podB4, 80, t.podA), gbit: gbitPerSecond(t.podB4) };

printTable(
  `pod A -> pod B over two nodes, ${SECONDS} s per measure, ${CONCURRENCY} connections at a time (connections/s), one iperf3 stream (Gbit/s)`,
  ['path', 'connections/s', 'vs classic', 'Gbit/s', 'vs classic'],
  ['direct', 'tunnel', 'classic'].map((k) => [k, results[k].conns, results[k].conns / results.classic.conns, results[k].gbit, results[k].gbit / results.classic.gbit]),
);
printTable(
  'the connect-time hooks on a connect they do not redirect (local listener, rules miss)',
  ['client (median of 3 turns)', 'connections/s', 'µs per connection', 'ratio'],
  [
    ['outside the hooked cgroup', unhooked, 1e6 / unhooked, 1],
    ['in the hooked cgroup', hooked, 1e6 / hooked, unhooked / hooked],
  ],
);
await stopChildren();
runCleanup();
