/**
 * Where an ambient node's agent finds things inside its pod: the one list the agent config
 * (ambient-agent-config.ts) and the DaemonSet's mounts (ambient-manifests.ts) are both made from,
 * so the two cannot drift apart.
 */
export const AMBIENT_PATHS = {
  /** the host's BPF filesystem (pins survive the pod) */
  bpffs: '/sys/fs/bpf',
  pinRoot: '/sys/fs/bpf/bpfsteer',
  /** the host directory of istio-cni's ZDS socket, shared with ztunnel and istio-cni */
  ztunnelDir: '/var/run/ztunnel',
  /** where the agent serves ZDS: ztunnel's INPOD_UDS points here */
  zdsListen: '/var/run/ztunnel/bpfsteer.sock',
  /** istio-cni's socket (ztunnel's default INPOD_UDS) */
  zdsUpstream: '/var/run/ztunnel/ztunnel.sock',
  /** the projected service-account token with audience istio-ca */
  tokenDir: '/var/run/secrets/tokens',
  tokenFile: '/var/run/secrets/tokens/istio-token',
  /** the istio-ca-root-cert ConfigMap */
  rootCertDir: '/var/run/secrets/istio',
  rootCertFile: '/var/run/secrets/istio/root-cert.pem',
  /**
   * the host's cgroup2 hierarchy, read-only: ztunnel's cgroup (the mark bypass attaches there) is
   * outside the pod's own cgroup namespace and is found from the host's (plugin-cgroup-mark)
   */
  hostCgroup: '/host/sys/fs/cgroup',
  /** the agent's ConfigMap */
  configDir: '/etc/bpfsteer',
  configFile: '/etc/bpfsteer/agent.yaml',
  /** the agent's own runtime directory (the admin socket) */
  runDir: '/run/bpfsteer',
  adminSocket: '/run/bpfsteer/agent.sock',
} as const;

/**
 * The node port the agent serves its Prometheus metrics on (host network, like the node agents it
 * sits beside: ztunnel's 15020, istio-cni's 15014; outside Istio's 150xx range).
 */
export const AMBIENT_METRICS_PORT = 9464;
