/**
 * Pods -> intents for the sk_lookup plugin (pure). PROVISIONAL kind, until plugin-sklookup fixes
 * its contract:
 *   sklookup.pod { uid, netns, addresses, socketFds? }   one per pod the proxy confirmed
 * `netns` is a path that opens the pod's netns while the pod exists; `socketFds` the pod's HBONE
 * listeners (at most one per address family; the plugin steers each address to the listener of its
 * family, or to a dual-stack one): absent while none was found yet (the plugin keeps the entries the
 * pod has, e.g. after an agent restart), `[]` when the proxy's listeners were let go because the
 * proxy is gone (the plugin drops the pod's entries: its connections take the normal lookup).
 */
import type { Intent } from '@bpfsteer/agent-kernel';
import type { PodNetwork } from './hbone-listeners.js';

export const SKLOOKUP_POD_KIND = 'sklookup.pod';

/** The `socketFds` of a pod: its listeners' fds (IPv4 first), [] when lost, undefined when not known yet. */
export function podSocketFds(pod: Pick<PodNetwork, 'listeners' | 'listenersLost'>): number[] | undefined {
  if (pod.listeners.length > 0) return [...pod.listeners].sort((a, b) => a.family - b.family).map((l) => l.fd);
  return pod.listenersLost ? [] : undefined;
}

export function sklookupPodIntents(pods: readonly PodNetwork[]): Intent[] {
  return pods
    .filter((p) => p.confirmed)
    .map((p) => {
      const socketFds = podSocketFds(p);
      return {
        kind: SKLOOKUP_POD_KIND,
        uid: p.uid,
        netns: p.netnsPath,
        addresses: [...p.addresses],
        ...(socketFds !== undefined ? { socketFds } : {}),
      };
    })
    .sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}
