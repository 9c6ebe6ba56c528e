/**
 * The agent config of an ambient Kubernetes node (the ConfigMap's agent.yaml): the mark bypass on
 * ztunnel's cgroup, the sk_lookup divert, and the istiod source with its ZDS relay between ztunnel
 * and istio-cni. The node's identity is not in it: the istiod source makes it from the pod's
 * environment (INSTANCE_IP, POD_NAME, POD_NAMESPACE, NODE_NAME), as ztunnel does, so one ConfigMap
 * serves every node. Pure.
 */
import { AMBIENT_METRICS_PORT, AMBIENT_PATHS } from './ambient-paths.js';

export interface AmbientOptions {
  /** the namespace of the agent's objects (the token's service account: Istiod serves a proxy of its own namespace) */
  readonly namespace: string;
  readonly image: string;
  /** Istiod's xDS address */
  readonly istiod: string;
  /** the mesh network of the nodes (`values.global.network`); '' the default network */
  readonly network: string;
}

export const AMBIENT_DEFAULTS: AmbientOptions = {
  namespace: 'istio-system',
  image: 'bpfsteer/agent:0.1.0',
  istiod: 'istiod.istio-system.svc:15012',
  network: '',
};

export function ambientAgentConfig(o: AmbientOptions): object {
  return {
    agent: {
      pinRoot: AMBIENT_PATHS.pinRoot,
      adminSocket: AMBIENT_PATHS.adminSocket,
      logLevel: 'info',
      // read-only series for the cluster's Prometheus (the pod annotations name the port)
      metrics: { listen: `0.0.0.0:${AMBIENT_METRICS_PORT}` },
    },
    plugins: [
      // ztunnel's own connections (SO_MARK 0x539) skip the divert: the program sits on ztunnel's cgroup
      { id: 'cgroup-mark', cgroup: { process: 'ztunnel' }, mark: 'ambient-inpod' },
      { id: 'sklookup' },
    ],
    sources: [
      {
        type: 'istiod',
        address: o.istiod,
        tls: { caFile: AMBIENT_PATHS.rootCertFile },
        tokenFile: AMBIENT_PATHS.tokenFile,
        ...(o.network ? { network: o.network } : {}),
        zds: { listenPath: AMBIENT_PATHS.zdsListen, upstreamPath: AMBIENT_PATHS.zdsUpstream },
      },
    ],
  };
}
