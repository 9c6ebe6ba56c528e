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
import { type ChildProcess, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataplanePlugin, DesiredState } from '@bpfsteer/agent-kernel';
import { createCgroup } from '@bpfsteer/core-bpf';
import { buildTwoNodeLab, makeTestCa, NetLab, removeOwnCgroup, spawnIn, startPeerServer, tcpClient, type TwoNodeLab, untilLine } from '@bpfsteer/netlab';
import { connectRedirectPlugin } from '@bpfsteer/plugin-connect-redirect';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const runner = fileURLToPath(new URL('./support/run-tunnel.mjs', import.meta.url));
const ID = (n: string) => `spiffe://cluster.local/ns/bpfsteer/sa/${n}`;

describe('seed 001: connect redirect + mTLS tunnel between two nodes', () => {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const lab = NetLab.create('tun');
  const dir = mkdtempSync(join(tmpdir(), `bpfsteer-tunnel-kt-${suffix}-`));
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tun-${suffix}`;
  const children: ChildProcess[] = [];
  const cgroups: string[] = [];
  let t: TwoNodeLab;
  let podCg = '';
  let plugin: DataplanePlugin | undefined;


  /** spawns `argv` in `netns` (and `cgroup`), resolves once it printed "ready" */
  const start = async (argv: string[], netns: string, cgroup?: string): Promise<ChildProcess> => {
    const child = spawnIn(lab.nsPath(netns), argv, { ...(cgroup && { cgroup }) });
    children.push(child);
    await untilLine(child, 'ready');
    return child;
  };
  const client = (host: string, payload = 'hi') => tcpClient({ netns: lab.nsPath(t.podA), host, port: 80, cgroup: podCg, payload });

  beforeAll(async () => {
    t = buildTwoNodeLab(lab, 61);
    // the cgroups: pod A's processes, node A's tunnel
    podCg = createCgroup(`bpfsteer-test-tun-${suffix}-pod`);
    const tunnelCg = createCgroup(`bpfsteer-test-tun-${suffix}-tunnel`);
    cgroups.push(podCg, tunnelCg);

    // the redirect: pod A's connects to pod B's :80 go to node A's tunnel, as seen from pod A
    const parsed = connectRedirectPlugin.configSchema.parse({
      cgroups: [podCg],
      proxyCgroups: [tunnelCg],
      target: { ipv4: `${t.nodeA4}:18000`, ipv6: `[${t.nodeA6}]:18000` },
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
          { kind: 'connect.redirect', destination: t.podBNet4, ports: ['80'] },
          { kind: 'connect.redirect', destination: t.podBOther4, direct: true },
          { kind: 'connect.redirect', destination: t.podBNet6, ports: ['80'] },
        ],
      ],
    ]);
    await plugin.apply(rules);

    const ca = makeTestCa(dir, 'lab');
    const tls = (node: string, allowed: string) => ({ ...ca.issue(node, { uri: ID(node) }), allowedIdentities: [ID(allowed)] });
    children.push(await startPeerServer(lab, t.podB));
    await start(
      [process.execPath, runner, JSON.stringify({ outbound: [], inbound: ['[::]:18001'], tls: tls('node-b', 'node-a') })],
      t.nodeB,
    );
    await start(
      [
        process.execPath,
        runner,
        JSON.stringify({
          outbound: [`${t.nodeA4}:18000`, `[${t.nodeA6}]:18000`],
          inbound: [],
          peers: [
            { destination: t.podBNet4, address: `${t.wire.b4}:18001` },
            { destination: t.podBNet6, address: `[${t.wire.b6}]:18001` },
          ],
          tls: tls('node-a', 'node-b'),
        }),
      ],
      t.nodeA,
      tunnelCg,
    );
  }, 60_000);

  afterAll(async () => {
    try {
      for (const c of children) c.kill('SIGKILL');
      await plugin?.close({ keepPinned: false });
    } finally {
      await lab.destroy();
      for (const cg of cgroups) await removeOwnCgroup(cg);
      rmSync(pinRoot, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pod A reaches pod B's :80 through the tunnel (IPv4, IPv6): pod B's server sees node B connecting", async () => {
    expect(await client(t.podB4)).toMatchObject({ ok: true, reply: `peer ${t.nodeB4} got hi` });
    expect(await client(t.podB6)).toMatchObject({ ok: true, reply: `peer ${t.nodeB6} got hi` });
    const stats = (plugin!.status().details as { stats: Record<string, number> }).stats;
    expect(stats).toMatchObject({ redirected: 2, origdstAnswered: 2, origdstUnknown: 0 });
  });

  it('an excluded destination goes direct: pod B sees pod A itself', async () => {
    expect(await client(t.podBOther4)).toMatchObject({ ok: true, reply: `peer ${t.podA4} got hi` });
  });

  it('on the wire between the nodes: only TLS on 18001, not a byte of the payload', async () => {
    const capture = join(dir, 'wire.pcap');
    const dump = spawnIn(lab.nsPath(t.nodeA), ['tcpdump', '-Z', 'root', '--immediate-mode', '-i', 'wire', '-U', '-w', capture, 'tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(dump);
    await new Promise<void>((resolve) => dump.stderr!.on('data', (d: Buffer) => d.toString().includes('listening') && resolve()));
    const secret = `secret-${randomBytes(8).toString('hex')}`;
    expect(await client(t.podB4, secret)).toMatchObject({ ok: true, reply: `peer ${t.nodeB4} got ${secret}` });
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
