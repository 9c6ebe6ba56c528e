/**
 * What the divert needs from the workload state: which IPs are mesh members (every address of every
 * workload whose tunnel protocol is HBONE, on this node's network) and which of those workloads run
 * on this node. A workload is known by its network and address together (Workload.network; empty:
 * the default network): in a multi-network mesh an address of another network may be the very IP
 * of a local non-mesh peer, reached here without Istio, so only this node's network counts.
 * Host-network workloads are left out: their address is the node's, shared with everything else on
 * the node (kubelet probes included), so it must never count as a mesh member.
 */
import { type AddressState, workloadsOf } from './address-state.js';

export interface LocalWorkload {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  readonly addresses: readonly string[];
}

export interface MeshView {
  /** IP addresses of HBONE workloads (not host-network), text form, sorted, without duplicates */
  readonly members: readonly string[];
  /** HBONE workloads whose node is this node, sorted by uid */
  readonly localWorkloads: readonly LocalWorkload[];
}

/**
 * `nodeName` is this node's Kubernetes node name (undefined or empty: no workload is local);
 * `network` this node's network (empty: the default one).
 */
export function meshView(state: AddressState, nodeName?: string, network = ''): MeshView {
  const members = new Set<string>();
  const local: LocalWorkload[] = [];
  for (const workload of workloadsOf(state)) {
    if (workload.tunnelProtocol !== 'HBONE' || workload.networkMode === 'HOST_NETWORK' || workload.network !== network) continue;
    for (const address of workload.addresses) members.add(address);
    if (nodeName && workload.node === nodeName) {
      local.push({
        uid: workload.uid,
        name: workload.name,
        namespace: workload.namespace,
        addresses: [...workload.addresses],
      });
    }
  }
  return {
    members: [...members].sort(),
    localWorkloads: local.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0)),
  };
}
