// bench/tproxy-traffic: TCP connection rate and throughput through a router netns that intercepts
// 10.99.0.0/24 for a local 127.0.0.1 listener, in the same run:
//   none      no interception: the server listens on 10.99.0.1 itself (`ip route add local
//             10.99.0.0/24 dev lo` in the router), no program, no iptables (the baseline)
//   bpfsteer  the tc-tproxy plugin's dataplane on the router's veth, rule 10.99.0.0/24 tcp <port> ->
//             divert to the 127.0.0.1 listener (same local route); default interface settings (drop
//             and divert events on, drained by this process as the agent drains them), and once with
//             the events off
//   iptables  mangle PREROUTING -j TPROXY --on-ip 127.0.0.1 --on-port <listener> --tproxy-mark
//             0x1/0x1, `ip rule add fwmark 0x1 lookup 100`, `ip route add local 0.0.0.0/0 dev lo
//             table 100`; the listener has IP_TRANSPARENT
// with 1 rule and with 10,000 (9,999 non-matching /32 rules for other destinations before the
// matching one; the same rule set for bpfsteer and iptables).
// Connection rate: bench/c/tcp_rr.c (client netns: N threads of connect + send 64 B + recv 64 B +
// close; router: the same binary as a server). Throughput: iperf3, one TCP stream, whole seconds.
// The 127.0.0.1 listeners have IP_TRANSPARENT, as a ziti router's have (iperf3 gets it through
// bench/c/transparent_preload.c); iptables TPROXY needs it, the bpfsteer divert does not.
// Needs root, iperf3, clang, `make -C bpf` and the builds of netlab, core-bpf and plugin-tc-tproxy.
// Each round runs every configuration (in a rotated order) on a fresh lab; the table shows the best
// and the median round (the machine is shared and noisy: the best is the least disturbed).
// Usage: node bench/tproxy-traffic.bench.mjs [seconds per measurement (1.5)] [rounds (4)] [client workers (4)]
// (TPROXY_BENCH_MODES=bpfsteer or =iptables runs the baseline and that mode only)
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NetLab } from '@bpfsteer/netlab';
import { buildC } from './build-c.mjs';
import { onCleanup } from './cleanup.mjs';
import { printTable } from './table.mjs';
import { startTproxyDataplane, tproxyRule } from './tproxy-dataplane.mjs';

const seconds = Number(process.argv[2] ?? 1.5);
const rounds = Number(process.argv[3] ?? 4);
const workers = Number(process.argv[4] ?? 4);
const SERVER_THREADS = 4 * workers;

const VIP = '10.99.0.1';
const VIP_NET = '10.99.0.0/24';
const SERVICE = { rr: 8080, perf: 5201 }; // the ports clients connect to
const LISTENER = { rr: 15001, perf: 15002 }; // the 127.0.0.1 listeners behind the interception

const tcpRr = buildC('tcp_rr', { libs: ['-lpthread'] });
const preload = buildC('transparent_preload', { shared: true, libs: ['-ldl'] });

/** Runs a command (in a netns) synchronously; throws with its stderr on failure. */
function sh(lab, netns, argv, { input, timeoutMs = 30_000 } = {}) {
  const full = [...lab.nsenter(netns), ...argv];
  const r = spawnSync(full[0], full.slice(1), { input, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exited ${r.status ?? r.signal}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/**
 * Runs a client in a netns without blocking the event loop (the bpfsteer dataplane in this process
 * keeps draining its event ring meanwhile, as the agent would); resolves with its stdout.
 */
function shAsync(lab, netns, argv, timeoutMs) {
  const full = [...lab.nsenter(netns), ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${argv.join(' ')}: exited ${code ?? signal}: ${err || out}`));
    });
  });
}

/** The rule set for `port`: n-1 non-matching /32 destinations, then 10.99.0.0/24. */
function destinations(n) {
  const out = [];
  for (let i = 0; i < n - 1; i++) out.push(`10.200.${i >> 8}.${i & 255}/32`);
  out.push(VIP_NET);
  return out;
}

function iptablesRules(n, port, listener) {
  const lines = ['*mangle'];
  for (const d of destinations(n)) {
    lines.push(`-A PREROUTING -p tcp -d ${d} --dport ${port} -j TPROXY --on-ip 127.0.0.1 --on-port ${listener} --tproxy-mark 0x1/0x1`);
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Builds client netns -> router netns; returns what the modes need. */
function buildLab() {
  const lab = NetLab.create('tpt');
  const client = lab.addNetns('c');
  const router = lab.addNetns('r');
  lab.addVeth({ netns: client, ifname: 'cli0', addresses: ['10.0.0.2/24'] }, { netns: router, ifname: 'rtr0', addresses: ['10.0.0.1/24'] });
  lab.ip(client, 'route', 'add', VIP_NET, 'via', '10.0.0.1');
  // many short connections from one client: reuse TIME_WAIT ports, use the whole port range
  lab.sysctl(client, 'net.ipv4.tcp_tw_reuse', 1);
  lab.sysctl(client, 'net.ipv4.ip_local_port_range', '1024 65535');
  // a static neighbour entry each way: no ARP in the measured path
  const mac = (ns, dev) => lab.ip(ns, '-o', 'link', 'show', 'dev', dev).match(/link\/ether ([0-9a-f:]+)/)[1];
  lab.ip(client, 'neigh', 'replace', '10.0.0.1', 'lladdr', mac(router, 'rtr0'), 'dev', 'cli0', 'nud', 'permanent');
  lab.ip(router, 'neigh', 'replace', '10.0.0.2', 'lladdr', mac(client, 'cli0'), 'dev', 'rtr0', 'nud', 'permanent');
  return { lab, client, router };
}

/** Sets a mode up in the router; returns { install(n, port, listener), close() } and the server address. */
function setupMode(mode, { lab, router }, { events = true } = {}) {
  if (mode === 'none') {
    lab.ip(router, 'route', 'add', 'local', VIP_NET, 'dev', 'lo');
    return { serverHost: VIP, transparent: false, install() {}, close() {} };
  }
  if (mode === 'iptables') {
    lab.ip(router, 'rule', 'add', 'fwmark', '0x1', 'lookup', '100');
    lab.ip(router, 'route', 'add', 'local', '0.0.0.0/0', 'dev', 'lo', 'table', '100');
    return {
      serverHost: '127.0.0.1',
      transparent: true,
      install: (n, port, listener) => sh(lab, router, ['iptables-restore'], { input: iptablesRules(n, port, listener) }),
      close() {}, // the rules go with the netns
    };
  }
  lab.ip(router, 'route', 'add', 'local', VIP_NET, 'dev', 'lo');
  const pinRoot = `/sys/fs/bpf/${lab.id}`;
  const dp = startTproxyDataplane({ netns: router, interfaces: ['rtr0'], pinRoot, events });
  return {
    serverHost: '127.0.0.1',
    transparent: true,
    install: (n, port, listener) => dp.setRules(destinations(n).map((d) => tproxyRule(d, port, listener))),
    close: () => dp.close(), // detaches, removes the pins and pinRoot
  };
}

/** Starts a process in a netns and waits until it printed `ready` (tcp_rr) or listened (iperf3). */
async function startServer(lab, netns, argv, { env, readyLine }) {
  const full = env ? ['env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv] : argv;
  const child = lab.spawn(netns, full);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv[0]} not ready: ${stderr}`)), 10_000);
    lines.on('line', (line) => {
      if (readyLine.test(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
  return {
    async stop() {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
  };
}

async function connectionRate(ctx, mode) {
  const port = mode.serverHost === VIP ? SERVICE.rr : LISTENER.rr;
  mode.install(ctx.rules, SERVICE.rr, LISTENER.rr);
  const server = await startServer(
    ctx.lab,
    ctx.router,
    [tcpRr, 'server', mode.serverHost, String(port), String(SERVER_THREADS), ...(mode.transparent ? ['transparent'] : [])],
    { readyLine: /^ready / },
  );
  try {
    const argv = [tcpRr, 'client', VIP, String(SERVICE.rr), String(workers), String(seconds)];
    const out = await shAsync(ctx.lab, ctx.client, argv, (seconds + 20) * 1000);
    return JSON.parse(out.trim());
  } finally {
    await server.stop();
  }
}

async function throughput(ctx, mode) {
  const port = mode.serverHost === VIP ? SERVICE.perf : LISTENER.perf;
  mode.install(ctx.rules, SERVICE.perf, LISTENER.perf);
  const server = await startServer(ctx.lab, ctx.router, ['iperf3', '-s', '-B', mode.serverHost, '-p', String(port), '--forceflush'], {
    env: mode.transparent ? { LD_PRELOAD: preload } : undefined,
    readyLine: /Server listening/,
  });
  try {
    const argv = ['iperf3', '-c', VIP, '-p', String(SERVICE.perf), '-t', String(Math.max(1, Math.floor(seconds))), '-J']; // whole seconds
    const out = await shAsync(ctx.lab, ctx.client, argv, (seconds + 20) * 1000);
    return JSON.parse(out).end.sum_received.bits_per_second / 1e9;
  } finally {
    await server.stop();
  }
}

const onlyModes = process.env.TPROXY_BENCH_MODES?.split(',');
const configs = [
  { mode: 'none', rules: 0 },
  { mode: 'bpfsteer', rules: 1 },
  { mode: 'iptables', rules: 1 },
  { mode: 'bpfsteer', rules: 10_000 },
  { mode: 'bpfsteer', rules: 10_000, events: false },
  { mode: 'iptables', rules: 10_000 },
].filter((c) => c.mode === 'none' || !onlyModes || onlyModes.includes(c.mode));
const labelOf = (c) => `${c.mode}${c.events === false ? ' (events off)' : ''}/${c.rules}`;
const results = new Map(configs.map((c) => [labelOf(c), []])); // label -> [{ rate, errors, gbit }]
for (let round = 0; round < rounds; round++) {
  const order = configs.map((_, i) => configs[(i + round) % configs.length]);
  for (const config of order) {
    const label = labelOf(config);
    let labCtx;
    let mode;
    const undo = onCleanup(() => {
      try {
        mode?.close();
      } finally {
        labCtx?.lab.destroySync();
      }
    });
    try {
      labCtx = buildLab();
      mode = setupMode(config.mode, labCtx, config);
      const ctx = { ...labCtx, rules: config.rules };
      const rr = await connectionRate(ctx, mode);
      const gbit = await throughput(ctx, mode);
      results.get(label).push({ rate: rr.rate, errors: rr.errors, gbit });
      console.error(`round ${round + 1} ${label}: ${rr.rate.toFixed(0)} conn/s (${rr.errors} errors), ${gbit.toFixed(2)} Gbit/s`);
    } finally {
      undo();
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const summary = new Map(
  [...results].map(([label, rs]) => [
    label,
    {
      rate: Math.max(...rs.map((r) => r.rate)),
      rateMedian: median(rs.map((r) => r.rate)),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      gbit: Math.max(...rs.map((r) => r.gbit)),
      gbitMedian: median(rs.map((r) => r.gbit)),
    },
  ]),
);
const base = summary.get('none/0');
printTable(
  `TCP through the router netns, ${rounds} rounds x ${seconds} s (${workers} client workers; conn = connect+send+recv+close); best and median round`,
  ['mode', 'rules', 'conn/s best', 'median', 'errors', 'best vs none', 'median vs none', 'Gbit/s best', 'median', 'best vs none'],
  configs.map((c) => {
    const b = summary.get(labelOf(c));
    return [
      labelOf(c).split('/')[0],
      c.rules === 0 ? '-' : String(c.rules),
      b.rate,
      b.rateMedian,
      String(b.errors),
      b.rate / base.rate,
      b.rateMedian / base.rateMedian,
      b.gbit,
      b.gbitMedian,
      b.gbit / base.gbit,
    ];
  }),
);
