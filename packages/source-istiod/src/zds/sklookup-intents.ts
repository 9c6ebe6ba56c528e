/**
 * Pods -> intents for the sk_lookup plugin (pure). PROVISIONAL kind, until plugin-sklookup fixes
 * its contract:
 *   sklookup.pod { uid, netns, addresses, socketFd? }   one per pod the proxy confirmed
 * `netns` is a path that opens the pod's netns while the pod exists; `socketFd` the HBONE listener
 * to steer to, when one is known.
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import type { PodListener, PodNetwork } from './hbone-listeners.js';

export const SKLOOKUP_POD_KIND = 'sklookup.pod';

/**
 * The one listener to steer a pod's connections to: a dual-stack IPv6 one (takes both families),
 * else the IPv4 one when the pod has IPv4 addresses, else the first.
 */
export function primaryListener(pod: Pick<PodNetwork, 'addresses' | 'listeners'>): PodListener | undefined {
  const dual = pod.listeners.find((l) => l.family === 6 && l.v6Only === false);
  if (dual) return dual;
  const hasV4 = pod.addresses.some((a) => !a.includes(':'));
  return (hasV4 ? pod.listeners.find((l) => l.family === 4) : undefined) ?? pod.listeners[0];
}

export function sklookupPodIntents(pods: readonly PodNetwork[]): Intent[] {
  return pods
    .filter((p) => p.confirmed)
    .map((p) => {
      const listener = primaryListener(p);
      return {
        kind: SKLOOKUP_POD_KIND,
        uid: p.uid,
        netns: p.netnsPath,
        addresses: [...p.addresses],
        ...(listener ? { socketFd: listener.fd } : {}),
      };
    })
    .sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}
