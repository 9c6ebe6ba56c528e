/**
 * The connect-redirect plugin on real cgroups and real TCP: a client in the redirected cgroup
 * connecting to a "far" host (another netns over veth) reaches the local proxy instead, and the
 * proxy — an unmodified one (netlab's startOriginalDstProxy: a Python server asking
 * getsockopt(SOL_IP, SO_ORIGINAL_DST) and getsockopt(SOL_IPV6, IP6T_SO_ORIGINAL_DST) as iptables
 * REDIRECT users do) — reads the original destination through the getsockopt hook on its cgroup. Excluded destinations, other ports, other
 * cgroups and the tunnel's own connections (its mark, its cgroup) go direct; without the hook the
 * original destination is read from the map by the accepted peer; a restart with keepPinned keeps
 * redirecting. The lab and cgroups are built once per file; each test starts its own plugin in its
 * own pin root and closes it, so any test runs alone.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { DataplanePlugin, DesiredState, MetricFamily } from '@bpfsteer/agent-kernel';
import { createCgroup } from '@bpfsteer/core-bpf';
import { NetLab, type Listener, type OriginalDstProxy, removeOwnCgroup, startOriginalDstProxy, tcpClient } from '@bpfsteer/netlab';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectRedirectDataplane } from '../src/connect-redirect-dataplane.js';
import type { ConnectRedirectConfig } from '../src/connect-redirect-config.js';
import { connectRedirectPlugin } from '../src/connect-redirect-plugin.js';
import { readEndpoint } from '../src/endpoint.js';

describe('connectRedirectPlugin on real cgroups', () => {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const lab = NetLab.create('crd');
  let pinRoot = '';
  let tests = 0;
  const plugins: DataplanePlugin[] = [];
  const dataplanes: ConnectRedirectDataplane[] = [];
  const listeners: Listener[] = [];
  let proxy: OriginalDstProxy | undefined;
  let node = '';
  let far = '';
  // the clients' cgroup, the tunnel's (a child of it: the programs run there too) and the proxy's
  const clientName = `bpfsteer-test-crd-${suffix}`;
  let clientCg = '';
  let tunnelCg = '';
  let proxyCg = '';

  const FAR4 = '10.78.0.2';
  const FAR6 = 'fd78::2';
  const rules: DesiredState = new Map([
    [
      'connect.redirect',
      [
        { kind: 'connect.redirect', destination: '10.78.0.0/24', ports: ['80', '8000-8100'] },
        { kind: 'connect.redirect', destination: '10.78.0.9', direct: true },
        { kind: 'connect.redirect', destination: 'fd78::/64', ports: [80] },
      ],
    ],
  ]);

  const create = (config: Partial<ConnectRedirectConfig> = {}) => {
    const parsed = connectRedirectPlugin.configSchema.parse({
      cgroups: [clientName],
      proxyCgroups: [`${clientName}-proxy`],
      bypass: { mark: { value: 0x77 }, cgroup: `${clientName}/tunnel` },
      ...config,
    });
    const plugin = connectRedirectPlugin.create(parsed, { logger: pino({ level: 'silent' }), pinRoot, signal: new AbortController().signal });
    plugins.push(plugin);
    return plugin;
  };
  const started = async (config: Partial<ConnectRedirectConfig> = {}) => {
    const plugin = create(config);
    await plugin.open();
    await plugin.load();
    await plugin.seed();
    await plugin.attach();
    await plugin.apply(rules);
    return plugin;
  };
  const client = (host: string, port = 80, o: { cgroup?: string | false; mark?: number } = {}) =>
    tcpClient({ netns: lab.nsPath(node), host, port, ...(o.mark ? { mark: o.mark } : {}), ...(o.cgroup === false ? {} : { cgroup: o.cgroup ?? clientCg }) });
  const stats = (plugin: DataplanePlugin) => (plugin.status().details as { stats: Record<string, number> }).stats;

  beforeAll(async () => {
    node = lab.addNetns('node');
    far = lab.addNetns('far');
    lab.addVeth(
      { netns: node, ifname: 'eth0', addresses: ['10.78.0.1/24', 'fd78::1/64'] },
      { netns: far, ifname: 'eth0', addresses: [`${FAR4}/24`, '10.78.0.9/24', `${FAR6}/64`] },
    );
    for (const port of [80, 81]) listeners.push(await lab.listen(far, 'tcp', '::', port));
    clientCg = createCgroup(clientName);
    tunnelCg = createCgroup(`${clientName}/tunnel`);
    proxyCg = createCgroup(`${clientName}-proxy`);
    // the proxy (127.0.0.1:18000 and [::1]:18000) moves itself into its cgroup, then serves in the node's netns
    proxy = await startOriginalDstProxy(lab.nsPath(node), { cgroup: proxyCg, port: 18000 });
  });
  afterAll(async () => {
    try {
      await proxy?.close();
      for (const l of listeners) l.close();
    } finally {
      await lab.destroy();
      for (const cg of [clientCg, proxyCg]) if (cg) await removeOwnCgroup(cg); // clientCg holds tunnelCg
    }
  });
  beforeEach(() => {
    pinRoot = `/sys/fs/bpf/bpfsteer-test-crd-${suffix}-${++tests}`;
  });
  afterEach(async () => {
    for (const p of plugins.splice(0)) await p.close({ keepPinned: false }).catch(() => undefined);
    for (const d of dataplanes.splice(0)) d.close();
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it('redirects matching connects to the proxy, which reads the original destination with SO_ORIGINAL_DST (IPv4, IPv6)', async () => {
    const plugin = await started();
    expect(plugin.status().attachments.map((a) => [a.type, a.target])).toEqual([
      ['cgroup-connect4', `cgroup ${clientCg}`],
      ['cgroup-connect6', `cgroup ${clientCg}`],
      ['sockops', `cgroup ${clientCg}`],
      ['cgroup-getsockopt', `cgroup ${proxyCg}`],
    ]);
    expect(await client(FAR4)).toMatchObject({ ok: true, reply: `orig ${FAR4} 80` });
    expect(await client(FAR4, 8050)).toMatchObject({ ok: true, reply: `orig ${FAR4} 8050` });
    expect(await client(FAR6)).toMatchObject({ ok: true, reply: `orig ${FAR6} 80` });
    expect(stats(plugin)).toMatchObject({ connects: 3, redirected: 3, recorded: 3, recordFailed: 0, origdstAnswered: 3, origdstUnknown: 0, noStorage: 0 });
    // per rule: the /24 redirected two, the IPv6 one one
    expect((plugin.status().details as { rules: unknown[] }).rules).toEqual([
      { redirected: 2, direct: 0 },
      { redirected: 0, direct: 0 },
      { redirected: 1, direct: 0 },
    ]);
  });

  it('excluded destinations, other ports and other cgroups go direct', async () => {
    const plugin = await started();
    expect(await client('10.78.0.9')).toMatchObject({ ok: true, reply: 'echo:hi' }); // excluded host
    expect(await client(FAR4, 81)).toMatchObject({ ok: true, reply: 'echo:hi' }); // port not in the rule
    expect(await client(FAR6, 81)).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(await client(FAR4, 80, { cgroup: false })).toMatchObject({ ok: true, reply: 'echo:hi' }); // not in the cgroup
    expect(stats(plugin)).toMatchObject({ connects: 3, redirected: 0, direct: 3 });
    expect((plugin.status().details as { rules: { direct: number }[] }).rules[1]).toEqual({ redirected: 0, direct: 1 });
  });

  it('serves the connects by outcome, the SO_ORIGINAL_DST answers and each rule\'s connects as Prometheus counters that grow with real connects', async () => {
    const plugin = await started();
    const value = (families: readonly MetricFamily[], name: string, labels: Record<string, string>) =>
      families.find((f) => f.name === name)!.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels?.[k] === x))!.value;
    const before = await plugin.metrics!();
    expect(before.map((f) => `${f.name} ${f.type}`)).toEqual([
      'bpfsteer_connect_redirect_connects_total counter',
      'bpfsteer_connect_redirect_origdst_records_total counter',
      'bpfsteer_connect_redirect_origdst_queries_total counter',
      'bpfsteer_connect_redirect_rule_connects_total counter',
    ]);
    expect(before[3]!.values.filter((v) => v.labels?.outcome === 'redirected').map((v) => v.labels)).toEqual([
      { rule: '0', destination: '10.78.0.0/24', ports: '80,8000-8100', outcome: 'redirected' },
      { rule: '1', destination: '10.78.0.9', ports: 'all', outcome: 'redirected' },
      { rule: '2', destination: 'fd78::/64', ports: '80', outcome: 'redirected' },
    ]);
    expect(await client(FAR4)).toMatchObject({ ok: true, reply: `orig ${FAR4} 80` });
    expect(await client(FAR6)).toMatchObject({ ok: true, reply: `orig ${FAR6} 80` });
    expect(await client('10.78.0.9')).toMatchObject({ ok: true, reply: 'echo:hi' }); // excluded host
    expect(await client(FAR4, 80, { mark: 0x77 })).toMatchObject({ ok: true, reply: 'echo:hi' }); // the tunnel's mark
    const after = await plugin.metrics!();
    const grew = (name: string, labels: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(grew('bpfsteer_connect_redirect_connects_total', { outcome: 'redirected' })).toBe(2);
    expect(grew('bpfsteer_connect_redirect_connects_total', { outcome: 'direct' })).toBe(1);
    expect(grew('bpfsteer_connect_redirect_connects_total', { outcome: 'bypassed' })).toBe(1);
    expect(grew('bpfsteer_connect_redirect_origdst_records_total', { outcome: 'recorded' })).toBe(2);
    expect(grew('bpfsteer_connect_redirect_origdst_queries_total', { outcome: 'answered' })).toBe(2);
    expect(grew('bpfsteer_connect_redirect_rule_connects_total', { rule: '0', outcome: 'redirected' })).toBe(1);
    expect(grew('bpfsteer_connect_redirect_rule_connects_total', { rule: '1', outcome: 'direct' })).toBe(1);
    expect(grew('bpfsteer_connect_redirect_rule_connects_total', { rule: '2', outcome: 'redirected' })).toBe(1);
  });

  it("never redirects the tunnel's own connects (its mark, its cgroup): no loop", async () => {
    const plugin = await started();
    expect(await client(FAR4, 80, { mark: 0x77 })).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(await client(FAR4, 80, { cgroup: tunnelCg })).toMatchObject({ ok: true, reply: 'echo:hi' });
    // nor a connect to the target itself (a rule covering 127.0.0.1 would otherwise send the proxy to itself)
    await plugin.apply(new Map([['connect.redirect', [{ kind: 'connect.redirect', destination: '127.0.0.0/8' }]]]));
    expect(await client('127.0.0.1', 18000)).toMatchObject({ ok: true, reply: expect.stringMatching(/^orig none /) });
    expect(stats(plugin)).toMatchObject({ redirected: 0, bypassed: 3 });
  });

  it('without the getsockopt hook, the original destination is read from the map by the accepted peer', async () => {
    // a proxy of this test's own: a Node server in this process's netns, its cgroup not hooked
    const seen: Promise<{ address: string; port: number }> = new Promise((resolve) => {
      const server: Server = createServer((socket) => {
        resolve({ address: socket.remoteAddress!, port: socket.remotePort! });
        socket.once('data', () => socket.end('taken'));
      });
      server.listen(0, '127.0.0.1', () => {
        const target = readEndpoint(`127.0.0.1:${(server.address() as { port: number }).port}`, 4);
        if (!target.ok) throw new Error(target.error);
        const dp = ConnectRedirectDataplane.open({ pinRoot });
        dataplanes.push(dp);
        dp.load();
        dp.seed();
        dp.configure({ ipv4: target.value });
        dp.attach([clientName]);
        dp.setRules([{ destination: '10.78.0.0/24' }]);
        void tcpClient({ netns: `/proc/${process.pid}/ns/net`, host: FAR4, port: 80, cgroup: clientCg }).then((r) => {
          expect(r).toMatchObject({ ok: true, reply: 'taken' });
          server.close();
        });
      });
    });
    const peer = await seen;
    expect(dataplanes[0]!.originalDestination(peer.address, peer.port)).toEqual({ address: FAR4, port: 80 });
    expect(dataplanes[0]!.originalDestination(peer.address, peer.port + 1)).toBeUndefined();
  });

  it('a restart with keepPinned keeps redirecting and re-adopts the rules; a plain close removes everything', async () => {
    const first = await started();
    const pins = first.status().attachments.map((a) => a.pinned!);
    await first.close({ keepPinned: true });
    expect(pins.every((p) => existsSync(p))).toBe(true);
    expect(await client(FAR4)).toMatchObject({ ok: true, reply: `orig ${FAR4} 80` }); // nobody runs: the pins redirect

    const second = create();
    await second.open();
    await second.load();
    await second.seed();
    await second.attach();
    expect(second.status().attachments.map((a) => a.pinned)).toEqual(pins);
    expect(await client(FAR6)).toMatchObject({ ok: true, reply: `orig ${FAR6} 80` }); // adopted rules, before any apply
    await second.close({ keepPinned: false });
    expect(existsSync(join(pinRoot, 'links'))).toBe(false);
    expect(await client(FAR4)).toMatchObject({ ok: true, reply: 'echo:hi' });
  });
});
