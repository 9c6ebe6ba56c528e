/**
 * `bpfsteer demo connect`: seed 001's connect redirect. An application in its own cgroup connects
 * to a remote service its netns has no route to (in seed 001 it is reached only through the node's
 * tunnel); a local, unmodified transparent proxy listens on 127.0.0.1:18000 and [::1]:18000 and asks
 * the kernel for the original destination (getsockopt SO_ORIGINAL_DST), as proxies behind iptables
 * REDIRECT do:
 *   1. without the agent, the application's connects fail;
 *   2. with the agent (connect-redirect on the application's cgroup, the getsockopt hook on the
 *      proxy's), they land on the proxy, which gets the original destination; a process outside the
 *      cgroup is not redirected;
 *   3. once the agent stops, the connects fail again.
 */
import { createCgroup } from '@bpfsteer/core-bpf';
import { NetLab, removeOwnCgroup, startOriginalDstProxy, tcpClient, type TcpClientResult } from '@bpfsteer/netlab';
import { configText, demoPinRoot, endpoint, startDemoAgent, type DemoScenario } from './scenario.js';

const REMOTE = { v4: '10.97.2.2', v6: 'fd00:97:2::2' };

export function connectConfig(pinRoot: string, appCgroup: string, proxyCgroup: string): Record<string, unknown> {
  return {
    agent: { pinRoot, adminSocket: false, logLevel: 'warn' },
    plugins: [{ id: 'connect-redirect', cgroups: [appCgroup], proxyCgroups: [proxyCgroup], target: { ipv4: '127.0.0.1:18000', ipv6: '[::1]:18000' } }],
    sources: [
      {
        type: 'static',
        intents: [
          { kind: 'connect.redirect', destination: '10.97.2.0/24', ports: ['80'] },
          { kind: 'connect.redirect', destination: 'fd00:97:2::/64', ports: ['80'] },
        ],
      },
    ],
  };
}

export const connectScenario: DemoScenario = {
  name: 'connect',
  title: 'connect redirect of a cgroup to a local transparent proxy (plugin connect-redirect, static source)',
  async run({ say, printConfig, teardown, prove }) {
    const lab = NetLab.create('democr');
    teardown.defer(`remove lab ${lab.id}`, () => lab.destroy());
    const pinRoot = demoPinRoot(lab, teardown);
    const ns = lab.nsPath(lab.addNetns('app'));
    const appCgroup = createCgroup(`bpfsteer-${lab.id}-app`);
    teardown.defer(`remove cgroup ${appCgroup}`, () => removeOwnCgroup(appCgroup));
    const proxyCgroup = createCgroup(`bpfsteer-${lab.id}-proxy`);
    teardown.defer(`remove cgroup ${proxyCgroup}`, () => removeOwnCgroup(proxyCgroup));
    const proxy = await startOriginalDstProxy(ns, { cgroup: proxyCgroup, port: 18000 });
    teardown.defer('stop the proxy', () => proxy.close());
    say(`lab ${lab.id}: netns ${ns} has no route to ${REMOTE.v4} / ${REMOTE.v6}`);
    say(`  application cgroup ${appCgroup}; proxy on 127.0.0.1:18000 and [::1]:18000 in cgroup ${proxyCgroup}`);
    const config = connectConfig(pinRoot, appCgroup, proxyCgroup);
    if (printConfig) say(`embedded agent config:\n${configText(config)}`);

    type Probe = { label: string; at: string };
    const where = (r: TcpClientResult): string => {
      const m = r.reply?.match(/^orig (\S+) (\d+)$/);
      if (r.ok && m) return `proxy, orig ${endpoint(m[1]!, m[2]!)}`;
      return `fails (${(r.error ?? JSON.stringify(r.reply)).replace(/^\w+: (\[Errno \d+\] )?/, '')})`;
    };
    const connects = async (inCgroup: boolean): Promise<Probe[]> =>
      Promise.all(
        [REMOTE.v4, REMOTE.v6].map(async (host) => ({
          label: `${inCgroup ? 'app' : 'other process'} -> ${endpoint(host, 80)}`,
          at: where(await tcpClient({ netns: ns, host, port: 80, ...(inCgroup && { cgroup: appCgroup }) })),
        })),
      );
    const show = (probes: Probe[]) => say(`  ${probes.map((p) => `${p.label}: ${p.at}`).join(', ')}`);
    const failing = (probes: Probe[]) => probes.every((p) => p.at.startsWith('fails'));

    say('1. without the agent');
    const before = await connects(true);
    show(before);
    prove(failing(before), "the application's connects to the remote service fail (no route)");

    const { stop } = await startDemoAgent(config, teardown);
    say("2. agent running (connect4/connect6 + sockops on the application's cgroup, getsockopt on the proxy's)");
    const during = await connects(true);
    show(during);
    prove(during.every((p) => p.at === `proxy, orig ${p.label.split(' -> ')[1]}`), 'the connects land on the local proxy, which reads the original destination with SO_ORIGINAL_DST');
    const others = await connects(false);
    show(others);
    prove(failing(others), 'a process outside the cgroup is not redirected');

    await stop();
    say('3. agent stopped');
    const after = await connects(true);
    show(after);
    prove(failing(after), 'the cgroup hooks are detached: the connects fail again');
  },
};
