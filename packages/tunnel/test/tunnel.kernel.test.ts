/**
 * Seed 001's transparent mTLS tunnel end to end, in a lab of two "nodes" (netns) each with a "pod"
 * (a netns of its own, its processes in a cgroup of their own), nodes linked by a veth "wire":
 *
 *   pod A (10.61.1.2) --veth-- node A ==wire== node B --veth-- pod B (10.61.2.2:80)
 *
 * A TCP client in pod A connecting to pod B's :80 (IPv4 and IPv6) is redirected at connect time by
 * plugin-connect-redirect to node A's tunnel (10.61.1.1:18000), which reads the original destination
 * with getsockopt(SO_ORIGINAL_DST) (the plugin's getsockopt program on the tunnel's cgroup) and
 * carries it over mutual TLS (HTTP/2 CONNECT) to node B's tunnel on :18001, which connects to pod
 * B:80: pod B's server sees the connection coming from node B. On the wire there is only TLS on
 * 18001 (a capture holds no byte of the payload). Excluded destinations go direct. The tunnels' own
 * connections are not redirected. Each tunnel is a process of its own in its node's netns.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataplanePlugin, DesiredState } from '@bpfsteer/agent-kernel';
import { createCgroup, removeCgroup } from '@bpfsteer/core-bpf';
import { NetLab, tcpClient } from '@bpfsteer/netlab';
import { connectRedirectPlugin } from '@bpfsteer/plugin-connect-redirect';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa } from './support/certificates.js';

/** pod B's application: answers who connected to it ("peer <address>") and what it got */
const SERVER = String.raw`
import socket, threading
def serve(fam, host):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, 80))
    s.listen(64)
    while True:
        c, peer = s.accept()
        data = b''
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.sendall(('peer %s got %s' % (peer[0], data.decode())).encode())
        c.close()
for fam, host in ((socket.AF_INET, '0.0.0.0'), (socket.AF_INET6, '::')):
    threading.Thread(target=serve, args=(fam, host), daemon=True).start()
print('ready', flush=True)
threading.Event().wait()
`;

const runner = fileURLToPath(new URL('./support/run-tunnel.mjs', import.meta.url));
const ID = (n: string) => `spiffe://cluster.local/ns/bpfsteer/sa/${n}`;

describe('seed 001: connect redirect + mTLS tunnel between two nodes', () => {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const lab = NetLab.create('tun');
  const dir = mkdtempSync(join(tmpdir(), `bpfsteer-tunnel-kt-${suffix}-`));
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tun-${suffix}`;
  const children: ChildProcess[] = [];
  const cgroups: string[] = [];
  let nodeA = '';
  let nodeB = '';
  let podA = '';
  let podB = '';
  let podCg = '';
  let plugin: DataplanePlugin | undefined;

  const POD_B4 = '10.61.2.2';
  const POD_B6 = 'fd61:2::2';
  const EXCLUDED = '10.61.2.3';

  /** spawns `argv` in `netns` (and `cgroup`), resolves once it printed "ready" */
  const start = (argv: string[], netns: string, cgroup?: string): Promise<{ child: ChildProcess; line: string }> => {
    const inNs = ['nsenter', `--net=${lab.nsPath(netns)}`, '--', ...argv];
    const child = cgroup
      ? spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, ...inNs], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(inNs[0]!, inNs.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        const line = d.toString().split('\n').find((l) => l.startsWith('ready'));
        if (line) resolve({ child, line });
      });
      child.once('exit', (code) => reject(new Error(`${argv.join(' ').slice(0, 80)} exited ${code}: ${err}`)));
    });
  };
  const client = (host: string, payload = 'hi') => tcpClient({ netns: lab.nsPath(podA), host, port: 80, cgroup: podCg, payload });

  beforeAll(async () => {
    nodeA = lab.addNetns('na');
    nodeB = lab.addNetns('nb');
    podA = lab.addNetns('pa');
    podB = lab.addNetns('pb');
    lab.addVeth({ netns: nodeA, ifname: 'wire', addresses: ['192.168.61.1/24', 'fd61::1/64'] }, { netns: nodeB, ifname: 'wire', addresses: ['192.168.61.2/24', 'fd61::2/64'] });
    lab.addVeth({ netns: podA, ifname: 'eth0', addresses: ['10.61.1.2/24', 'fd61:1::2/64'] }, { netns: nodeA, ifname: 'pod', addresses: ['10.61.1.1/24', 'fd61:1::1/64'] });
    lab.addVeth({ netns: podB, ifname: 'eth0', addresses: [`${POD_B4}/24`, `${EXCLUDED}/24`, `${POD_B6}/64`] }, { netns: nodeB, ifname: 'pod', addresses: ['10.61.2.1/24', 'fd61:2::1/64'] });
    for (const [pod, gw4, gw6] of [[podA, '10.61.1.1', 'fd61:1::1'], [podB, '10.61.2.1', 'fd61:2::1']] as const) {
      lab.ip(pod, 'route', 'add', 'default', 'via', gw4);
      lab.ip(pod, '-6', 'route', 'add', 'default', 'via', gw6);
    }
    lab.ip(nodeA, 'route', 'add', '10.61.2.0/24', 'via', '192.168.61.2');
    lab.ip(nodeA, '-6', 'route', 'add', 'fd61:2::/64', 'via', 'fd61::2');
    lab.ip(nodeB, 'route', 'add', '10.61.1.0/24', 'via', '192.168.61.1');
    lab.ip(nodeB, '-6', 'route', 'add', 'fd61:1::/64', 'via', 'fd61::1');
    for (const node of [nodeA, nodeB]) {
      lab.sysctl(node, 'net.ipv4.ip_forward', 1);
      lab.sysctl(node, 'net.ipv6.conf.all.forwarding', 1);
    }
    // the cgroups: pod A's processes, node A's tunnel
    podCg = createCgroup(`bpfsteer-test-tun-${suffix}-pod`);
    const tunnelCg = createCgroup(`bpfsteer-test-tun-${suffix}-tunnel`);
    cgroups.push(podCg, tunnelCg);

    // the redirect: pod A's connects to pod B's :80 go to node A's tunnel, as seen from pod A
    const parsed = connectRedirectPlugin.configSchema.parse({
      cgroups: [podCg],
      proxyCgroups: [tunnelCg],
      target: { ipv4: '10.61.1.1:18000', ipv6: '[fd61:1::1]:18000' },
      bypass: { cgroup: tunnelCg },
    });
    plugin = connectRedirectPlugin.create(parsed, { logger: pino({ level: 'silent' }), pinRoot, signal: new AbortController().signal });
    await plugin.open();
    await plugin.load();
    await plugin.seed();
    await plugin.attach();
    const rules: DesiredState = new Map([
      [
        'connect.redirect',
        [
          { kind: 'connect.redirect', destination: '10.61.2.0/24', ports: ['80'] },
          { kind: 'connect.redirect', destination: EXCLUDED, direct: true },
          { kind: 'connect.redirect', destination: 'fd61:2::/64', ports: ['80'] },
        ],
      ],
    ]);
    await plugin.apply(rules);

    const ca = makeCa(dir, 'lab');
    const tls = (node: string, allowed: string) => ({ ...ca.issue(node, ID(node)), allowedIdentities: [ID(allowed)] });
    await start(['python3', '-c', SERVER], podB);
    await start(
      [process.execPath, runner, JSON.stringify({ outbound: [], inbound: ['[::]:18001'], tls: tls('node-b', 'node-a') })],
      nodeB,
    );
    await start(
      [
        process.execPath,
        runner,
        JSON.stringify({
          outbound: ['10.61.1.1:18000', '[fd61:1::1]:18000'],
          inbound: [],
          peers: [
            { destination: '10.61.2.0/24', address: '192.168.61.2:18001' },
            { destination: 'fd61:2::/64', address: '[fd61::2]:18001' },
          ],
          tls: tls('node-a', 'node-b'),
        }),
      ],
      nodeA,
      tunnelCg,
    );
  }, 60_000);

  afterAll(async () => {
    try {
      for (const c of children) c.kill('SIGKILL');
      await plugin?.close({ keepPinned: false });
    } finally {
      await lab.destroy();
      for (const cg of cgroups) if (existsSync(cg)) removeCgroup(cg);
      rmSync(pinRoot, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pod A reaches pod B's :80 through the tunnel (IPv4, IPv6): pod B's server sees node B connecting", async () => {
    expect(await client(POD_B4)).toMatchObject({ ok: true, reply: 'peer 10.61.2.1 got hi' });
    expect(await client(POD_B6)).toMatchObject({ ok: true, reply: 'peer fd61:2::1 got hi' });
    const stats = (plugin!.status().details as { stats: Record<string, number> }).stats;
    expect(stats).toMatchObject({ redirected: 2, origdstAnswered: 2, origdstUnknown: 0 });
  });

  it('an excluded destination goes direct: pod B sees pod A itself', async () => {
    expect(await client(EXCLUDED)).toMatchObject({ ok: true, reply: 'peer 10.61.1.2 got hi' });
  });

  it('on the wire between the nodes: only TLS on 18001, not a byte of the payload', async () => {
    const capture = join(dir, 'wire.pcap');
    const dump = spawn('nsenter', [`--net=${lab.nsPath(nodeA)}`, '--', 'tcpdump', '-Z', 'root', '--immediate-mode', '-i', 'wire', '-U', '-w', capture, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(dump);
    await new Promise<void>((resolve) => dump.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
    const secret = `secret-${randomBytes(8).toString('hex')}`;
    expect(await client(POD_B4, secret)).toMatchObject({ ok: true, reply: `peer 10.61.2.1 got ${secret}` });
    await new Promise((r) => setTimeout(r, 300));
    dump.kill('SIGINT');
    await new Promise((r) => dump.once('exit', r));
    const read = spawnSync('tcpdump', ['-nn', '-r', capture, '-q'], { encoding: 'utf8' });
    const ports = read.stdout.trim().split('\n');
    expect(read.status, read.stderr).toBe(0);
    expect(ports.length, ports.join('\n')).toBeGreaterThan(3);
    expect(ports.every((line) => /\.18001[ :]/.test(line)), ports.join('\n')).toBe(true);
    expect(readFileSync(capture).includes(Buffer.from(secret))).toBe(false);
  });
});
