/**
 * `bpfsteer manifests`: the objects an ambient node needs, validated against the Kubernetes API
 * schemas (kubernetes-models), the agent config they carry accepted by `bpfsteer validate`, and
 * every path of that config under a volume the DaemonSet mounts (writable where the agent writes).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMap, ServiceAccount } from 'kubernetes-models/v1';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { AMBIENT_DEFAULTS } from '../src/manifests/ambient-agent-config.js';
import { ambientManifests, ztunnelPatch } from '../src/manifests/ambient-manifests.js';
import { AMBIENT_PATHS } from '../src/manifests/ambient-paths.js';
import { spawnBpfsteer } from './support/spawn-bpfsteer.js';

vi.setConfig({ testTimeout: 30_000 });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), `bpfsteer-manifests-test-${process.pid}-`));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => spawnBpfsteer(args, []).done;

describe('bpfsteer manifests ambient', () => {
  const [serviceAccount, clusterRole, binding, configMap, daemonSet] = ambientManifests(AMBIENT_DEFAULTS);
  const pod = daemonSet.spec!.template.spec!;
  const container = pod.containers[0]!;
  const config = parse(configMap.data!['agent.yaml']!) as {
    agent: { pinRoot: string; adminSocket: string };
    sources: { tls: { caFile: string }; tokenFile: string; zds: { listenPath: string; upstreamPath: string } }[];
  };

  it('every object is valid by the Kubernetes API schemas', () => {
    expect(() => new ServiceAccount(serviceAccount as never).validate()).not.toThrow();
    expect(() => new ClusterRole(clusterRole as never).validate()).not.toThrow();
    expect(() => new ClusterRoleBinding(binding as never).validate()).not.toThrow();
    expect(() => new ConfigMap(configMap as never).validate()).not.toThrow();
    expect(() => new DaemonSet(daemonSet as never).validate()).not.toThrow();
    // and the check is a real one: a broken DaemonSet is refused
    const broken = structuredClone(daemonSet) as { spec: { template: { spec: { containers: { ports?: unknown }[] } } } };
    broken.spec.template.spec.containers[0]!.ports = [{ containerPort: 'http' }];
    expect(() => new DaemonSet(broken as never).validate()).toThrow(/containerPort/);
  });

  it('its agent config is accepted by `bpfsteer validate`', async () => {
    const path = join(dir, 'agent.yaml');
    await writeFile(path, configMap.data!['agent.yaml']!);
    const r = await run('validate', '-c', path);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid (plugins: cgroup-mark, sklookup; sources: istiod#0)');
  });

  it('every path of the config lies in a mounted volume, writable where the agent writes', () => {
    const mounts = container.volumeMounts!;
    const mountOf = (path: string) => mounts.filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    const source = config.sources[0]!;
    const written = [config.agent.pinRoot, config.agent.adminSocket, source.zds.listenPath];
    const read = [source.tls.caFile, source.tokenFile, source.zds.upstreamPath, AMBIENT_PATHS.configFile];
    for (const path of [...written, ...read]) expect(mountOf(path), path).toBeDefined();
    for (const path of written) expect(mountOf(path)!.readOnly, path).not.toBe(true);
    // the files inside the mounts are the ones the volumes provide
    const volume = (name: string) => pod.volumes!.find((v) => v.name === name)!;
    const token = volume(mountOf(source.tokenFile)!.name).projected!.sources![0]!.serviceAccountToken!;
    expect(join(mountOf(source.tokenFile)!.mountPath, token.path)).toBe(source.tokenFile);
    expect(token.audience).toBe('istio-ca');
    expect(volume(mountOf(source.tls.caFile)!.name).configMap!.name).toBe('istio-ca-root-cert');
    expect(source.tls.caFile.endsWith('/root-cert.pem')).toBe(true); // the key istio-ca-root-cert holds
    expect(volume(mountOf(AMBIENT_PATHS.configFile)!.name).configMap!.name).toBe(configMap.metadata!.name);
    expect(container.args).toEqual(['run', '-c', AMBIENT_PATHS.configFile, '--keep-pinned', '--kubernetes']);
    // --kubernetes reports on the Node the pod runs on, through the service-account token mounted by default
    expect(container.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(pod.automountServiceAccountToken).not.toBe(false);
    // ztunnel's cgroup is found in the host's whole hierarchy (plugin-cgroup-mark's cgroup selector)
    expect(mountOf(AMBIENT_PATHS.hostCgroup)).toMatchObject({ name: 'host-cgroup', readOnly: true });
    expect(volume('host-cgroup').hostPath!.path).toBe('/sys/fs/cgroup');
  });

  it('the pod runs unprivileged with the capabilities named, the identity from the downward API, and probes through `bpfsteer health`', () => {
    expect(container.securityContext).toMatchObject({ privileged: false, capabilities: { add: ['BPF', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_PTRACE'], drop: ['ALL'] } });
    expect(pod).toMatchObject({ hostNetwork: true, hostPID: true, dnsPolicy: 'ClusterFirstWithHostNet', serviceAccountName: serviceAccount.metadata!.name });
    expect(container.env!.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
      ['INSTANCE_IP', 'status.podIP'],
      ['POD_NAME', 'metadata.name'],
      ['POD_NAMESPACE', 'metadata.namespace'],
      ['NODE_NAME', 'spec.nodeName'],
    ]);
    expect(container.readinessProbe!.exec!.command).toEqual(['bpfsteer', 'health', '--socket', config.agent.adminSocket]);
    expect(container.livenessProbe!.exec!.command).toEqual(['bpfsteer', 'health', '--socket', config.agent.adminSocket, '--alive']);
  });

  it('the ztunnel patch points INPOD_UDS at the agent, and back with --rollback', () => {
    const env = (patch: object) => (patch as { spec: { template: { spec: { containers: { name: string; env: { name: string; value: string }[] }[] } } } }).spec.template.spec.containers[0]!;
    expect(env(ztunnelPatch(false))).toEqual({ name: 'istio-proxy', env: [{ name: 'INPOD_UDS', value: config.sources[0]!.zds.listenPath }] });
    expect(env(ztunnelPatch(true))).toEqual({ name: 'istio-proxy', env: [{ name: 'INPOD_UDS', value: config.sources[0]!.zds.upstreamPath }] });
  });

  it('the CLI prints the three objects in the namespace asked, and refuses a bad namespace', async () => {
    const r = await run('manifests', 'ambient', '--namespace', 'mesh-a', '--image', 'registry.local/bpfsteer:1', '--network', 'net1');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string; metadata: { namespace: string }; spec?: unknown; data?: Record<string, string> });
    expect(docs.map((d) => d.kind)).toEqual(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet']);
    const namespaced = docs.filter((d) => !d.kind.startsWith('Cluster'));
    expect(namespaced.every((d) => d.metadata.namespace === 'mesh-a')).toBe(true);
    expect(docs.filter((d) => d.kind.startsWith('Cluster')).map((d) => d.metadata)).toEqual([
      expect.objectContaining({ name: 'bpfsteer-ambient-mesh-a' }),
      expect.objectContaining({ name: 'bpfsteer-ambient-mesh-a' }),
    ]);
    expect(r.stdout).not.toMatch(/[&*]a\d/); // no YAML aliases
    expect(parse(docs[3]!.data!['agent.yaml']!)).toMatchObject({ sources: [{ network: 'net1' }] });
    const bad = await run('manifests', 'ambient', '--namespace', 'Not_A_Namespace');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a namespace name');
    const patch = await run('manifests', 'ztunnel-patch', '--rollback');
    expect(parse(patch.stdout)).toEqual(ztunnelPatch(true));
  });
});
