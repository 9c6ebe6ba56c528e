import type { NetLab } from './net-lab.js';

/** One address family's view of the ambient pod lab. */
export interface AmbientPlan {
  /** the pod's address */
  readonly pod: string;
  /** a peer address that belongs to a mesh workload (HBONE) */
  readonly mesh: string;
  /** a peer address outside the mesh */
  readonly outside: string;
}

export interface AmbientPodLab {
  readonly netns: { readonly pod: string; readonly peer: string };
  readonly v4: AmbientPlan;
  readonly v6: AmbientPlan;
}

/**
 * A meshed pod and the rest of the mesh, in two netns (Istio ambient's transparent network
 * policies, seed 000):
 *
 *   pod (10.94.0.2, fd00:94::2) ---- peer (10.94.0.9 mesh, 10.94.0.10 not in the mesh; fd00:94::9, fd00:94::10)
 *
 * The peer netns holds both a mesh workload's address and a non-mesh client's, so a connection from
 * either is made by binding the source address. The application and the proxy go into the pod netns.
 */
export function buildAmbientPodLab(lab: NetLab): AmbientPodLab {
  const netns = { pod: lab.addNetns('pod'), peer: lab.addNetns('peer') };
  lab.addVeth(
    { netns: netns.pod, ifname: 'eth0', addresses: ['10.94.0.2/24', 'fd00:94::2/64'] },
    { netns: netns.peer, ifname: 'eth0', addresses: ['10.94.0.9/24', '10.94.0.10/24', 'fd00:94::9/64', 'fd00:94::10/64'] },
  );
  return {
    netns,
    v4: { pod: '10.94.0.2', mesh: '10.94.0.9', outside: '10.94.0.10' },
    v6: { pod: 'fd00:94::2', mesh: 'fd00:94::9', outside: 'fd00:94::10' },
  };
}
