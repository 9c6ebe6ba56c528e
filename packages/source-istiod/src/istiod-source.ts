/**
 * The `istiod` source: Istiod's workload discovery (Delta xDS) turned into mesh intents.
 *
 * ```yaml
 * sources:
 *   - type: istiod
 *     address: istiod.istio-system.svc:15012
 *     tls: { caFile: /var/run/secrets/istio/root-cert.pem }
 *     tokenFile: /var/run/secrets/tokens/istio-token      # audience istio-ca
 *     node: { id: "ztunnel~10.0.0.5~bpfsteer-x.istio-system~istio-system.svc.cluster.local" }
 *     nodeName: node-a                                    # default: $NODE_NAME
 * ```
 *
 * Nothing is committed until the first response from Istiod is applied (an agent restart keeps
 * what the plugins hold until then); afterwards a snapshot is committed whenever the derived
 * intents change. While Istiod is unreachable the last snapshot stays in force.
 */
import { z } from 'zod';
import { checkIntents, type IntentSink, type IntentSource, type SourceContext, type SourceFactory } from '@bpfsteer/agent-kernel';
import { MESH_LOCAL_WORKLOAD_KIND, MESH_MEMBER_KIND, meshIntents } from './mesh-intents.js';
import { DeltaAdsClient, type XdsChange } from './xds/delta-ads-client.js';
import { checkDeltaAdsOptions, deltaAdsClientFields } from './xds/delta-ads-options.js';
import { meshView } from './xds/mesh-view.js';

export const istiodSourceConfigSchema = deltaAdsClientFields
  .extend({
    /** this node's Kubernetes name (workloads whose `node` equals it are local); default $NODE_NAME */
    nodeName: z.string().min(1).optional(),
  })
  .superRefine(checkDeltaAdsOptions);

export type IstiodSourceConfig = z.output<typeof istiodSourceConfigSchema>;

class IstiodSource implements IntentSource {
  readonly #config: IstiodSourceConfig;
  readonly #context: SourceContext<IstiodSourceConfig>;
  readonly #nodeName?: string;
  #client?: DeltaAdsClient;
  #lastKey?: string;

  constructor(config: IstiodSourceConfig, context: SourceContext<IstiodSourceConfig>) {
    this.#config = config;
    this.#context = context;
    this.#nodeName = config.nodeName ?? (process.env.NODE_NAME || undefined);
  }

  /** The xDS client (for diagnostics and tests). */
  get client(): DeltaAdsClient | undefined {
    return this.#client;
  }

  async start(sink: IntentSink): Promise<void> {
    const { logger, signal, intentSchemas } = this.#context;
    const { nodeName: _nodeName, ...clientOptions } = this.#config;
    const consumed = new Set([MESH_MEMBER_KIND, MESH_LOCAL_WORKLOAD_KIND].filter((k) => intentSchemas.has(k)));
    if (consumed.size === 0) {
      logger.warn('no configured plugin consumes mesh.member or mesh.local-workload; nothing will be published');
    }
    if (!this.#nodeName) logger.warn('no nodeName (nor $NODE_NAME): no workload counts as local');
    const client = new DeltaAdsClient(clientOptions, { logger });
    this.#client = client;
    client.on('change', (change) => this.#publish(sink, change, consumed));
    signal.addEventListener('abort', () => void client.stop(), { once: true });
    client.start();
  }

  async stop(): Promise<void> {
    await this.#client?.stop();
  }

  #publish(sink: IntentSink, change: XdsChange, consumed: ReadonlySet<string>): void {
    const { logger, intentSchemas } = this.#context;
    const view = meshView(change.state, this.#nodeName);
    const key = `${view.members.join(',')}|${view.localWorkloads.map((w) => `${w.uid}=${w.name}/${w.namespace}:${w.addresses.join(',')}`).join(';')}`;
    if (key === this.#lastKey) return;
    const { intents, issues } = checkIntents(meshIntents(view, consumed), intentSchemas);
    if (issues.length) {
      // the plugin's schema refuses what Istiod sent: keep the last good snapshot
      logger.error({ issues: issues.slice(0, 5), count: issues.length }, 'mesh intents rejected by the plugin schemas; not published');
      return;
    }
    this.#lastKey = key;
    const counts = { members: view.members.length, localWorkloads: view.localWorkloads.length };
    void sink.commit(intents).then((result) => {
      if (result.ok) {
        logger.info({ ...counts, ...result.report }, 'mesh intents applied');
        return;
      }
      // the agent put our previous snapshot back; let the next change try again
      if (this.#lastKey === key) this.#lastKey = undefined;
      logger.error({ ...counts, reason: result.reason, error: result.error }, 'mesh intents refused; the previous ones stay');
    });
  }
}

export const istiodSource: SourceFactory<IstiodSourceConfig> = {
  type: 'istiod',
  description: 'Istiod workload discovery (Delta xDS): HBONE workloads as mesh.member / mesh.local-workload intents (provisional kinds)',
  configSchema: istiodSourceConfigSchema,
  create: (config, context) => new IstiodSource(config, context),
};
