/**
 * Pods -> `sklookup.pod` intents for the sk_lookup plugin (pure; the kind is @bpfsteer/contract-mesh's):
 * one per pod the proxy confirmed. The pod's netns and its HBONE listeners are named by the handles
 * they were registered under in the agent's socket-handle registry (see MeshPublisher):
 * `netnsHandle` the namespace; `socketHandles` the listeners: absent while none was found yet, `[]`
 * when the proxy's listeners were let go because the proxy is gone.
 */
import { SKLOOKUP_POD_KIND, type SklookupPodIntent } from '@bpfsteer/contract-mesh';
import type { PodListener, PodNetwork } from './hbone-listeners.js';

/** The handles a pod's fds are registered under. */
export interface PodHandles {
  readonly netns: string;
  /** the handle of one of the pod's listeners */
  readonly socket: (listener: PodListener) => string;
}

/** The `socketHandles` of a pod: its listeners' handles (IPv4 first), [] when lost, undefined when not known yet. */
export function podSocketHandles(pod: Pick<PodNetwork, 'listeners' | 'listenersLost'>, socket: (listener: PodListener) => string): string[] | undefined {
  if (pod.listeners.length > 0) return [...pod.listeners].sort((a, b) => a.family - b.family).map(socket);
  return pod.listenersLost ? [] : undefined;
}

/** The intents of the confirmed `pods`, sorted by uid; `handlesOf` gives each pod's handles. */
export function sklookupPodIntents(pods: readonly PodNetwork[], handlesOf: (pod: PodNetwork) => PodHandles): SklookupPodIntent[] {
  return pods
    .filter((p) => p.confirmed)
    .map((p) => {
      const handles = handlesOf(p);
      const socketHandles = podSocketHandles(p, handles.socket);
      const intent: SklookupPodIntent = {
        kind: SKLOOKUP_POD_KIND,
        uid: p.uid,
        netnsHandle: handles.netns,
        addresses: [...p.addresses],
        ...(socketHandles !== undefined ? { socketHandles } : {}),
      };
      return intent;
    })
    .sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
}
