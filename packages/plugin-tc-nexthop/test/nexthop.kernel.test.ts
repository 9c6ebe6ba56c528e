/**
 * The seed's client/router/server lab with real traffic. The server's replies to the client would
 * leave by its default gateway (a dead end, and the router's strict rp_filter would drop them on
 * the wrong link anyway); the tc-nexthop filter on the gateway interface sends replies from the
 * service address to the router instead: ping and TCP work with the rule, fail without it.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { autoTcLinkType, BPFSTEER_NEIGH_PROTOCOL, InvalidArgumentError, listNeighbours, NotFoundError } from '@bpfsteer/core-bpf';
import { networkOf, parseIp } from '@bpfsteer/ip';
import { NetLab, buildAsymmetricRoutingLab, netlinkTcPrograms, type AsymmetricPlan, type Listener } from '@bpfsteer/netlab';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NexthopDataplane } from '../src/nexthop-dataplane.js';

/** The kernel's view of a pinned link: its id and the program it runs. */
function pinnedLink(path: string): { id: number; prog_id: number } {
  const r = spawnSync('bpftool', ['-j', 'link', 'show', 'pinned', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftool link show pinned ${path}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Links currently running program `progId`. */
function linksOfProgram(progId: number): number[] {
  const r = spawnSync('bpftool', ['-j', 'link', 'show'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpftool link show: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { id: number; prog_id: number }[]).filter((l) => l.prog_id === progId).map((l) => l.id);
}

describe('tc-nexthop in the asymmetric-routing lab', () => {
  const lab = NetLab.create('tnh');
  const pinRoot = `/sys/fs/bpf/bpfsteer-test-tnh-${process.pid}-${randomBytes(3).toString('hex')}`;
  const l = buildAsymmetricRoutingLab(lab);
  const dataplanes: NexthopDataplane[] = [];
  const listeners: Partial<Record<'v4' | 'v6', Listener>> = {};

  const start = () => {
    const dp = NexthopDataplane.start({ pinRoot, netns: l.netns.server });
    dataplanes.push(dp);
    return dp;
  };
  /** the redirect rule for the network of `plan.service` at `prefix` (a source prefix names a network) */
  const rule = (plan: AsymmetricPlan, prefix: number) => ({
    source: networkOf(parseIp(plan.service), prefix).text,
    nexthop: plan.routerOnServerLink,
    interface: l.serverIf.toRouter,
  });
  /**
   * A TCP exchange and one ping from the client to the service address. A single ping suffices:
   * the dataplane keeps a kernel-managed neighbour entry for every next hop, so even the first
   * redirected packet finds it resolved (see the first-packet test below).
   */
  const works = async (family: 'v4' | 'v6'): Promise<{ ping: boolean; tcp: boolean }> => {
    const plan = l[family];
    const tcp = (await lab.exchange(l.netns.client, 'tcp', plan.service, listeners[family]!.port, { timeoutMs: 1500 })).ok;
    const ping = lab.ping(l.netns.client, plan.service, { timeoutSec: 1 });
    return { ping, tcp };
  };
  const ok = { ping: true, tcp: true };
  const broken = { ping: false, tcp: false };

  beforeAll(async () => {
    listeners.v4 = await lab.listen(l.netns.server, 'tcp', l.v4.service, 0);
    listeners.v6 = await lab.listen(l.netns.server, 'tcp', l.v6.service, 0);
  });

  afterAll(async () => {
    for (const dp of dataplanes) {
      try {
        dp.close({ keepPinned: false });
      } catch {
        // keep cleaning up
      }
    }
    if (existsSync(pinRoot)) rmSync(pinRoot, { recursive: true });
    listeners.v4?.close();
    listeners.v6?.close();
    await lab.destroy();
  });

  it('fails without a rule (replies leave by the default gateway)', async () => {
    expect(await works('v4')).toEqual(broken);
    expect(await works('v6')).toEqual(broken);
  });

  /** Our managed neighbour entries in the server netns, as "interface nexthop" */
  const ourNeighbours = () =>
    listNeighbours({ netns: l.netns.server, protocol: BPFSTEER_NEIGH_PROTOCOL })
      .map((n) => `${n.ifname} ${n.address}${n.managed ? '' : ' (not managed)'}`)
      .sort();
  const waitReachable = async (dp: NexthopDataplane, count: number) => {
    const end = Date.now() + 3000;
    while (dp.status().neighbours.filter((n) => n.state === 'reachable').length < count) {
      if (Date.now() > end) throw new Error(`neighbours not reachable: ${JSON.stringify(dp.status().neighbours)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('delivers the very first packet after a neighbour flush: the next hop has a managed entry', async () => {
    const dp = start();
    dp.attachFilter(l.serverIf.toGateway);
    lab.ip(l.netns.server, 'neigh', 'flush', 'dev', l.serverIf.toRouter);
    expect(ourNeighbours()).toEqual([]);
    dp.setRules([rule(l.v4, 32), rule(l.v6, 128), rule(l.v6, 127)]); // two rules share one next hop
    expect(ourNeighbours()).toEqual(['eth-rt 10.111.221.21', 'eth-rt fd00:221::21']);
    await waitReachable(dp, 2); // the kernel resolves managed entries by itself
    expect(dp.status().problems).toEqual([]);
    expect(lab.ping(l.netns.client, l.v6.service, { count: 1, timeoutSec: 2 })).toBe(true);
    expect(lab.ping(l.netns.client, l.v4.service, { count: 1, timeoutSec: 2 })).toBe(true);

    // kept while some rule needs the pair, removed with the last one
    expect(dp.disableRedirect('fd00:1::5/128')).toBe(true);
    expect(ourNeighbours()).toEqual(['eth-rt 10.111.221.21', 'eth-rt fd00:221::21']);
    expect(dp.disableRedirect('fd00:1::4/127')).toBe(true);
    expect(ourNeighbours()).toEqual(['eth-rt 10.111.221.21']);
    expect(dp.disableRedirect('192.168.1.5/32')).toBe(true);
    expect(ourNeighbours()).toEqual([]);
    expect(dp.status().neighbours).toEqual([]);

    dp.enableRedirect(rule(l.v4, 32));
    expect(ourNeighbours()).toEqual(['eth-rt 10.111.221.21']);
    dp.close({ keepPinned: false });
    expect(ourNeighbours()).toEqual([]);
  });

  it('works with a rule per family, counts what it redirects, and fails again when removed', async () => {
    const dp = start();
    const f = dp.attachFilter(l.serverIf.toGateway);
    expect(f).toMatchObject({ interface: l.serverIf.toGateway, type: autoTcLinkType('egress'), pinned: `${pinRoot}/links/egress-${l.serverIf.toGateway}` });
    expect(dp.attachFilter(l.serverIf.toGateway)).toEqual(f); // a second attach is a no-op
    // the filter alone changes nothing
    expect(await works('v4')).toEqual(broken);

    expect(dp.enableRedirect(rule(l.v4, 32))).toEqual({ added: 1, updated: 0, removed: 0 });
    expect(await works('v4')).toEqual(ok);
    expect(await works('v6')).toEqual(broken);
    expect(dp.enableRedirect(rule(l.v6, 128))).toEqual({ added: 1, updated: 0, removed: 0 });
    expect(await works('v6')).toEqual(ok);

    const listed = dp.list();
    expect(listed.map(({ packets: _p, bytes: _b, ...r }) => r)).toEqual([
      { source: '192.168.1.5/32', nexthop: '10.111.221.21', interface: 'eth-rt', ifindex: lab.ifIndex(l.netns.server, 'eth-rt') },
      { source: 'fd00:1::5/128', nexthop: 'fd00:221::21', interface: 'eth-rt', ifindex: lab.ifIndex(l.netns.server, 'eth-rt') },
    ]);
    for (const r of listed) {
      expect(r.packets).toBeGreaterThan(0);
      expect(r.bytes).toBeGreaterThan(r.packets * 40);
    }

    expect(dp.disableRedirect('192.168.1.5')).toBe(true);
    expect(dp.disableRedirect('192.168.1.5')).toBe(false);
    expect(await works('v4')).toEqual(broken);
    expect(await works('v6')).toEqual(ok);
    // a covering shorter prefix works as well; replacing it by a wrong next hop breaks it again
    dp.enableRedirect(rule(l.v4, 24));
    expect(await works('v4')).toEqual(ok);
    expect(dp.enableRedirect({ ...rule(l.v4, 24), nexthop: '10.111.221.99' })).toEqual({ added: 0, updated: 1, removed: 0 });
    expect(await works('v4')).toEqual(broken);
    dp.enableRedirect(rule(l.v4, 24));
    expect(await works('v4')).toEqual(ok);

    dp.close({ keepPinned: false });
    expect(await works('v4')).toEqual(broken);
    expect(await works('v6')).toEqual(broken);
    expect(existsSync(pinRoot)).toBe(false);
  });

  it('rejects bad rules with a clear error and changes nothing', async () => {
    const dp = start();
    dp.attachFilter(l.serverIf.toGateway);
    dp.setRules([rule(l.v4, 32)]);
    const before = dp.list();
    const cases: [() => unknown, RegExp, new (...a: never[]) => Error][] = [
      [() => dp.enableRedirect({ ...rule(l.v6, 128), interface: 'nope0' }), /interface nope0 .*not found/, NotFoundError],
      [() => dp.enableRedirect({ ...rule(l.v4, 32), nexthop: 'fd00:221::21' }), /same family/, InvalidArgumentError],
      [() => dp.enableRedirect({ ...rule(l.v4, 32), source: '192.168.1.300/32' }), /source "192.168.1.300\/32" is not a CIDR/, InvalidArgumentError],
      [() => dp.enableRedirect({ ...rule(l.v4, 32), source: `${l.v4.service}/24` }), /has host bits set; did you mean/, InvalidArgumentError],
      [() => dp.setRules([rule(l.v6, 128), { ...rule(l.v4, 32), interface: 'nope0' }]), /interface nope0/, NotFoundError],
      [() => dp.setRules([rule(l.v6, 128), { ...rule(l.v4, 32), source: '10.0.0.0/40' }]), /rule #2: source "10.0.0.0\/40" is not a CIDR/, InvalidArgumentError],
      [() => dp.attachFilter('nope0'), /nope0/, Error],
    ];
    for (const [fn, message, type] of cases) {
      expect(fn).toThrow(message);
      expect(fn).toThrow(type);
      expect(dp.list().map(({ packets: _p, bytes: _b, ...r }) => r)).toEqual(before.map(({ packets: _p, bytes: _b, ...r }) => r));
    }
    expect(await works('v4')).toEqual(ok);
    dp.close({ keepPinned: false });
  });

  it('keeps working across a restart with keepPinned; the new instance re-adopts the filter', async () => {
    const first = start();
    first.attachFilter(l.serverIf.toGateway);
    first.setRules([rule(l.v4, 32), rule(l.v6, 128)]);
    expect(await works('v4')).toEqual(ok);
    const linkPin = `${pinRoot}/links/egress-${l.serverIf.toGateway}`;
    // a tcx link where the kernel has tcx; else a netlink filter whose program is pinned there
    const tcx = autoTcLinkType('egress') === 'tcx-egress';
    const serverNs = lab.nsPath(l.netns.server);
    const before = tcx ? pinnedLink(linkPin) : undefined;
    const filterBefore = tcx ? [] : netlinkTcPrograms(serverNs, l.serverIf.toGateway, 'egress').map((p) => p.id);
    if (!tcx) expect(filterBefore).toEqual([first.program.info().id]);
    const counted = first.list();
    first.close({ keepPinned: true });
    expect(ourNeighbours()).toEqual(['eth-rt 10.111.221.21', 'eth-rt fd00:221::21']); // kept with the pins

    // nothing runs in user space now: the pinned link and maps keep the redirect in force
    expect(await works('v4')).toEqual(ok);
    expect(await works('v6')).toEqual(ok);

    const second = start();
    expect(second.status().neighbours.map((n) => `${n.interface} ${n.nexthop} ${n.owned}`)).toEqual([
      'eth-rt 10.111.221.21 true',
      'eth-rt fd00:221::21 true',
    ]);
    const adopted = second.list();
    expect(adopted.map((r) => r.source)).toEqual(['192.168.1.5/32', 'fd00:1::5/128']);
    expect(adopted[0].packets).toBeGreaterThan(counted[0].packets); // counted while no agent ran
    second.attachFilter(l.serverIf.toGateway);
    if (tcx) {
      const after = pinnedLink(linkPin);
      expect(after.id).toBe(before!.id); // the same link, switched to the new program: no gap, no duplicate
      expect(after.prog_id).toBe(second.program.info().id);
      expect(linksOfProgram(before!.prog_id)).toEqual([]);
      expect(linksOfProgram(after.prog_id)).toEqual([after.id]);
    } else {
      // the one filter, now running the new program: no duplicate
      expect(netlinkTcPrograms(serverNs, l.serverIf.toGateway, 'egress').map((p) => p.id)).toEqual([second.program.info().id]);
    }
    expect(readdirSync(`${pinRoot}/links`)).toEqual([`egress-${l.serverIf.toGateway}`]);
    expect(await works('v4')).toEqual(ok);
    expect(await works('v6')).toEqual(ok);

    second.close({ keepPinned: false });
    expect(ourNeighbours()).toEqual([]);
    expect(await works('v4')).toEqual(broken);
    expect(await works('v6')).toEqual(broken);
    expect(existsSync(pinRoot)).toBe(false);
  });
});
