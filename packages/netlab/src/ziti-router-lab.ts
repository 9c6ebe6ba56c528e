import type { NetLab } from './net-lab.js';

/** The client/router lab of an OpenZiti router's tproxy interception. */
export interface ZitiRouterLab {
  readonly netns: { readonly client: string; readonly router: string };
  /** the router's interface toward the client (where the tc-tproxy firewall goes) */
  readonly routerIf: string;
  readonly client: string;
  readonly router: string;
  /** the intercepted service prefix: routed to the router, local there (as the ziti router makes it), nothing listens on it */
  readonly servicePrefix: string;
  /** the network address and prefix length of servicePrefix, as a router's `-c` / `-m` */
  readonly serviceNetwork: { readonly address: string; readonly length: number };
  /** two addresses of the service prefix, for the TCP and UDP probes */
  readonly tcpService: string;
  readonly udpService: string;
}

/**
 * Two netns, as in front of an OpenZiti edge router in tproxy mode:
 *
 *   client (10.98.0.2, cl0) ---- (10.98.0.1, rt0) router       10.98.99.0/24 local on the router's lo
 *
 * The client routes the service prefix 10.98.99.0/24 to the router, which makes it local (what the
 * router does for an intercepted address), so a connection to it reaches the router's own stack,
 * where nothing listens on it: TCP is refused, UDP is not answered, until something diverts the
 * flows to the router's tproxy listener (127.0.0.1, IP_TRANSPARENT).
 */
export function buildZitiRouterLab(lab: NetLab): ZitiRouterLab {
  const netns = { client: lab.addNetns('cl'), router: lab.addNetns('rt') };
  lab.addVeth(
    { netns: netns.client, ifname: 'cl0', addresses: ['10.98.0.2/24'] },
    { netns: netns.router, ifname: 'rt0', addresses: ['10.98.0.1/24'] },
  );
  lab.ip(netns.client, 'route', 'add', '10.98.99.0/24', 'via', '10.98.0.1');
  lab.ip(netns.router, 'route', 'add', 'local', '10.98.99.0/24', 'dev', 'lo');
  return {
    netns,
    routerIf: 'rt0',
    client: '10.98.0.2',
    router: '10.98.0.1',
    servicePrefix: '10.98.99.0/24',
    serviceNetwork: { address: '10.98.99.0', length: 24 },
    tcpService: '10.98.99.7',
    udpService: '10.98.99.9',
  };
}
