/**
 * `bpfsteer demo nexthop`: seed 002's client/router/server lab, proven with real ICMP and TCP over
 * IPv4 and IPv6:
 *   1. without the agent, the server's replies leave by its default gateway and are lost;
 *   2. with the agent running its embedded config, tc-nexthop redirects them to the router: traffic works;
 *   3. once the agent stops, the filter is gone and the failure is back.
 */
import { buildAsymmetricRoutingLab, NetLab } from '@bpfsteer/netlab';
import type { Agent } from '@bpfsteer/agent-kernel';
import { demoConfig } from './demo-config.js';
import { configText, demoPinRoot, pluginDetails, startDemoAgent, type DemoScenario } from './scenario.js';

interface Probe {
  readonly label: string;
  readonly ok: boolean;
}

/** `ping` from a netns as a child process (so that the probes of a step run side by side). */
function ping(lab: NetLab, netns: string, address: string, count: number): Promise<boolean> {
  const child = lab.spawn(netns, ['ping', '-n', '-q', '-c', String(count), '-W', '1', address]);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code === 0)));
}

export const nexthopScenario: DemoScenario = {
  name: 'nexthop',
  title: 'source-address next-hop steering (plugin tc-nexthop, static source)',
  async run({ say, printConfig, teardown, prove }) {
    const lab = NetLab.create('demonh');
    teardown.defer(`remove lab ${lab.id}`, () => lab.destroy());
    const pinRoot = demoPinRoot(lab, teardown);
    const l = buildAsymmetricRoutingLab(lab);
    const listeners = await Promise.all([l.v4, l.v6].map((p) => lab.listen(l.netns.server, 'tcp', p.service, 8080)));
    say(`lab ${lab.id}: client ${l.v4.client} / ${l.v6.client} -> router -> server ${l.v4.service} / ${l.v6.service} :8080`);
    say(`the server's only route back to the client is its default gateway ${l.v4.gateway}, which forwards nothing`);
    const config = demoConfig(l, pinRoot);
    if (printConfig) say(`embedded agent config:\n${configText(config)}`);

    const probeAll = async (): Promise<Probe[]> =>
      (
        await Promise.all(
          ([['IPv4', l.v4], ['IPv6', l.v6]] as const).map(async ([name, plan]) => {
            // two echo requests: the plugin keeps a kernel-managed neighbour entry for each next hop, but
            // right after the agent starts the kernel may still be resolving it in the background
            const [pinged, tcp] = await Promise.all([
              ping(lab, l.netns.client, plan.service, 2),
              lab.exchange(l.netns.client, 'tcp', plan.service, 8080, { timeoutMs: 1500 }),
            ]);
            return [{ label: `${name} ping`, ok: pinged }, { label: `${name} TCP`, ok: tcp.ok }];
          }),
        )
      ).flat();
    const step = (title: string, probes: Probe[], expectOk: boolean, why: string): void => {
      say(title);
      say(`  ${probes.map((p) => `${p.label} ${p.ok ? 'ok' : 'fails'}`).join(', ')}`);
      prove(probes.every((p) => p.ok === expectOk), why);
    };

    step('1. without the agent', await probeAll(), false, 'replies leave by the default gateway and are lost (asymmetric routing)');
    const { agent, stop } = await startDemoAgent(config, teardown);
    step("2. agent running (tc-nexthop on the server's gateway interface, one redirect per family)", await probeAll(), true,
      'replies from the service address are redirected to the router by bpf_redirect_neigh');
    say(await describeRules(agent));
    await stop();
    step('3. agent stopped', await probeAll(), false, 'the filter and its maps are gone; the failure is back');
    for (const listener of listeners) listener.close();
  },
};

async function describeRules(agent: Agent): Promise<string> {
  type Rule = { source: string; interface: string; nexthop: string; packets: number | bigint; bytes: number | bigint };
  const rules = (await pluginDetails<{ rules?: Rule[] }>(agent, 'tc-nexthop'))?.rules ?? [];
  return rules.map((r) => `  rule ${r.source} -> ${r.interface} via ${r.nexthop}: ${r.packets} packets, ${r.bytes} bytes redirected`).join('\n');
}
