/**
 * The agent plugin's lifecycle against the asymmetric-routing lab: open -> load -> seed -> attach
 * -> apply (full desired state, diffed; a rejected state changes nothing) -> status -> close, and a
 * restart with keepPinned that re-adopts the maps and the filter.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import type { DataplanePlugin, DesiredState, Intent, MetricFamily } from '@bpfsteer/agent-kernel';
import { autoTcLinkType } from '@bpfsteer/core-bpf';
import { NetLab, buildAsymmetricRoutingLab, type AsymmetricPlan, type Listener } from '@bpfsteer/netlab';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NEXTHOP_REDIRECT_KIND } from '@bpfsteer/contract-nexthop';
import { tcNexthopPlugin, type TcNexthopConfig } from '../src/tc-nexthop-plugin.js';

describe('tcNexthopPlugin lifecycle', () => {
  const lab = NetLab.create('tnk');
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tnk-${process.pid}-${randomBytes(3).toString('hex')}`;
  const l = buildAsymmetricRoutingLab(lab);
  const plugins: DataplanePlugin[] = [];
  let listener: Listener;

  const create = (config: Partial<TcNexthopConfig> = {}) => {
    const parsed = tcNexthopPlugin.configSchema.parse({ interfaces: [l.serverIf.toGateway], netns: lab.nsPath(l.netns.server), ...config });
    const plugin = tcNexthopPlugin.create(parsed, { logger: pino({ level: 'silent' }), pinRoot, signal: new AbortController().signal });
    plugins.push(plugin);
    return plugin;
  };
  const startUp = async (plugin: DataplanePlugin) => {
    await plugin.open();
    await plugin.load();
    await plugin.seed();
    await plugin.attach();
  };
  const intent = (plan: AsymmetricPlan, prefix: number, extra: Record<string, unknown> = {}): Intent => ({
    kind: NEXTHOP_REDIRECT_KIND,
    source: `${plan.service}/${prefix}`,
    nexthop: plan.routerOnServerLink,
    interface: l.serverIf.toRouter,
    ...extra,
  });
  const desired = (...intents: Intent[]): DesiredState => new Map([[NEXTHOP_REDIRECT_KIND, intents]]);
  const tcpWorks = async () => (await lab.exchange(l.netns.client, 'tcp', l.v4.service, listener.port, { timeoutMs: 1500 })).ok;

  beforeAll(async () => {
    listener = await lab.listen(l.netns.server, 'tcp', l.v4.service, 0);
  });
  afterAll(async () => {
    for (const p of plugins) await p.close({ keepPinned: false }).catch(() => undefined);
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true });
    listener?.close();
    await lab.destroy();
  });

  it('converges to the desired state and reports it', async () => {
    const plugin = create();
    await startUp(plugin);
    expect(await tcpWorks()).toBe(false);

    expect(await plugin.apply(desired(intent(l.v4, 32), intent(l.v6, 128)))).toEqual({ added: 2, updated: 0, removed: 0 });
    expect(await tcpWorks()).toBe(true);
    expect(await plugin.apply(desired(intent(l.v4, 32), intent(l.v6, 128)))).toEqual({ added: 0, updated: 0, removed: 0 });

    const status = plugin.status();
    expect(status.attachments).toEqual([
      {
        target: `${l.serverIf.toGateway} egress (netns ${lab.nsPath(l.netns.server)})`,
        type: autoTcLinkType('egress'),
        pinned: `${pinRoot}/links/egress-${l.serverIf.toGateway}`,
      },
    ]);
    expect(status.maps.find((m) => m.name === 'tcnh_v4_pfx')).toEqual({ name: 'tcnh_v4_pfx', entries: 1, maxEntries: 16384 });
    expect(status.maps.find((m) => m.name === 'tcnh_rules')).toEqual({ name: 'tcnh_rules', entries: 2, maxEntries: 16385 });
    const details = status.details as { maxRules: number; rules: { source: string; interface: string; packets: number }[] };
    expect(details.maxRules).toBe(16384);
    expect(details.rules.map((r) => [r.source, r.interface])).toEqual([
      ['192.168.1.5/32', 'eth-rt'],
      ['fd00:1::5/128', 'eth-rt'],
    ]);
    expect(details.rules[0].packets).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(status))).toEqual(status); // JSON-serialisable

    // a desired state with one bad intent is rejected as a whole
    await expect(plugin.apply(desired(intent(l.v4, 32), intent(l.v6, 128, { interface: 'nope0' })))).rejects.toThrow(/interface nope0/);
    await expect(plugin.apply(desired(intent(l.v4, 32), intent(l.v6, 128, { nexthop: l.v4.routerOnServerLink })))).rejects.toThrow(/same family/);
    const after = plugin.status().details as { rules: { source: string }[] };
    expect(after.rules.map((r) => r.source)).toEqual(['192.168.1.5/32', 'fd00:1::5/128']);
    expect(await tcpWorks()).toBe(true);

    // an empty desired state removes everything
    expect(await plugin.apply(new Map())).toEqual({ added: 0, updated: 0, removed: 2 });
    expect(await tcpWorks()).toBe(false);
    await plugin.close({ keepPinned: false });
    expect(existsSync(pinRoot)).toBe(false);
  });

  it('serves each rule\'s redirected packets and bytes as Prometheus counters that grow with real traffic', async () => {
    const plugin = create();
    await startUp(plugin);
    await plugin.apply(desired(intent(l.v4, 32), intent(l.v6, 128)));
    const v4 = { source: `${l.v4.service}/32`, via: l.v4.routerOnServerLink, interface: l.serverIf.toRouter };
    const value = (families: readonly MetricFamily[], name: string) =>
      families.find((f) => f.name === name)!.values.find((v) => v.labels?.source === v4.source)!;
    const before = await plugin.metrics!();
    expect(before.map((f) => `${f.name} ${f.type} ${f.values.length}`)).toEqual([
      'bpfsteer_nexthop_redirected_packets_total counter 2',
      'bpfsteer_nexthop_redirected_bytes_total counter 2',
    ]);
    expect(value(before, 'bpfsteer_nexthop_redirected_packets_total').labels).toEqual(v4);
    expect(await tcpWorks()).toBe(true);
    const after = await plugin.metrics!();
    for (const name of ['bpfsteer_nexthop_redirected_packets_total', 'bpfsteer_nexthop_redirected_bytes_total']) {
      expect(value(after, name).value, name).toBeGreaterThan(value(before, name).value);
    }
    expect(value(after, 'bpfsteer_nexthop_redirected_bytes_total').value).toBeGreaterThan(value(after, 'bpfsteer_nexthop_redirected_packets_total').value);
    await plugin.close({ keepPinned: false });
  });

  it('survives a restart with keepPinned and drops filters of interfaces no longer configured', async () => {
    const first = create({ interfaces: [l.serverIf.toGateway, l.serverIf.toRouter] });
    await startUp(first);
    await first.apply(desired(intent(l.v4, 32)));
    expect(readdirSync(`${pinRoot}/links`).sort()).toEqual([`egress-${l.serverIf.toGateway}`, `egress-${l.serverIf.toRouter}`]);
    expect(await tcpWorks()).toBe(true);
    await first.close({ keepPinned: true });
    expect(await tcpWorks()).toBe(true);

    const second = create();
    await second.open();
    await second.load();
    await second.seed();
    expect((second.status().details as { rules: unknown[] }).rules).toHaveLength(1); // adopted before attach
    await second.attach();
    expect(readdirSync(`${pinRoot}/links`)).toEqual([`egress-${l.serverIf.toGateway}`]);
    expect(await second.apply(desired(intent(l.v4, 32)))).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(await tcpWorks()).toBe(true);
    await second.close({ keepPinned: false });
    expect(await tcpWorks()).toBe(false);
  });
});
