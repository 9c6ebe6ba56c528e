/**
 * Seed 001 through the agent: two nodes (netns), each with a pod (netns, its processes in a cgroup),
 * each node running `bpfsteer run`. Node A's agent runs plugin-connect-redirect on pod A's cgroup
 * and the tunnel source, whose peers give the rules; node B's runs the tunnel source only.
 *
 *   pod A (10.62.1.2) --veth-- node A (agent) ==wire== node B (agent) --veth-- pod B (10.62.2.2:80)
 *
 * Pod A's connects to pod B's :80 (IPv4, IPv6) reach pod B through both tunnels; an excluded
 * destination goes direct; a restart of node A's agent with --keep-pinned keeps the redirect
 * attached: while it is down a new connect is refused at once (the redirect holds, nobody listens:
 * connections open at that moment are reset with the tunnel), and once it is back connects succeed.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCgroup } from '@bpfsteer/core-bpf';
import { buildTwoNodeLab, makeTestCa, NetLab, removeOwnCgroup, spawnIn, startPeerServer, tcpClient, type TwoNodeLab } from '@bpfsteer/netlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, spawnBpfsteer } from './support/spawn-bpfsteer.js';

const ID = (n: string) => `spiffe://cluster.local/ns/bpfsteer/sa/${n}`;

describe('seed 001 through the agent: connect-redirect + tunnel source on two nodes', () => {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const lab = NetLab.create('ctn');
  const dir = mkdtempSync(join(tmpdir(), `bpfsteer-ctn-${suffix}-`));
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-ctn-${suffix}`;
  const children: ChildProcess[] = [];
  const cgroups: string[] = [];
  let t: TwoNodeLab;
  let podCg = '';
  let agentCg = '';
  let agentA: ChildProcess | undefined;

  const socketA = join(dir, 'a', 'agent.sock');
  const configA = join(dir, 'a', 'agent.yaml');

  /** `bpfsteer run -c config` in `netns` (and `cgroup`) */
  const runAgent = (config: string, netns: string, cgroup?: string): ChildProcess => {
    const child = spawnIn(lab.nsPath(netns), [process.execPath, bin, 'run', '-c', config, '--keep-pinned'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(cgroup && { cgroup }),
    });
    children.push(child);
    return child;
  };
  /** the agent's status once every plugin and source runs */
  const running = async (socket: string) => {
    for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      const r = await spawnBpfsteer(['status', '--json', '-s', socket], children).done;
      const s = r.code === 0 ? (JSON.parse(r.stdout) as { agent: { state: string }; plugins: { state: string }[]; sources: { state: string; intents: number }[] }) : undefined;
      if (s?.agent.state === 'running' && s.sources.every((x) => x.state === 'running')) return s;
    }
    throw new Error(`the agent at ${socket} did not come up`);
  };
  const client = (host: string, payload = 'hi') => tcpClient({ netns: lab.nsPath(t.podA), host, port: 80, cgroup: podCg, payload });

  beforeAll(async () => {
    t = buildTwoNodeLab(lab, 62);
    podCg = createCgroup(`bpfsteer-test-ctn-${suffix}-pod`);
    agentCg = createCgroup(`bpfsteer-test-ctn-${suffix}-agent`);
    cgroups.push(podCg, agentCg);

    const ca = makeTestCa(dir, 'lab');
    const tls = (node: string, allowed: string) => ({ ...ca.issue(node, { uri: ID(node) }), allowedIdentities: [ID(allowed)] });
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    // JSON is YAML
    writeFileSync(
      configA,
      JSON.stringify({
        agent: { adminSocket: socketA, pinRoot },
        plugins: [
          {
            id: 'connect-redirect',
            cgroups: [podCg],
            proxyCgroups: [agentCg], // the agent's own: its tunnel reads SO_ORIGINAL_DST
            target: { ipv4: `${t.nodeA4}:18000`, ipv6: `[${t.nodeA6}]:18000` },
            bypass: { cgroup: agentCg },
          },
        ],
        sources: [
          {
            type: 'tunnel',
            outbound: [`${t.nodeA4}:18000`, `[${t.nodeA6}]:18000`],
            inbound: [],
            peers: [
              { destination: t.podBNet4, address: `${t.wire.b4}:18001` },
              { destination: t.podBNet6, address: `[${t.wire.b6}]:18001` },
            ],
            redirectPorts: ['80'],
            exclude: [t.podBOther4],
            tls: tls('node-a', 'node-b'),
          },
        ],
      }),
    );
    const configB = join(dir, 'b', 'agent.yaml');
    writeFileSync(
      configB,
      JSON.stringify({
        agent: { adminSocket: join(dir, 'b', 'agent.sock'), pinRoot: `${pinRoot}-b` },
        sources: [{ type: 'tunnel', outbound: [], inbound: ['[::]:18001'], tls: tls('node-b', 'node-a') }],
      }),
    );
    children.push(await startPeerServer(lab, t.podB));
    runAgent(configB, t.nodeB);
    agentA = runAgent(configA, t.nodeA, agentCg);
    await running(join(dir, 'b', 'agent.sock'));
    await running(socketA);
  }, 90_000);

  afterAll(async () => {
    try {
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
    } finally {
      await lab.destroy();
      for (const cg of cgroups) await removeOwnCgroup(cg);
      for (const p of [pinRoot, `${pinRoot}-b`]) rmSync(p, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the tunnel source's rules are applied; pod A reaches pod B's :80 through both tunnels (IPv4, IPv6)", async () => {
    const status = await running(socketA);
    expect(status.sources[0]!.intents).toBe(3); // two peers, one exclusion
    expect(await client(t.podB4)).toMatchObject({ ok: true, reply: `peer ${t.nodeB4} got hi` });
    expect(await client(t.podB6)).toMatchObject({ ok: true, reply: `peer ${t.nodeB6} got hi` });
    expect(await client(t.podBOther4)).toMatchObject({ ok: true, reply: `peer ${t.podA4} got hi` }); // direct
  });

  it('a restart of the agent keeps the redirect: refused while it is down, carried again once it is back', async () => {
    agentA!.kill('SIGTERM');
    await new Promise((r) => agentA!.once('exit', r));
    expect(await client(t.podB4)).toMatchObject({ ok: false, error: expect.stringMatching(/ConnectionRefusedError/) });
    agentA = runAgent(configA, t.nodeA, agentCg);
    await running(socketA);
    expect(await client(t.podB4)).toMatchObject({ ok: true, reply: `peer ${t.nodeB4} got hi` });
  });
});
