/**
 * `bpfsteer demo ambient`: Istio ambient's transparent network policies (seed 000) with the mark
 * bypass. A pod netns runs an application on :80 and a ztunnel-like proxy (its own cgroup, its
 * sockets marked 0x539 as ztunnel marks them) with an HBONE-like listener on :15008:
 *   1. without the agent, a mesh client's connection to pod:80 reaches the application: not steered;
 *   2. with the agent (sklookup in the pod netns, cgroup-mark on the proxy's cgroup), it lands on
 *      the proxy's :15008, which sees the original destination; a client outside the mesh still
 *      reaches the application; the proxy's own marked connection to the application skips the
 *      divert (cgroup-mark records it in the map sklookup consults), the same one unmarked does not;
 *   3. once the agent stops, traffic reaches the real port again.
 * In the field the istiod source publishes the intents (Istiod's HBONE workloads, the pods istio-cni
 * announces and the listeners it finds in them); here they are written in the embedded config, and
 * the proxy's listener is taken from the proxy with pidfd_getfd, as that source's discovery does.
 */
import { closeSync } from 'node:fs';
import { SocketHandles, createCgroup, duplicateFdFromProcess } from '@bpfsteer/core-bpf';
import { buildAmbientPodLab, NetLab, removeOwnCgroup, startHboneProxy, type AmbientPodLab, type HboneProxy } from '@bpfsteer/netlab';
import type { PodStatus } from '@bpfsteer/plugin-sklookup';
import { configText, demoPinRoot, endpoint, pluginDetails, startDemoAgent, type DemoScenario } from './scenario.js';

const POD_UID = 'demo/app';

export function ambientConfig(l: AmbientPodLab, pinRoot: string, proxyCgroup: string, listenerHandle: string): Record<string, unknown> {
  return {
    agent: { pinRoot, adminSocket: false, logLevel: 'warn' },
    plugins: [
      { id: 'cgroup-mark', cgroup: proxyCgroup, mark: 'ambient-inpod' },
      { id: 'sklookup' },
    ],
    sources: [
      {
        type: 'static',
        intents: [
          ...[l.v4.pod, l.v6.pod, l.v4.mesh, l.v6.mesh].map((address) => ({ kind: 'mesh.member', address })),
          { kind: 'sklookup.pod', uid: POD_UID, netns: `/var/run/netns/${l.netns.pod}`, addresses: [l.v4.pod, l.v6.pod], socketHandles: [listenerHandle] },
        ],
      },
    ],
  };
}

export const ambientScenario: DemoScenario = {
  name: 'ambient',
  title: 'Istio ambient divert to the HBONE port with the mark bypass (plugins sklookup + cgroup-mark, static source)',
  async run({ say, printConfig, teardown, prove }) {
    const lab = NetLab.create('demoam');
    teardown.defer(`remove lab ${lab.id}`, () => lab.destroy());
    const pinRoot = demoPinRoot(lab, teardown);
    const l = buildAmbientPodLab(lab);
    const podNs = lab.nsPath(l.netns.pod);
    const app = await lab.listen(l.netns.pod, 'tcp', '::', 80);
    teardown.defer('stop the application', () => app.close());
    const cgroup = createCgroup(`bpfsteer-${lab.id}-proxy`);
    teardown.defer(`remove cgroup ${cgroup}`, () => removeOwnCgroup(cgroup));
    const proxy: HboneProxy = await startHboneProxy(podNs, { cgroup, port: 15008, mark: 0x539 });
    teardown.defer('stop the proxy', () => proxy.close());
    // the agent's registry holds its own duplicate of the proxy's listener (the SOCKHASH needs the socket)
    const handles = new SocketHandles();
    teardown.defer('close the socket handles', () => handles.closeAll());
    const taken = duplicateFdFromProcess(proxy.pid, proxy.listenerFd);
    const listener = handles.register(taken, 'socket', { what: "the proxy's HBONE listener" });
    closeSync(taken);
    say(`lab ${lab.id}: pod ${l.v4.pod} / ${l.v6.pod} (application on :80, proxy on :15008 in cgroup ${cgroup});`);
    say(`  peer: mesh workload ${l.v4.mesh} / ${l.v6.mesh}, client outside the mesh ${l.v4.outside} / ${l.v6.outside}`);
    const config = ambientConfig(l, pinRoot, cgroup, listener);
    if (printConfig) say(`embedded agent config (${listener}: the proxy's listener, taken with pidfd_getfd):\n${configText(config)}`);

    const payload = 'hi';
    /** where a connection landed: "app", "proxy (orig A:P)", or why it failed */
    const landed = (r: { ok?: boolean; reply?: string; error?: string }): string => {
      if (r.reply === `echo:${payload}`) return 'app';
      const m = r.reply?.match(/^hbone (\S+) (\d+) from/);
      if (m) return `proxy:15008 (orig ${endpoint(m[1]!, m[2]!)})`;
      return `fails (${(r.error ?? JSON.stringify(r.reply)).replace(/^\w+: (\[Errno \d+\] )?/, '')})`;
    };
    const orig = (pod: string) => `proxy:15008 (orig ${endpoint(pod, 80)})`;
    type Probe = { label: string; at: string };
    const fromPeer = async (source: 'mesh' | 'outside'): Promise<Probe[]> =>
      Promise.all(
        [l.v4, l.v6].map(async (p) => ({
          label: `${p[source]} -> ${endpoint(p.pod, 80)}`,
          at: landed(await lab.exchange(l.netns.peer, 'tcp', p.pod, 80, { localAddress: p[source], payload, timeoutMs: 2000 })),
        })),
      );
    const fromProxy = async (mark?: number): Promise<Probe[]> => {
      const probes: Probe[] = [];
      for (const p of [l.v4, l.v6]) {
        const r = await proxy.dial({ host: p.pod, port: 80, bind: p.pod, payload, ...(mark !== undefined && { mark }) });
        probes.push({ label: `proxy ${mark === 0 ? 'unmarked' : 'mark 0x539'} -> ${endpoint(p.pod, 80)}`, at: landed(r) });
      }
      return probes;
    };
    const show = (probes: Probe[]) => say(`  ${probes.map((p) => `${p.label}: ${p.at}`).join(', ')}`);

    say('1. without the agent');
    const before = await fromPeer('mesh');
    show(before);
    prove(before.every((p) => p.at === 'app'), "not steered: a mesh client's connection to pod:80 reaches the application, not the proxy");

    const { agent, stop } = await startDemoAgent(config, teardown, { socketHandles: handles });
    say('2. agent running (sklookup in the pod netns, cgroup-mark on the proxy cgroup, 4 mesh members, 1 pod)');
    const mesh = await fromPeer('mesh');
    show(mesh);
    prove(mesh.every((p, i) => p.at === orig([l.v4, l.v6][i]!.pod)), "mesh traffic to the pod's real port lands on the proxy's HBONE listener :15008 with its original destination (sk_lookup, SOCKHASH)");
    const outside = await fromPeer('outside');
    show(outside);
    prove(outside.every((p) => p.at === 'app'), 'a client outside the mesh still reaches the application on :80');
    const marked = await fromProxy();
    show(marked);
    prove(marked.every((p) => p.at === 'app'), "the proxy's own marked connections reach the application: cgroup-mark saw the mark and sklookup skipped the divert");
    const unmarked = await fromProxy(0);
    show(unmarked);
    prove(unmarked.every((p, i) => p.at === orig([l.v4, l.v6][i]!.pod)), 'the same connections without the mark are diverted: the mark is what counts');
    const pod = (await pluginDetails<{ pods?: PodStatus[] }>(agent, 'sklookup'))?.pods?.find((p) => p.uid === POD_UID);
    const recorded = (await pluginDetails<{ stats?: { recorded?: number } }>(agent, 'cgroup-mark'))?.stats?.recorded;
    say(`  counters: sklookup diverted ${pod?.counters.diverted ?? '?'}, bypassed ${pod?.counters.bypassed ?? '?'}; cgroup-mark recorded ${recorded ?? '?'} marked SYNs`);

    await stop();
    say('3. agent stopped');
    const after = [...(await fromPeer('mesh')), ...(await fromProxy())];
    show(after);
    prove(after.every((p) => p.at === 'app'), 'the sk_lookup links are gone: traffic reaches the real port again');
  },
};
