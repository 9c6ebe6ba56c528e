/**
 * The lab of the dataplane's kernel tests: a client netns (10.0.0.2, default route via the router)
 * and a router netns (eth-c, 10.0.0.1) joined by a veth, `localRoute` routed to the router's lo (the
 * diverted destinations), and a ziti-like listener in the router that reports the original destination.
 * Each test file makes its own (uniquely named NetLab) and closes it, also on failure.
 */
import { NetLab, startZitiListener, type ZitiListener } from '@bpfsteer/netlab';

export interface RouterLab {
  readonly lab: NetLab;
  readonly client: string;
  readonly router: string;
  readonly ziti: ZitiListener;
  /** closes the listener and removes the lab */
  close(): Promise<void>;
}

export async function routerLab(name: string, localRoute: string): Promise<RouterLab> {
  const lab = NetLab.create(name);
  let ziti: ZitiListener | undefined;
  try {
    const client = lab.addNetns('c');
    const router = lab.addNetns('r');
    lab.addVeth({ netns: client, ifname: 'eth0', addresses: ['10.0.0.2/24'] }, { netns: router, ifname: 'eth-c', addresses: ['10.0.0.1/24'] });
    lab.ip(client, 'route', 'add', 'default', 'via', '10.0.0.1');
    lab.ip(router, 'route', 'add', 'local', localRoute, 'dev', 'lo');
    ziti = await startZitiListener(router);
    const listener = ziti;
    return {
      lab,
      client,
      router,
      ziti: listener,
      async close() {
        try {
          listener.close();
        } finally {
          await lab.destroy();
        }
      },
    };
  } catch (err) {
    ziti?.close();
    await lab.destroy();
    throw err;
  }
}
