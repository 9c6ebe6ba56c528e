/**
 * The cgroup-mark plugin on a real cgroup and real TCP: the marked SYNs a process of the proxy's
 * cgroup sends to local addresses (IPv4 and IPv6) are recorded in mesh_bypass; unmarked ones,
 * other marks, other cgroups and connections to other hosts are not. A restart with keepPinned
 * re-adopts the link and the map; a plain close removes everything.
 * The lab and the cgroup are built once per file; each test starts its own plugin in its own pin
 * root (fresh map and counters) and closes it, so any test runs alone.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import type { DataplanePlugin, MetricFamily } from '@bpfsteer/agent-kernel';
import { BpfMap, TypedMap, createCgroup, removeCgroup } from '@bpfsteer/core-bpf';
import { NetLab, tryRun, type Listener, tcpClient } from '@bpfsteer/netlab';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeBypassEntry } from '../src/bypass-entry.js';
import type { CgroupMarkConfig } from '../src/cgroup-mark-config.js';
import { cgroupMarkPlugin } from '../src/cgroup-mark-plugin.js';
import { bypassKeyCodec, bypassValueCodec } from '../src/map-codecs.js';

describe('cgroupMarkPlugin on a real cgroup', () => {
  const suffix = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const lab = NetLab.create('cgm');
  /** this test's pin root */
  let pinRoot = '';
  let tests = 0;
  const cgroupName = `bpfsteer-test-cgm-${suffix}`;
  const plugins: DataplanePlugin[] = [];
  const listeners: Listener[] = [];
  let cgroup = '';
  let pod = '';
  let peer = '';

  const create = (config: Partial<CgroupMarkConfig> = {}) => {
    const parsed = cgroupMarkPlugin.configSchema.parse({ cgroup: cgroupName, ...config });
    const plugin = cgroupMarkPlugin.create(parsed, { logger: pino({ level: 'silent' }), pinRoot, signal: new AbortController().signal });
    plugins.push(plugin);
    return plugin;
  };
  const startUp = async (plugin: DataplanePlugin) => {
    await plugin.open();
    await plugin.load();
    await plugin.seed();
    await plugin.attach();
  };
  /** A started plugin of this test with the default config. */
  const started = async () => {
    const plugin = create();
    await startUp(plugin);
    return plugin;
  };
  const entries = () => {
    const map = TypedMap.wrap(BpfMap.fromPinned(`${pinRoot}/maps/mesh_bypass`), bypassKeyCodec, bypassValueCodec);
    try {
      const now = process.hrtime.bigint();
      return [...map.entries()].map(([key, value]) => describeBypassEntry({ key, value }, now));
    } finally {
      map.map.close();
    }
  };
  /** the programs attached to the test cgroup (bpftool prints an empty line for none) */
  const cgroupPrograms = (): unknown[] => JSON.parse(tryRun(['bpftool', 'cgroup', 'show', cgroup, '-j']).stdout.trim() || '[]');
  const endpoint = (a: [string, number]) => (a[0].includes(':') ? `[${a[0]}]:${a[1]}` : `${a[0]}:${a[1]}`);
  const recorded = (local: [string, number] | undefined) => entries().some((e) => local && e.remote === endpoint(local));
  const stats = (plugin: DataplanePlugin) => (plugin.status().details as { stats: Record<string, number> }).stats;
  const client = (o: { host: string; mark?: number; inCgroup?: boolean; bind?: string }) =>
    tcpClient({ netns: lab.nsPath(pod), host: o.host, port: 80, mark: o.mark, bind: o.bind, ...(o.inCgroup === false ? {} : { cgroup }) });

  beforeAll(async () => {
    pod = lab.addNetns('pod');
    peer = lab.addNetns('peer');
    lab.addVeth(
      { netns: pod, ifname: 'eth0', addresses: ['10.91.0.2/24', 'fd00:91::2/64'] },
      { netns: peer, ifname: 'eth0', addresses: ['10.91.0.1/24', 'fd00:91::1/64'] },
    );
    listeners.push(await lab.listen(pod, 'tcp', '::', 80), await lab.listen(peer, 'tcp', '::', 80));
    cgroup = createCgroup(cgroupName);
  });
  afterAll(async () => {
    try {
      for (const l of listeners) l.close();
    } finally {
      await lab.destroy();
      if (cgroup) removeCgroup(cgroup);
    }
  });
  beforeEach(() => {
    pinRoot = `/sys/fs/bpf/bpfsteer-test-cgm-${suffix}-${++tests}`;
  });
  afterEach(async () => {
    // every plugin of the test (closing a closed one again is harmless), then whatever it left pinned
    for (const p of plugins.splice(0)) await p.close({ keepPinned: false }).catch(() => undefined);
    rmSync(pinRoot, { recursive: true, force: true });
  });

  it("records the marked SYNs of the cgroup's connections to local addresses (IPv4 and IPv6)", async () => {
    const plugin = await started();
    const status = plugin.status();
    expect(status.attachments).toEqual([{ target: `cgroup ${cgroup}`, type: 'cgroup_skb-egress', pinned: expect.stringMatching(new RegExp(`^${pinRoot}/links/egress-\\d+$`)) }]);
    expect(status.details).toMatchObject({ mark: '0x539/0xfff', localOnly: true, bypassMapPin: `${pinRoot}/maps/mesh_bypass` });

    const v4 = await client({ host: '10.91.0.2', mark: 0x539, bind: '10.91.0.2' });
    expect(v4).toMatchObject({ ok: true, reply: 'echo:hi' });
    const v6 = await client({ host: 'fd00:91::2', mark: 0x539 });
    expect(v6).toMatchObject({ ok: true, reply: 'echo:hi' });
    const all = entries();
    expect(all).toContainEqual({ remote: endpoint(v4.local!), local: '10.91.0.2:80', ageMs: expect.any(Number) });
    expect(all).toContainEqual({ remote: endpoint(v6.local!), local: '[fd00:91::2]:80', ageMs: expect.any(Number) });
    expect(all.every((e) => e.ageMs < 10_000)).toBe(true);
    expect(stats(plugin)).toMatchObject({ markedSyns: 2, recorded: 2, notLocal: 0, recordFailed: 0 });
    expect(plugin.status().maps).toContainEqual({ name: 'mesh_bypass', entries: 2, maxEntries: 65536 });
  });

  it('ignores unmarked packets, other marks, other cgroups; bits above the mask do not matter', async () => {
    const plugin = await started();
    const unmarked = await client({ host: '10.91.0.2' });
    const tproxyMark = await client({ host: '10.91.0.2', mark: 0x111 });
    const outside = await client({ host: '10.91.0.2', mark: 0x539, inCgroup: false });
    const high = await client({ host: '10.91.0.2', mark: 0x10539 });
    for (const r of [unmarked, tproxyMark, outside, high]) expect(r).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(recorded(unmarked.local)).toBe(false);
    expect(recorded(tproxyMark.local)).toBe(false);
    expect(recorded(outside.local)).toBe(false);
    expect(recorded(high.local)).toBe(true);
    expect(stats(plugin)).toMatchObject({ markedSyns: 1, recorded: 1 }); // only the high-bits one
  });

  it('localOnly: a marked connection to another host is counted, not recorded', async () => {
    const plugin = await started();
    const remote = await client({ host: '10.91.0.1', mark: 0x539 });
    expect(remote).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(recorded(remote.local)).toBe(false);
    expect(stats(plugin)).toMatchObject({ markedSyns: 1, recorded: 0, notLocal: 1 });
  });

  it('serves the marked SYNs by outcome as Prometheus counters that grow with real connections', async () => {
    const plugin = await started();
    const value = (families: readonly MetricFamily[], outcome: string) =>
      families.find((f) => f.name === 'bpfsteer_cgroup_mark_marked_syns_total')!.values.find((v) => v.labels?.outcome === outcome)!.value;
    const before = await plugin.metrics!();
    expect(before.map((f) => `${f.name} ${f.type}`)).toEqual(['bpfsteer_cgroup_mark_marked_syns_total counter']);
    expect(await client({ host: '10.91.0.2', mark: 0x539, bind: '10.91.0.2' })).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(await client({ host: 'fd00:91::2', mark: 0x539 })).toMatchObject({ ok: true, reply: 'echo:hi' });
    expect(await client({ host: '10.91.0.1', mark: 0x539 })).toMatchObject({ ok: true, reply: 'echo:hi' }); // another host
    expect(await client({ host: '10.91.0.2' })).toMatchObject({ ok: true, reply: 'echo:hi' }); // unmarked: not counted
    const after = await plugin.metrics!();
    expect(value(after, 'recorded') - value(before, 'recorded')).toBe(2);
    expect(value(after, 'not_local') - value(before, 'not_local')).toBe(1);
    expect(value(after, 'record_failed')).toBe(0);
    expect(stats(plugin)).toMatchObject({ markedSyns: 3, recorded: value(after, 'recorded'), notLocal: value(after, 'not_local') });
  });

  it('a restart with keepPinned re-adopts link and map; a legacy preset; a plain close removes everything', async () => {
    const first = await started();
    const pin = first.status().attachments[0].pinned!;
    await first.close({ keepPinned: true });
    expect(existsSync(pin)).toBe(true);
    // still running while no agent runs
    const between = await client({ host: '10.91.0.2', mark: 0x539 });
    expect(recorded(between.local)).toBe(true);

    const second = create({ mark: 'ambient-legacy-connskip' });
    await startUp(second);
    expect(second.status().attachments.map((a) => a.pinned)).toEqual([pin]);
    expect(second.status().details).toMatchObject({ mark: '0x220/0x220' });
    expect(recorded(between.local)).toBe(true); // the map was reused
    const legacy = await client({ host: '10.91.0.2', mark: 0x220 });
    const inpod = await client({ host: '10.91.0.2', mark: 0x539 });
    expect(recorded(legacy.local)).toBe(true);
    expect(recorded(inpod.local)).toBe(false);
    // one program on the cgroup: the pinned link was switched, not doubled
    expect(cgroupPrograms()).toHaveLength(1);

    await second.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
    expect(cgroupPrograms()).toEqual([]);
  });

  it('a cgroup that does not exist is a clear error and attaches nothing', async () => {
    const plugin = create({ cgroup: `bpfsteer-test-cgm-missing-${suffix}` });
    await plugin.open();
    await plugin.load();
    await expect(plugin.attach()).rejects.toThrow(/cgroup .*bpfsteer-test-cgm-missing.* not found/);
    expect(plugin.status().attachments).toEqual([]);
    await plugin.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
    await expect(startUp(create({ cgroup: { process: `no-such-proc-${suffix}`.slice(0, 15) } }))).rejects.toThrow(/running process named/);
  });
});
