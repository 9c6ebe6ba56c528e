/**
 * What an ambient Kubernetes node needs to run the agent, as typed objects of the Kubernetes API
 * (@kubernetes/client-node's models): its ServiceAccount, the ConfigMap with its config, and the
 * DaemonSet; and the change of ztunnel's DaemonSet that points ztunnel's ZDS socket (INPOD_UDS) at
 * the agent, and back. Pure: `bpfsteer manifests` prints them as YAML.
 *
 * The pod's privileges, each for one reason:
 * - hostNetwork: the agent's BPF links and its HBONE-listener discovery work from the node's
 *   network namespace, as ztunnel's own pod does; dnsPolicy ClusterFirstWithHostNet keeps Istiod's
 *   service name resolvable.
 * - hostPID: ztunnel's process must be visible: its cgroup (the mark bypass attaches there) and its
 *   listener sockets (taken with pidfd_getfd) are found through /proc; ztunnel's cgroup is read from
 *   the cgroup namespace of pid 1 (the host's), in the host's /sys/fs/cgroup mounted read-only.
 * - capabilities, all others dropped: BPF (load programs, create and pin maps), NET_ADMIN (attach
 *   sk_lookup to a pod's network namespace, the CGROUP_SKB program, socket options), SYS_ADMIN
 *   (setns into a pod's network namespace, read other processes' namespace files; it also gives
 *   the verifier's privileged rules, which CAP_PERFMON gives otherwise), SYS_PTRACE
 *   (pidfd_getfd of ztunnel's listener, /proc/<pid>/fd of other processes).
 * - the host's /sys/fs/bpf (pins outlive the pod: the divert stays in force across agent restarts),
 *   /var/run/ztunnel (the ZDS sockets of ztunnel and istio-cni).
 * The token (audience istio-ca, 12 h) and the istio-ca-root-cert mounts are those of ztunnel's own
 * DaemonSet (istio/istio manifests/charts/ztunnel/templates/daemonset.yaml, container istio-proxy).
 *
 * The API access (ClusterRole, bound to the agent's ServiceAccount), only for `bpfsteer run
 * --kubernetes` reporting on its own Node: get/list/watch nodes (it watches its Node to keep its
 * condition there), patch nodes/status (the BpfsteerDegraded condition), create and patch events
 * (Events on the Node, repeats counted up). A ClusterRole, as Nodes are cluster-scoped; no Secret,
 * Pod or write access to anything else.
 */
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ConfigMap,
  V1DaemonSet,
  V1EnvVar,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { type AmbientOptions, ambientAgentConfig } from './ambient-agent-config.js';
import { AMBIENT_METRICS_PORT, AMBIENT_PATHS } from './ambient-paths.js';

export const AMBIENT_NAME = 'bpfsteer-ambient';
const LABELS = { 'app.kubernetes.io/name': AMBIENT_NAME, 'app.kubernetes.io/part-of': 'bpfsteer' };
/** the audience Istiod accepts in a proxy's token */
const ISTIO_CA_AUDIENCE = 'istio-ca';

const fieldEnv = (name: string, fieldPath: string): V1EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

export type AmbientObjects = [V1ServiceAccount, V1ClusterRole, V1ClusterRoleBinding, V1ConfigMap, V1DaemonSet];

/** The agent's objects, in the order `kubectl apply` should create them. */
export function ambientManifests(o: AmbientOptions): AmbientObjects {
  const metadata = { name: AMBIENT_NAME, namespace: o.namespace, labels: LABELS };
  const serviceAccount: V1ServiceAccount = { apiVersion: 'v1', kind: 'ServiceAccount', metadata };
  // cluster-scoped: named after the namespace too, so two installs (two meshes) do not share one
  const clusterMetadata = { name: `${AMBIENT_NAME}-${o.namespace}`, labels: LABELS };
  const clusterRole: V1ClusterRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: clusterMetadata,
    rules: [
      { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    ],
  };
  const binding: V1ClusterRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: clusterMetadata,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterMetadata.name },
    subjects: [{ kind: 'ServiceAccount', name: AMBIENT_NAME, namespace: o.namespace }],
  };
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    data: { 'agent.yaml': stringify(ambientAgentConfig(o), { aliasDuplicateObjects: false }) },
  };
  const probe = (args: string[], periodSeconds: number) => ({
    exec: { command: ['bpfsteer', 'health', '--socket', AMBIENT_PATHS.adminSocket, ...args] },
    periodSeconds,
    timeoutSeconds: 5,
    failureThreshold: 3,
  });
  const daemonSet: V1DaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata,
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': AMBIENT_NAME } },
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: {
          labels: LABELS,
          // the convention Prometheus' kubernetes_sd scrape configs (and Istio's) follow
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(AMBIENT_METRICS_PORT), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          serviceAccountName: AMBIENT_NAME,
          hostNetwork: true,
          hostPID: true,
          dnsPolicy: 'ClusterFirstWithHostNet',
          priorityClassName: 'system-node-critical',
          tolerations: [{ operator: 'Exists' }],
          terminationGracePeriodSeconds: 30,
          containers: [
            {
              name: 'agent',
              image: o.image,
              // SIGTERM keeps the pins in force: a restarted agent adopts them without a traffic gap;
              // --kubernetes: Events and the BpfsteerDegraded condition on its Node (NODE_NAME)
              args: ['run', '-c', AMBIENT_PATHS.configFile, '--keep-pinned', '--kubernetes'],
              env: [
                // the node's identity towards Istiod, as ztunnel's own (the istiod source reads these)
                fieldEnv('INSTANCE_IP', 'status.podIP'),
                fieldEnv('POD_NAME', 'metadata.name'),
                fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
                fieldEnv('NODE_NAME', 'spec.nodeName'),
              ],
              securityContext: {
                privileged: false,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsUser: 0,
                capabilities: { add: ['BPF', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'], drop: ['ALL'] },
              },
              ports: [{ name: 'metrics', containerPort: AMBIENT_METRICS_PORT, protocol: 'TCP' }],
              readinessProbe: probe([], 10),
              livenessProbe: probe(['--alive'], 20),
              resources: { requests: { cpu: '50m', memory: '160Mi' }, limits: { memory: '1Gi' } },
              volumeMounts: [
                { name: 'bpffs', mountPath: AMBIENT_PATHS.bpffs, mountPropagation: 'HostToContainer' },
                { name: 'ztunnel-sockets', mountPath: AMBIENT_PATHS.ztunnelDir },
                { name: 'host-cgroup', mountPath: AMBIENT_PATHS.hostCgroup, readOnly: true },
                { name: 'istio-token', mountPath: AMBIENT_PATHS.tokenDir, readOnly: true },
                { name: 'istio-ca-root-cert', mountPath: AMBIENT_PATHS.rootCertDir, readOnly: true },
                { name: 'config', mountPath: AMBIENT_PATHS.configDir, readOnly: true },
                { name: 'run', mountPath: AMBIENT_PATHS.runDir },
              ],
            },
          ],
          volumes: [
            { name: 'bpffs', hostPath: { path: AMBIENT_PATHS.bpffs, type: 'Directory' } },
            { name: 'ztunnel-sockets', hostPath: { path: AMBIENT_PATHS.ztunnelDir, type: 'DirectoryOrCreate' } },
            { name: 'host-cgroup', hostPath: { path: '/sys/fs/cgroup', type: 'Directory' } },
            {
              name: 'istio-token',
              projected: {
                sources: [{ serviceAccountToken: { audience: ISTIO_CA_AUDIENCE, expirationSeconds: 43200, path: 'istio-token' } }],
              },
            },
            { name: 'istio-ca-root-cert', configMap: { name: 'istio-ca-root-cert' } },
            { name: 'config', configMap: { name: AMBIENT_NAME } },
            { name: 'run', emptyDir: { medium: 'Memory' } },
          ],
        },
      },
    },
  };
  return [serviceAccount, clusterRole, binding, configMap, daemonSet];
}

/**
 * The strategic merge patch of ztunnel's DaemonSet (container `istio-proxy`) that makes ztunnel talk
 * ZDS to the agent instead of istio-cni (the agent relays to istio-cni), or, with `rollback`, back to
 * istio-cni's socket directly.
 */
export function ztunnelPatch(rollback: boolean): object {
  const socket = rollback ? AMBIENT_PATHS.zdsUpstream : AMBIENT_PATHS.zdsListen;
  return { spec: { template: { spec: { containers: [{ name: 'istio-proxy', env: [{ name: 'INPOD_UDS', value: socket }] }] } } } };
}

/** Objects as one YAML stream (`---` between documents). */
export function yamlStream(objects: readonly object[]): string {
  return objects.map((o) => stringify(o, { aliasDuplicateObjects: false })).join('---\n');
}
