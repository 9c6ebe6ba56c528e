/**
 * `bpfsteer demo`: builds the seed's client/router/server lab in throw-away netns, then proves three
 * things with real ICMP and TCP over IPv4 and IPv6:
 *   1. without the agent, the server's replies leave by its default gateway and are lost;
 *   2. with the agent running its embedded config, tc-nexthop redirects them to the router: traffic works;
 *   3. once the agent stops, the filter is gone and the failure is back.
 * Returns the process exit code: 0 when every proof held.
 */
import { randomBytes } from 'node:crypto';
import { rmdirSync } from 'node:fs';
import { buildAsymmetricRoutingLab, type AsymmetricRoutingLab, NetLab } from '@bpfsteer/netlab';
import { createAgent, createLogger, type Agent } from '@bpfsteer/agent-kernel';
import { builtinModulesFor } from '../builtins.js';
import { coreBpfFeatureProbe } from '../load-feature-probe.js';
import { demoConfig, demoConfigYaml } from './demo-config.js';

interface Probe {
  readonly label: string;
  readonly ok: boolean;
}

export interface DemoOptions {
  readonly out: NodeJS.WritableStream;
  readonly printConfig?: boolean;
}

export async function runDemo({ out, printConfig }: DemoOptions): Promise<number> {
  const say = (line = ''): void => void out.write(`${line}\n`);
  const lab = NetLab.create('demo');
  const pinRoot = `/sys/fs/bpf/bpfsteer-demo-${process.pid}-${randomBytes(2).toString('hex')}`;
  let agent: Agent | undefined;
  try {
    const l = buildAsymmetricRoutingLab(lab);
    const listeners = await Promise.all([l.v4, l.v6].map((p) => lab.listen(l.netns.server, 'tcp', p.service, 8080)));
    say(`bpfsteer demo: source-address next-hop steering (tc-nexthop) in lab ${lab.id}`);
    say(`  client ${l.v4.client} / ${l.v6.client} -> router -> server ${l.v4.service} / ${l.v6.service} :8080`);
    say(`  the server's only route back to the client is its default gateway ${l.v4.gateway}, which forwards nothing`);
    if (printConfig) {
      say('\nembedded agent config:');
      say(demoConfigYaml(l, pinRoot).replace(/^/gm, '  '));
    }

    const probeAll = async (): Promise<Probe[]> => {
      const probes: Probe[] = [];
      for (const [name, plan] of [['IPv4', l.v4], ['IPv6', l.v6]] as const) {
        // two echo requests: the plugin keeps a kernel-managed neighbour entry for each next hop, but
        // right after the agent starts the kernel may still be resolving it in the background
        probes.push({ label: `${name} ping`, ok: lab.ping(l.netns.client, plan.service, { count: 2, timeoutSec: 1 }) });
        const r = await lab.exchange(l.netns.client, 'tcp', plan.service, 8080, { timeoutMs: 1500 });
        probes.push({ label: `${name} TCP`, ok: r.ok });
      }
      return probes;
    };
    const proofs: boolean[] = [];
    const step = (n: number, title: string, probes: Probe[], expectOk: boolean, why: string): void => {
      const held = probes.every((p) => p.ok === expectOk);
      proofs.push(held);
      const cells = probes.map((p) => `${p.label} ${p.ok ? 'ok' : 'fails'}`).join(', ');
      say(`\n[${n}] ${title}\n    ${cells}\n    ${held ? 'PROVEN' : 'NOT PROVEN'}: ${why}`);
    };

    step(1, 'without the agent', await probeAll(), false, 'replies leave by the default gateway and are lost (asymmetric routing)');

    const logger = createLogger({ level: 'warn' });
    const config = demoConfig(l, pinRoot);
    agent = createAgent({
      modules: await builtinModulesFor(config),
      config,
      logger,
      featureProbe: coreBpfFeatureProbe,
    });
    await agent.start();
    const running = await agent.status();
    const failed = running.plugins.filter((p) => p.state !== 'running');
    if (failed.length) throw new Error(`plugin failed: ${failed.map((p) => `${p.id}: ${p.error ?? p.state}`).join('; ')}`);
    step(2, 'agent running (tc-nexthop on the server\'s gateway interface, one redirect per family)', await probeAll(), true,
      'replies from the service address are redirected to the router by bpf_redirect_neigh');
    say(await describeRules(agent));

    await agent.stop({ keepPinned: false });
    agent = undefined;
    step(3, 'agent stopped', await probeAll(), false, 'the filter and its maps are gone; the failure is back');

    for (const listener of listeners) listener.close();
    const held = proofs.filter(Boolean).length;
    say(`\n${held}/${proofs.length} proofs held`);
    return held === proofs.length ? 0 : 1;
  } finally {
    if (agent) await agent.stop({ keepPinned: false }).catch(() => undefined);
    await lab.destroy();
    // the agent removed its pins; the demo's own pin root goes too (only if empty: never force)
    try {
      rmdirSync(pinRoot);
    } catch {
      // absent, or something still pinned there: leave it for inspection
    }
  }
}

async function describeRules(agent: Agent): Promise<string> {
  const plugin = (await agent.status()).plugins.find((p) => p.id === 'tc-nexthop');
  const details = plugin?.details as { rules?: { source: string; interface: string; nexthop: string; packets: number | bigint; bytes: number | bigint }[] } | undefined;
  const rules = details?.rules ?? [];
  return rules
    .map((r) => `    rule ${r.source} -> ${r.interface} via ${r.nexthop}: ${r.packets} packets, ${r.bytes} bytes redirected`)
    .join('\n');
}
