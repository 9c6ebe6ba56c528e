/**
 * Pods -> `sklookup.pod` intents for the sk_lookup plugin (pure; the kind is @bpfsteer/contract-mesh's):
 * one per pod the proxy confirmed. `netns` is a path that opens the pod's netns while the pod
 * exists; `socketFds` the pod's HBONE listeners: absent while none was found yet, `[]` when the
 * proxy's listeners were let go because the proxy is gone.
 */
import { SKLOOKUP_POD_KIND, type SklookupPodIntent } from '@bpfsteer/contract-mesh';
import type { PodNetwork } from './hbone-listeners.js';

/** The `socketFds` of a pod: its listeners' fds (IPv4 first), [] when lost, undefined when not known yet. */
export function podSocketFds(pod: Pick<PodNetwork, 'listeners' | 'listenersLost'>): number[] | undefined {
  if (pod.listeners.length > 0) return [...pod.listeners].sort((a, b) => a.family - b.family).map((l) => l.fd);
  return pod.listenersLost ? [] : undefined;
}

export function sklookupPodIntents(pods: readonly PodNetwork[]): SklookupPodIntent[] {
  return pods
    .filter((p) => p.confirmed)
    .map((p) => {
      const socketFds = podSocketFds(p);
      const intent: SklookupPodIntent = {
        kind: SKLOOKUP_POD_KIND,
        uid: p.uid,
        netns: p.netnsPath,
        addresses: [...p.addresses],
        ...(socketFds !== undefined ? { socketFds } : {}),
      };
      return intent;
    })
    .sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}
