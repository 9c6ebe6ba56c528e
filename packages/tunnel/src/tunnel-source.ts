/**
 * The tunnel as a source of the agent (`sources: [{ type: tunnel, ... }]`): it runs the Tunnel for
 * as long as the agent runs, and publishes what the node's connects to its peers need, one
 * `connect.redirect` intent per peer prefix (ports from `redirectPorts`, every port without) and a
 * direct one per `exclude` entry, for plugin-connect-redirect to apply. Give the agent's cgroup in
 * that plugin's `proxyCgroups`, so that the tunnel reads the original destinations with
 * getsockopt(SO_ORIGINAL_DST).
 *
 * ```yaml
 * plugins:
 *   - { id: connect-redirect, cgroups: [pods.slice], proxyCgroups: [system.slice/bpfsteer.service] }
 * sources:
 *   - type: tunnel
 *     peers: [{ destination: 10.61.2.0/24, address: '192.168.61.2:18001' }]
 *     redirectPorts: ['80', '443']
 *     tls: { certFile: ..., keyFile: ..., caFile: ..., allowedIdentities: [...] }
 * ```
 */
import { type ContainerModule, type Intent, type IntentSink, type IntentSource, type SourceContext, type SourceFactory, sourceModule } from '@bpfsteer/agent-kernel';
import { CONNECT_REDIRECT_KIND, MAX_RULE_PORT_RANGES, readPortRange } from '@bpfsteer/contract-connect';
import { tryParsePrefix } from '@bpfsteer/ip';
import { z } from 'zod';
import { Tunnel } from './tunnel.js';
import { observeTunnel } from './tunnel-metrics.js';
import { checkPlainText, tunnelConfigFields } from './tunnel-config.js';

const port = z.union([z.string(), z.number()]).superRefine((value, ctx) => {
  const r = readPortRange(value);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
});
const prefix = z.string().superRefine((value, ctx) => {
  const r = tryParsePrefix(value, { what: 'destination' });
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error.message });
});

export const tunnelSourceConfigSchema = z
  .strictObject({
    ...tunnelConfigFields,
    /** the ports whose connects to a peer's prefix are redirected; absent: every port */
    redirectPorts: z.array(port).min(1).max(MAX_RULE_PORT_RANGES).optional(),
    /** destinations inside the peers' prefixes that are never redirected */
    exclude: z.array(prefix).default([]),
  })
  .superRefine(checkPlainText);

export type TunnelSourceConfig = z.output<typeof tunnelSourceConfigSchema>;

/** The intents of a tunnel source's config (pure). */
export function tunnelIntents(config: Pick<TunnelSourceConfig, 'peers' | 'redirectPorts' | 'exclude'>): Intent[] {
  return [
    ...config.peers.map((p) => ({ kind: CONNECT_REDIRECT_KIND, destination: p.destination, ...(config.redirectPorts && { ports: config.redirectPorts }) })),
    ...config.exclude.map((destination) => ({ kind: CONNECT_REDIRECT_KIND, destination, direct: true })),
  ];
}

class TunnelSource implements IntentSource {
  readonly #config: TunnelSourceConfig;
  readonly #context: SourceContext<TunnelSourceConfig>;
  #tunnel?: Tunnel;
  /** stops the series (tunnel-metrics.ts) reading this tunnel */
  #unobserve?: () => void;

  constructor(config: TunnelSourceConfig, context: SourceContext<TunnelSourceConfig>) {
    this.#config = config;
    this.#context = context;
  }

  async start(sink: IntentSink): Promise<void> {
    const { redirectPorts: _ports, exclude: _exclude, ...tunnelConfig } = this.#config;
    const logger = this.#context.logger;
    this.#tunnel = new Tunnel(tunnelConfig, { logger });
    await this.#tunnel.start();
    this.#unobserve = observeTunnel(this.#context.metrics, this.#tunnel);
    if (!this.#context.intentSchemas.has(CONNECT_REDIRECT_KIND)) {
      logger.warn('no configured plugin consumes connect.redirect: the tunnel carries only what is redirected to it otherwise (e.g. iptables REDIRECT)');
      return;
    }
    sink.publish(tunnelIntents(this.#config));
  }

  async stop(): Promise<void> {
    await this.#tunnel?.stop();
    this.#unobserve?.();
    this.#unobserve = undefined;
  }
}

export const tunnelSource: SourceFactory<TunnelSourceConfig> = {
  type: 'tunnel',
  description: 'the node-to-node mTLS tunnel (HTTP/2 CONNECT) and the connect.redirect rules of its peers',
  configSchema: tunnelSourceConfigSchema as unknown as z.ZodType<TunnelSourceConfig>,
  produces: [CONNECT_REDIRECT_KIND],
  create: (config, context) => new TunnelSource(config, context),
};

/** This source as a container module: `createAgent({ modules: [tunnelSourceModule, ...], config })`. */
export const tunnelSourceModule: ContainerModule = sourceModule(tunnelSource);
