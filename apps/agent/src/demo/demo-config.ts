/**
 * The embedded config of `bpfsteer demo nexthop`: the tc-nexthop plugin on the lab server's
 * default-gateway interface, and one static intent per address family that sends the server's
 * replies (by source address) to the router instead.
 */
import type { AsymmetricRoutingLab } from '@bpfsteer/netlab';

export function demoConfig(lab: AsymmetricRoutingLab, pinRoot: string): Record<string, unknown> {
  return {
    agent: { pinRoot, adminSocket: false, logLevel: 'warn' },
    plugins: [
      {
        id: 'tc-nexthop',
        netns: `/var/run/netns/${lab.netns.server}`,
        interfaces: [lab.serverIf.toGateway],
      },
    ],
    sources: [
      {
        type: 'static',
        intents: [lab.v4, lab.v6].map((plan) => ({
          kind: 'nexthop.redirect',
          source: `${plan.service}/${plan.service.includes(':') ? 128 : 32}`,
          interface: lab.serverIf.toRouter,
          nexthop: plan.routerOnServerLink,
        })),
      },
    ],
  };
}
