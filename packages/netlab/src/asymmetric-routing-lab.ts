import type { NetLab } from './net-lab.js';

/** One address family's view of the asymmetric-routing lab. */
export interface AsymmetricPlan {
  /** the service address on the server's lo: what the client talks to */
  readonly service: string;
  /** the router's address on the server link: the next hop that fixes the asymmetry */
  readonly routerOnServerLink: string;
  /** the client's own address */
  readonly client: string;
  /** the default gateway's address on the server's gateway link (a dead end for this traffic) */
  readonly gateway: string;
}

export interface AsymmetricRoutingLab {
  readonly netns: { readonly client: string; readonly router: string; readonly server: string; readonly gateway: string };
  /** server interfaces: its default-gateway side (where the egress filter goes) and its router side */
  readonly serverIf: { readonly toGateway: string; readonly toRouter: string };
  readonly v4: AsymmetricPlan;
  readonly v6: AsymmetricPlan;
}

/**
 * The client/router/server lab of the tc-nexthop seed, in four netns:
 *
 *   client (10.111.222.31) -- router (.222.21 | .221.21) -- (.221.11) server (.220.11) -- gateway (.220.1)
 *                                                        192.168.1.5/32 on server lo
 *
 * The client reaches 192.168.1.5 through the router, but the server has no route back to the client
 * except its default route through the gateway, which does not forward: replies are lost until they
 * are redirected by source address to the router. The router runs strict rp_filter; the server needs
 * rp_filter=0 and arp_announce=2. IPv6 mirrors it on fd00:2xx::/64 with the service fd00:1::5.
 */
export function buildAsymmetricRoutingLab(lab: NetLab): AsymmetricRoutingLab {
  const netns = {
    client: lab.addNetns('cli'),
    router: lab.addNetns('rtr'),
    server: lab.addNetns('srv'),
    gateway: lab.addNetns('gw'),
  };
  const serverIf = { toGateway: 'eth-gw', toRouter: 'eth-rt' };
  lab.addVeth(
    { netns: netns.client, ifname: 'eth0', addresses: ['10.111.222.31/24', 'fd00:222::31/64'] },
    { netns: netns.router, ifname: 'eth-cli', addresses: ['10.111.222.21/24', 'fd00:222::21/64'] },
  );
  lab.addVeth(
    { netns: netns.router, ifname: 'eth-srv', addresses: ['10.111.221.21/24', 'fd00:221::21/64'] },
    { netns: netns.server, ifname: serverIf.toRouter, addresses: ['10.111.221.11/24', 'fd00:221::11/64'] },
  );
  lab.addVeth(
    { netns: netns.server, ifname: serverIf.toGateway, addresses: ['10.111.220.11/24', 'fd00:220::11/64'] },
    { netns: netns.gateway, ifname: 'eth0', addresses: ['10.111.220.1/24', 'fd00:220::1/64'] },
  );
  lab.ip(netns.server, 'addr', 'add', '192.168.1.5/32', 'dev', 'lo');
  lab.ip(netns.server, 'addr', 'add', 'fd00:1::5/128', 'dev', 'lo');

  lab.ip(netns.client, 'route', 'add', 'default', 'via', '10.111.222.21');
  lab.ip(netns.client, '-6', 'route', 'add', 'default', 'via', 'fd00:222::21');

  lab.sysctl(netns.router, 'net.ipv4.ip_forward', 1);
  lab.sysctl(netns.router, 'net.ipv6.conf.all.forwarding', 1);
  lab.sysctl(netns.router, 'net.ipv4.conf.all.rp_filter', 1);
  lab.sysctl(netns.router, 'net.ipv4.conf.default.rp_filter', 1);
  for (const dev of ['eth-cli', 'eth-srv']) lab.sysctl(netns.router, `net.ipv4.conf.${dev}.rp_filter`, 1);
  lab.ip(netns.router, 'route', 'add', '192.168.1.5/32', 'via', '10.111.221.11');
  lab.ip(netns.router, '-6', 'route', 'add', 'fd00:1::5/128', 'via', 'fd00:221::11');

  lab.ip(netns.server, 'route', 'add', 'default', 'via', '10.111.220.1');
  lab.ip(netns.server, '-6', 'route', 'add', 'default', 'via', 'fd00:220::1');
  lab.sysctl(netns.server, 'net.ipv4.conf.all.rp_filter', 0);
  lab.sysctl(netns.server, 'net.ipv4.conf.default.rp_filter', 0);
  lab.sysctl(netns.server, 'net.ipv4.conf.all.arp_announce', 2);

  // the gateway is a dead end for the client's traffic: it forwards nothing
  lab.sysctl(netns.gateway, 'net.ipv4.ip_forward', 0);
  lab.sysctl(netns.gateway, 'net.ipv6.conf.all.forwarding', 0);

  return {
    netns,
    serverIf,
    v4: { service: '192.168.1.5', routerOnServerLink: '10.111.221.21', client: '10.111.222.31', gateway: '10.111.220.1' },
    v6: { service: 'fd00:1::5', routerOnServerLink: 'fd00:221::21', client: 'fd00:222::31', gateway: 'fd00:220::1' },
  };
}
