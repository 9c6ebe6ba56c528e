/**
 * The sklookup plugin with real namespaces and real TCP (IPv4 and IPv6). A pod netns runs an
 * application on :80 (and :8080) and, in this process, a "ztunnel-like" HBONE listener on :15008
 * whose fd goes into the SOCKHASH through the `sklookup.pod` intent:
 *   - a mesh client's connection to pod:80 lands on 15008, which sees the original destination;
 *   - a non-mesh client reaches the application; skip ports are never diverted;
 *   - the proxy's own connection (a process in its cgroup, SO_MARK 0x539, with bpf/cgroup_mark's
 *     program on that cgroup sharing mesh_bypass) reaches the application;
 *   - separate IPv4-only / IPv6-only listeners (a python proxy, taken with pidfd_getfd): each address
 *     goes to the listener of its family; `socketHandles: []` drops the pod's socket entries (normal lookup);
 *   - removing the member stops the divert; removing the pod removes its link and entries;
 *   - a restart with keepPinned keeps diverting and re-adopts everything; bad input changes nothing.
 * The lab (netns, listeners, the proxy's cgroup and the shared bypass map) is built once per file;
 * each test starts its own plugin in its own pin root and closes it, so any test runs alone.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import type { DataplanePlugin, DesiredState, Intent, MetricFamily } from '@bpfsteer/agent-kernel';
import { BpfMap, BpfObject, SocketHandles, TypedMap, attachCgroup, createCgroup, dupFd, removeCgroup, withNetns, type Link } from '@bpfsteer/core-bpf';
import { NetLab, monotonicNsAgo, tryRun, type Listener, tcpClient, type TcpClientResult } from '@bpfsteer/netlab';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bypassKeyCodec, bypassValueCodec } from '../src/map-codecs.js';
import { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
import type { SklookupConfig } from '../src/sklookup-config.js';
import { sklookupPlugin } from '../src/sklookup-plugin.js';
import type { PodStatus } from '../src/sklookup-dataplane.js';
import { startFamilyListeners } from './support/family-listeners.js';

const POD4 = '10.92.0.2';
const POD6 = 'fd00:92::2';
const MESH4 = '10.92.0.9';
const MESH6 = 'fd00:92::9';
const OUT4 = '10.92.0.10';
const OUT6 = 'fd00:92::10';

describe('sklookupPlugin with real netns and TCP', () => {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const lab = NetLab.create('skl');
  /** this test's pin root (each test's plugins start from empty maps) */
  let pinRoot = '';
  let tests = 0;
  const bypassPin = `/sys/fs/bpf/bpfsteer-test-sklbp-${suffix}/mesh_bypass`;
  const uid = `pod-${suffix}`;
  const plugins: DataplanePlugin[] = [];
  const listeners: Listener[] = [];
  let pod = '';
  let peer = '';
  let podNs = '';
  let ztunnel: net.Server | undefined;
  let hboneFd = -1;
  /** the agent's socket-handle registry, as plugins see it; hbone: the ztunnel listener's handle */
  const registry = new SocketHandles();
  let hbone = '';
  let cgroup = '';
  let markObject: BpfObject | undefined;
  let markLink: Link | undefined;

  /** A plugin of this test (closed after it), not started. */
  const create = (config: Partial<SklookupConfig> = {}) => {
    const parsed = sklookupPlugin.configSchema.parse({ bypassMapPin: bypassPin, skipPorts: [8080], ...config });
    const plugin = sklookupPlugin.create(parsed, { logger: pino({ level: 'silent' }), pinRoot, signal: new AbortController().signal, socketHandles: registry });
    plugins.push(plugin);
    return plugin;
  };
  const startUp = async (plugin: DataplanePlugin) => {
    await plugin.open();
    await plugin.load();
    await plugin.seed();
    await plugin.attach();
  };
  /** A started plugin with nothing applied. */
  const started = async () => {
    const plugin = create();
    await startUp(plugin);
    return plugin;
  };
  const member = (address: string): Intent => ({ kind: MESH_MEMBER_KIND, address });
  const podIntent = (extra: Record<string, unknown> = {}): Intent => ({
    kind: SKLOOKUP_POD_KIND,
    uid,
    netns: podNs,
    addresses: [POD4, POD6],
    socketHandles: [hbone],
    ...extra,
  });
  const desired = (...intents: Intent[]): DesiredState => {
    const m = new Map<string, Intent[]>([[MESH_MEMBER_KIND, []], [SKLOOKUP_POD_KIND, []]]);
    for (const i of intents) m.get(i.kind)!.push(i);
    return m;
  };
  const fullMesh = () => desired(member(POD4), member(POD6), member(MESH4), member(MESH6), podIntent());
  /** A started plugin with the full mesh applied: the pod (slot 1) diverted for both families. */
  const meshed = async () => {
    const plugin = await started();
    expect(await plugin.apply(fullMesh())).toEqual({ added: 5, updated: 0, removed: 0 });
    return plugin;
  };
  const fromPeer = (source: string, host: string, port = 80) => tcpClient({ netns: lab.nsPath(peer), host, port, bind: source });
  const fromProxy = (o: { mark?: number; inCgroup?: boolean; host?: string }) =>
    tcpClient({ netns: podNs, host: o.host ?? POD4, port: 80, mark: o.mark, bind: o.host === POD6 ? POD6 : POD4, ...(o.inCgroup === false ? {} : { cgroup }) });
  const diverted = (r: TcpClientResult, dst: string, port = 80) => {
    expect(r).toMatchObject({ ok: true });
    return r.reply === `ztunnel ${dst} ${port}`;
  };
  const reachedApp = (r: TcpClientResult) => r.ok && r.reply === 'echo:hi';
  const podStatus = (plugin: DataplanePlugin): PodStatus | undefined =>
    ((plugin.status().details as { pods: PodStatus[] }).pods ?? []).find((p) => p.uid === uid);
  /** sk_lookup links in a netns (default: the pod's), as bpftool lists them */
  const netnsLinks = (path = podNs) => {
    const ino = statSync(path).ino;
    const links = JSON.parse(tryRun(['bpftool', 'link', 'show', '-j']).stdout || '[]') as { type: string; netns_ino?: number }[];
    return links.filter((l) => l.type === 'netns' && l.netns_ino === ino);
  };

  beforeAll(async () => {
    pod = lab.addNetns('pod');
    peer = lab.addNetns('peer');
    podNs = lab.nsPath(pod);
    lab.addVeth(
      { netns: pod, ifname: 'eth0', addresses: [`${POD4}/24`, `${POD6}/64`] },
      { netns: peer, ifname: 'eth0', addresses: [`${MESH4}/24`, `${OUT4}/24`, `${MESH6}/64`, `${OUT6}/64`] },
    );
    listeners.push(await lab.listen(pod, 'tcp', '::', 80), await lab.listen(pod, 'tcp', '::', 8080));
    // the ztunnel-like HBONE listener: created inside the pod netns by this process, which serves it
    ztunnel = net.createServer((s) => {
      s.on('error', () => undefined);
      s.on('data', () => s.end(`ztunnel ${(s.localAddress ?? '').replace(/^::ffff:/, '')} ${s.localPort}`));
    });
    const server = ztunnel;
    // no host: Node binds [::]:15008 synchronously (a host would be resolved later, outside the netns)
    withNetns(podNs, () => server.listen({ port: 15008 }));
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    hboneFd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    expect(hboneFd).toBeGreaterThan(2);
    hbone = registry.register(hboneFd, 'socket', { what: 'the ztunnel listener' });
    // the proxy's cgroup, observed by bpf/cgroup_mark.bpf.o sharing the mesh_bypass pin
    cgroup = createCgroup(`bpfsteer-test-skl-${suffix}`);
    markObject = BpfObject.open(new URL('../../../bpf/build/cgroup_mark.bpf.o', import.meta.url).pathname);
    markObject.load({ maps: { mesh_bypass: { pinPath: bypassPin } } });
    markLink = attachCgroup(markObject.program('cgroup_mark_egress'), { cgroup, attachType: 'cgroup_skb-egress' });
  });
  afterAll(async () => {
    try {
      registry.closeAll();
      markLink?.detach();
      markObject?.close();
      rmSync(bypassPin.replace(/\/mesh_bypass$/, ''), { recursive: true, force: true });
      await new Promise((resolve) => (ztunnel ? ztunnel.close(resolve) : resolve(undefined)));
      for (const l of listeners) l.close();
    } finally {
      await lab.destroy();
      if (cgroup) removeCgroup(cgroup);
    }
  });
  beforeEach(() => {
    pinRoot = `/sys/fs/bpf/bpfsteer-test-skl-${suffix}-${++tests}`;
  });
  afterEach(async () => {
    // every plugin of the test (closing a closed one again is harmless), then whatever it left pinned
    for (const p of plugins.splice(0)) await p.close({ keepPinned: false }).catch(() => undefined);
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it('before any intent nothing is diverted', async () => {
    const plugin = await started();
    expect(reachedApp(await fromPeer(MESH4, POD4))).toBe(true);
    expect(plugin.status().attachments).toEqual([]);
  });

  it('diverts mesh-to-mesh connections to the HBONE listener with the original destination (IPv4 and IPv6)', async () => {
    const plugin = await meshed();
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
    expect(diverted(await fromPeer(MESH6, POD6), POD6)).toBe(true);
    expect(netnsLinks()).toHaveLength(1);
    const s = podStatus(plugin)!;
    expect(s).toMatchObject({ uid, slot: 1, netns: podNs, addresses: [POD4, POD6], pinned: expect.stringMatching(/\/links\/pod-1-pod-/) });
    expect(Object.keys(s.sockets).sort()).toEqual([POD4, POD6]);
    expect(new Set(Object.values(s.sockets)).size).toBe(1); // one listener for both families
    expect(s.counters.diverted).toBe(2);
    // applying the same state again changes nothing
    expect(await plugin.apply(fullMesh())).toEqual({ added: 0, updated: 0, removed: 0 });
  });

  it('a non-mesh client reaches the application; skip ports are never diverted', async () => {
    const plugin = await meshed();
    expect(reachedApp(await fromPeer(OUT4, POD4))).toBe(true);
    expect(reachedApp(await fromPeer(OUT6, POD6))).toBe(true);
    expect(reachedApp(await fromPeer(MESH4, POD4, 8080))).toBe(true); // configured skip port
    expect(await fromPeer(MESH4, POD4, 15006)).toMatchObject({ ok: false, error: expect.stringMatching(/ConnectionRefused/) });
    const c = podStatus(plugin)!.counters;
    expect(c.passed).toBeGreaterThanOrEqual(2);
    expect(c.skipped).toBeGreaterThanOrEqual(2);
    expect(c.diverted).toBe(0);
  });

  it("serves the pod's lookups by outcome, and those to no pod address, as Prometheus counters that grow with real connections", async () => {
    const plugin = await meshed();
    const value = (families: readonly MetricFamily[], name: string, labels: Record<string, string>) =>
      families.find((f) => f.name === name)!.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels?.[k] === x))?.value;
    const before = await plugin.metrics!();
    expect(before.map((f) => `${f.name} ${f.type}`)).toEqual(['bpfsteer_sklookup_lookups_total counter', 'bpfsteer_sklookup_unattributed_lookups_total counter']);
    expect(before[0]!.values.map((v) => v.labels?.outcome)).toEqual(['diverted', 'passed', 'skipped', 'bypassed', 'no_socket', 'assign_failed']);
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
    expect(diverted(await fromPeer(MESH6, POD6), POD6)).toBe(true);
    expect(reachedApp(await fromPeer(OUT4, POD4))).toBe(true);
    expect(reachedApp(await fromPeer(MESH4, POD4, 8080))).toBe(true); // skip port
    // inside the pod to its loopback: no pod address, counted in slot 0
    expect(await tcpClient({ netns: podNs, host: '127.0.0.1', port: 80 })).toMatchObject({ ok: true });
    const after = await plugin.metrics!();
    const grew = (name: string, labels: Record<string, string>) => value(after, name, labels)! - value(before, name, labels)!;
    expect(grew('bpfsteer_sklookup_lookups_total', { pod: uid, outcome: 'diverted' })).toBe(2);
    expect(grew('bpfsteer_sklookup_lookups_total', { pod: uid, outcome: 'passed' })).toBeGreaterThanOrEqual(1);
    expect(grew('bpfsteer_sklookup_lookups_total', { pod: uid, outcome: 'skipped' })).toBeGreaterThanOrEqual(1);
    expect(grew('bpfsteer_sklookup_unattributed_lookups_total', { outcome: 'passed' })).toBeGreaterThanOrEqual(1);
    expect(value(after, 'bpfsteer_sklookup_lookups_total', { pod: uid, outcome: 'diverted' })).toBe(podStatus(plugin)!.counters.diverted);
  });

  it("the proxy's own marked connection from its cgroup reaches the application", async () => {
    const plugin = await meshed();
    // unmarked, or marked from outside the cgroup: diverted like any mesh connection
    expect(diverted(await fromProxy({}), POD4)).toBe(true);
    expect(diverted(await fromProxy({ mark: 0x539, inCgroup: false }), POD4)).toBe(true);
    // marked from the proxy's cgroup: let through
    expect(reachedApp(await fromProxy({ mark: 0x539 }))).toBe(true);
    expect(reachedApp(await fromProxy({ mark: 0x539, host: POD6 }))).toBe(true);
    expect(podStatus(plugin)!.counters.bypassed).toBe(2);
  });

  it('a bypass entry counts only while it is fresh, and only once', async () => {
    const plugin = await meshed();
    const bypass = TypedMap.wrap(BpfMap.fromPinned(bypassPin), bypassKeyCodec, bypassValueCodec);
    const key = (port: number) => ({ remote_be: `::ffff:${MESH4}`, local_be: `::ffff:${POD4}`, remote_port_be: port, local_port_be: 80 });
    try {
      const before = podStatus(plugin)!.counters;
      bypass.set(key(41234), { seen_ns: monotonicNsAgo(10_000_000_000n) }); // older than the 5 s time-to-live (also right after boot)
      bypass.set(key(41235), { seen_ns: process.hrtime.bigint() });
      expect(diverted(await tcpClient({ netns: lab.nsPath(peer), host: POD4, port: 80, bind: MESH4, bindPort: 41234 }), POD4)).toBe(true);
      expect(reachedApp(await tcpClient({ netns: lab.nsPath(peer), host: POD4, port: 80, bind: MESH4, bindPort: 41235 }))).toBe(true);
      expect(bypass.has(key(41234))).toBe(false); // the stale entry was dropped
      expect(bypass.has(key(41235))).toBe(false); // the fresh one consumed
      const after = podStatus(plugin)!.counters;
      expect(after.bypassed - before.bypassed).toBe(1);
      expect(after.diverted - before.diverted).toBe(1);
    } finally {
      bypass.map.close();
    }
  });

  it('a workload leaving the mesh stops being diverted at once, and comes back', async () => {
    const plugin = await meshed();
    expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH6), podIntent()))).toEqual({ added: 0, updated: 0, removed: 1 });
    expect(reachedApp(await fromPeer(MESH4, POD4))).toBe(true);
    expect(diverted(await fromPeer(MESH6, POD6), POD6)).toBe(true);
    expect(await plugin.apply(fullMesh())).toEqual({ added: 1, updated: 0, removed: 0 });
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
  });

  it('separate IPv4-only and IPv6-only listeners: each address goes to the listener of its family', async () => {
    const plugin = await meshed();
    const family = await startFamilyListeners(podNs, 15010);
    const v6 = registry.register(family.v6Fd, 'socket', { what: 'the IPv6-only listener' });
    const v4 = registry.register(family.v4Fd, 'socket', { what: 'the IPv4-only listener' });
    try {
      const separate = podIntent({ socketHandles: [v6, v4] });
      expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6), separate))).toEqual({ added: 0, updated: 1, removed: 0 });
      expect(await fromPeer(MESH4, POD4)).toMatchObject({ ok: true, reply: `v4 ${POD4} 80` });
      expect(await fromPeer(MESH6, POD6)).toMatchObject({ ok: true, reply: `v6 ${POD6} 80` });
      const sockets = podStatus(plugin)!.sockets;
      expect(Object.keys(sockets).sort()).toEqual([POD4, POD6]);
      expect(sockets[POD4]).not.toBe(sockets[POD6]);
      // two listeners of one family are refused, and change nothing
      await expect(plugin.apply(desired(member(POD4), member(MESH4), podIntent({ socketHandles: [hbone, v6] })))).rejects.toMatchObject({
        code: 'ERR_INTENT_REJECTED',
        message: expect.stringMatching(/are both IPv6 listeners; give at most one per address family/),
      });
      expect(await fromPeer(MESH6, POD6)).toMatchObject({ ok: true, reply: `v6 ${POD6} 80` });
      // only the IPv6-only one: IPv4 has no listener of its family and takes the normal lookup
      expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6), podIntent({ socketHandles: [v6] })))).toEqual({
        added: 0,
        updated: 1,
        removed: 0,
      });
      expect(reachedApp(await fromPeer(MESH4, POD4))).toBe(true);
      expect(await fromPeer(MESH6, POD6)).toMatchObject({ ok: true, reply: `v6 ${POD6} 80` });
    } finally {
      registry.release(v4);
      registry.release(v6);
      await family.close();
    }
    // the dual-stack listener for both families again
    expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6), podIntent()))).toEqual({
      added: 0,
      updated: 1,
      removed: 0,
    });
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
    expect(diverted(await fromPeer(MESH6, POD6), POD6)).toBe(true);
  });

  it('the namespace and the listener as registry handles: the registrant closes its own fds, the plugin works through the duplicates', async () => {
    const plugin = await started();
    const nsFd = openSync(podNs, 'r');
    const sockFd = dupFd(hboneFd);
    const ns = registry.register(nsFd, 'netns', { what: 'the pod netns', inode: statSync(podNs, { bigint: true }).ino });
    const sock = registry.register(sockFd, 'socket', { what: 'a copy of the ztunnel listener' });
    closeSync(nsFd);
    closeSync(sockFd);
    try {
      const pod = podIntent({ netns: undefined, netnsHandle: ns, socketHandles: [sock] });
      expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6), pod))).toEqual({ added: 5, updated: 0, removed: 0 });
      expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
      expect(diverted(await fromPeer(MESH6, POD6), POD6)).toBe(true);
      expect(podStatus(plugin)?.netns).toBe(`/proc/self/fd/${registry.fd(ns)}`);
      expect(netnsLinks()).toHaveLength(1);
    } finally {
      registry.release(ns);
      registry.release(sock);
    }
    // a closed handle is refused by name, and changes nothing
    await expect(plugin.apply(desired(member(MESH4), podIntent({ netns: undefined, netnsHandle: ns })))).rejects.toMatchObject({
      code: 'ERR_INTENT_REJECTED',
      message: expect.stringMatching(new RegExp(`netnsHandle ${ns}: socket handle "${ns}" not found: it was closed`)),
    });
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
  });

  it('no listener (socketHandles: []): the pod keeps its link but loses its socket entries; connections take the normal lookup at once', async () => {
    const plugin = await meshed();
    const before = podStatus(plugin)!;
    expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6), podIntent({ socketHandles: [] })))).toEqual({
      added: 0,
      updated: 1,
      removed: 0,
    });
    const s = podStatus(plugin)!;
    expect(s.sockets).toEqual({});
    expect(s.pinned).toBe(before.pinned);
    expect(reachedApp(await fromPeer(MESH4, POD4))).toBe(true);
    expect(reachedApp(await fromPeer(MESH6, POD6))).toBe(true);
    expect(podStatus(plugin)!.counters.noSocket - before.counters.noSocket).toBe(2);
    // the listener is back
    expect(await plugin.apply(fullMesh())).toEqual({ added: 0, updated: 1, removed: 0 });
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
    expect(diverted(await fromPeer(MESH6, POD6), POD6)).toBe(true);
  });

  it('bad input is rejected and changes nothing', async () => {
    const plugin = await meshed();
    const file = openSync('/etc/hostname', 'r');
    // a listener of this process's own namespace: the kernel would assign it, the plugin must not
    const elsewhere = net.createServer();
    await new Promise<void>((resolve) => elsewhere.listen({ port: 0 }, resolve));
    const elsewhereFd = (elsewhere as unknown as { _handle: { fd: number } })._handle.fd;
    const elsewhereHandle = registry.register(elsewhereFd, 'socket', { what: 'a listener of the host netns' });
    const gone = registry.register(hboneFd, 'socket', { what: 'a released listener' });
    registry.release(gone);
    try {
      // a file is no socket: the registry refuses it already
      expect(() => registry.register(file, 'socket', { what: '/etc/hostname' })).toThrow(/register \/etc\/hostname: expected a socket/);
      const cases: [DesiredState, RegExp][] = [
        [desired(member(MESH4), podIntent({ netns: `/var/run/netns/no-such-${suffix}` })), /network namespace .*not found/],
        [desired(member(MESH4), podIntent({ netns: '/etc/hostname' })), /not a network namespace/],
        [desired(member(MESH4), podIntent({ socketFds: [hboneFd] })), /fd numbers\) are no longer accepted/],
        [desired(member(MESH4), podIntent({ socketHandles: ['h:999999'] })), /socket handle "h:999999" not found: it was never registered/],
        [desired(member(MESH4), podIntent({ socketHandles: [gone] })), /not found: it was closed/],
        [desired(member(MESH4), podIntent({ socketHandles: [elsewhereHandle] })), /socket h:\d+ \(fd \d+\) is not a TCP socket of the pod's network namespace/],
        [desired(member(MESH4), podIntent({ socketHandles: [hbone, hbone] })), /lists a handle twice/],
        [desired(member(MESH4), podIntent(), podIntent({ uid: 'other', addresses: ['10.92.0.3'] })), /name the same network namespace/],
        [desired(member('10.92.0.300')), /not an IP address/],
      ];
      for (const [state, why] of cases) {
        await expect(plugin.apply(state)).rejects.toMatchObject({ code: 'ERR_INTENT_REJECTED', message: expect.stringMatching(why) });
      }
    } finally {
      closeSync(file);
      registry.release(elsewhereHandle);
      await new Promise((resolve) => elsewhere.close(resolve));
    }
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
    expect(podStatus(plugin)?.netns).toBe(podNs);
    expect(netnsLinks()).toHaveLength(1);
  });

  it('a restart with keepPinned keeps diverting, then re-adopts link, maps and counters', async () => {
    const first = await meshed();
    const before = podStatus(first)!;
    await first.close({ keepPinned: true });
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true); // nobody runs, the pins do
    const second = create();
    await startUp(second);
    const adopted = podStatus(second)!;
    expect(adopted).toMatchObject({ uid, slot: before.slot, addresses: [POD4, POD6], sockets: before.sockets, pinned: before.pinned });
    expect(adopted.netns).toBeUndefined();
    expect(adopted.counters.diverted).toBe(before.counters.diverted + 1);
    expect(diverted(await fromPeer(MESH6, POD6), POD6)).toBe(true);
    expect(await second.apply(fullMesh())).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(podStatus(second)?.netns).toBe(podNs);
    expect(netnsLinks()).toHaveLength(1); // re-adopted, not doubled
  });

  it("a pod whose namespace changes moves its link; a pod whose namespace died is removed cleanly", async () => {
    const plugin = await meshed();
    const x = lab.nsPath(lab.addNetns('x'));
    const y = lab.nsPath(lab.addNetns('y'));
    const moving = (netns: string): Intent => ({ kind: SKLOOKUP_POD_KIND, uid: 'moving/pod.1', netns, addresses: ['10.92.5.1'] });
    expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6), podIntent(), moving(x)))).toEqual({
      added: 1,
      updated: 0,
      removed: 0,
    });
    expect(netnsLinks(x)).toHaveLength(1);
    expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6), podIntent(), moving(y)))).toEqual({
      added: 0,
      updated: 1,
      removed: 0,
    });
    expect(netnsLinks(x)).toEqual([]);
    expect(netnsLinks(y)).toHaveLength(1);
    const pinned = ((plugin.status().details as { pods: PodStatus[] }).pods.find((p) => p.uid === 'moving/pod.1'))!.pinned!;
    expect(pinned).toMatch(/\/pod-2-moving%2Fpod%2E1$/);
    // the pod is deleted before the source says so: its namespace goes, the link dies with it
    tryRun(['ip', 'netns', 'del', y.split('/').pop()!]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await plugin.apply(fullMesh())).toEqual({ added: 0, updated: 0, removed: 1 });
    expect(existsSync(pinned)).toBe(false);
    expect(diverted(await fromPeer(MESH4, POD4), POD4)).toBe(true);
  });

  it('removing the pod removes its link and entries', async () => {
    const plugin = await meshed();
    const pinned = podStatus(plugin)!.pinned!;
    expect(await plugin.apply(desired(member(POD4), member(POD6), member(MESH4), member(MESH6)))).toEqual({ added: 0, updated: 0, removed: 1 });
    expect(existsSync(pinned)).toBe(false);
    expect(netnsLinks()).toEqual([]);
    expect(plugin.status().attachments).toEqual([]);
    const maps = plugin.status().maps;
    expect(maps.find((m) => m.name === 'skl_pods')?.entries).toBe(0);
    expect(maps.find((m) => m.name === 'skl_sockets')?.entries).toBe(0);
    expect(maps.find((m) => m.name === 'skl_members')?.entries).toBe(4);
    expect(reachedApp(await fromPeer(MESH4, POD4))).toBe(true);
    expect(reachedApp(await fromPeer(MESH6, POD6))).toBe(true);
    await plugin.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
    expect(existsSync(bypassPin)).toBe(true); // the shared map is its owner's
  });
});
