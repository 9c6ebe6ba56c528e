/**
 * The `istiod` source: Istiod's workload discovery (Delta xDS) and, with a `zds` section, the CNI
 * side (a ZDS proxy between istio-cni and the node proxy, and the pods' HBONE listeners), published
 * together as one snapshot with `sink.commit`.
 *
 * ```yaml
 * sources:
 *   - type: istiod
 *     address: istiod.istio-system.svc:15012
 *     tls: { caFile: /var/run/secrets/istio/root-cert.pem }
 *     tokenFile: /var/run/secrets/tokens/istio-token      # audience istio-ca
 *     node: { id: "ztunnel~10.0.0.5~bpfsteer-x.istio-system~istio-system.svc.cluster.local" }
 *     nodeName: node-a                                    # accepted, unused (see the schema)
 *     network: network1                                   # this node's network (multi-network meshes)
 *     zds:                                                # optional: the CNI side
 *       listenPath: /var/run/ztunnel/bpfsteer.sock        # point the proxy's ZDS socket path here
 *       upstreamPath: /var/run/ztunnel/ztunnel.sock       # istio-cni's (the default)
 *       hbone: { hbonePort: 15008, discovery: true }      # and/or registration: { path }
 *       syncWarnMs: 10000                                 # warn while the pods have not synced
 * ```
 *
 * Intents (@bpfsteer/contract-mesh): `mesh.member { address }` per HBONE workload address,
 * `sklookup.pod { uid, netnsHandle, addresses, socketHandles? }` per pod learned over ZDS, naming its
 * fds by handles of the agent's socket-handle registry (`SourceContext.socketHandles`; see
 * mesh-publisher.ts for when and how they are committed).
 */
import { z } from 'zod';
import { ConfigError, type IntentSink, type IntentSource, type SourceContext, type SourceFactory, type ContainerModule, sourceModule } from '@bpfsteer/agent-kernel';
import { MESH_MEMBER_KIND, SKLOOKUP_POD_KIND } from '@bpfsteer/contract-mesh';
import { istiodMetrics } from './istiod-metrics.js';
import { MeshPublisher } from './mesh-publisher.js';
import { DeltaAdsClient } from './xds/delta-ads-client.js';
import { checkDeltaAdsOptions, deltaAdsClientFields, nodeFields } from './xds/delta-ads-options.js';
import { nodeFromEnvironment } from './xds/istiod-identity.js';
import { PodFeed } from './zds/pod-feed.js';
import { podFeedOptionsSchema } from './zds/pod-feed-options.js';

export const istiodSourceConfigSchema = deltaAdsClientFields
  .extend({
    /**
     * the proxy's identity; without `id`, it is made from the environment as ztunnel makes its own
     * (INSTANCE_IP, POD_NAME, POD_NAMESPACE, NODE_NAME, set by a DaemonSet from the downward API),
     * with that metadata under the one given
     */
    node: nodeFields.extend({ id: z.string().min(1).optional() }).prefault({}),
    /**
     * this node's Kubernetes name; no intent uses it since `mesh.local-workload` (consumed by no
     * plugin) was dropped: still accepted so that existing configs stay valid
     */
    nodeName: z.string().min(1).optional(),
    /**
     * this node's Istio network (ztunnel's NETWORK, the mesh's `values.global.network`); default ''
     * (the default network). Workloads are known by network and address together: only those of
     * this network are mesh members, so an overlapping IP of another network is not diverted
     */
    network: z.string().max(253).default(''),
    /** the CNI side: serve ZDS to the node proxy, relay it to istio-cni, learn the pods */
    zds: podFeedOptionsSchema.optional(),
  })
  .superRefine(checkDeltaAdsOptions);

export type IstiodSourceConfig = z.output<typeof istiodSourceConfigSchema>;

/** The problem this source reports (SourceContext.problem) while no stream to Istiod is answered. */
export const ISTIOD_UNREACHABLE = 'IstiodUnreachable';

class IstiodSource implements IntentSource {
  readonly #config: IstiodSourceConfig;
  readonly #context: SourceContext<IstiodSourceConfig>;
  #client?: DeltaAdsClient;
  #feed?: PodFeed;
  #publisher?: MeshPublisher;
  #stopping?: Promise<void>;
  /** stops the ZDS gauges reading this source's CNI side */
  #unobserve?: () => void;

  constructor(config: IstiodSourceConfig, context: SourceContext<IstiodSourceConfig>) {
    this.#config = config;
    this.#context = context;
  }

  /** The xDS client (diagnostics, tests). */
  get client(): DeltaAdsClient | undefined {
    return this.#client;
  }

  /** The CNI side, when configured (diagnostics, tests). */
  get feed(): PodFeed | undefined {
    return this.#feed;
  }

  /** The publisher (diagnostics, tests). */
  get publisher(): MeshPublisher | undefined {
    return this.#publisher;
  }

  async start(sink: IntentSink): Promise<void> {
    const { logger, signal, intentSchemas, socketHandles } = this.#context;
    const { nodeName: _nodeName, network: _network, zds, node: configured, ...fields } = this.#config;
    const clientOptions = { ...fields, node: this.#node(configured) };
    const publisher = new MeshPublisher({
      sink,
      logger,
      intentSchemas,
      ...(zds ? { podSyncWarnMs: zds.syncWarnMs } : {}),
      ...(socketHandles ? { socketHandles } : {}),
      network: this.#config.network,
    });
    const consumed = publisher.consumed;
    if (!consumed.has(MESH_MEMBER_KIND) && !consumed.has(SKLOOKUP_POD_KIND)) {
      logger.warn('no configured plugin consumes mesh.member or sklookup.pod; nothing will be published');
    }
    if (zds && !consumed.has(SKLOOKUP_POD_KIND)) logger.warn('zds is configured but no plugin consumes sklookup.pod: the pods are relayed, not published');
    if (zds && consumed.has(SKLOOKUP_POD_KIND) && !socketHandles) {
      throw new ConfigError([
        {
          path: ['zds'],
          message:
            "publishing sklookup.pod needs the agent's socket-handle registry (the pods' netns and listeners are named by handles): " +
            'bind one, e.g. createAgent({ socketHandles: new SocketHandles() }) with SocketHandles from @bpfsteer/core-bpf (bpfsteer run does)',
        },
      ]);
    }
    if (!zds && consumed.has(SKLOOKUP_POD_KIND)) logger.warn('a plugin consumes sklookup.pod but no zds section is configured: no pod will be published');
    this.#publisher = publisher;
    const metrics = istiodMetrics(this.#context.metrics);
    if (zds) {
      const feed = new PodFeed(zds, { logger, metrics: metrics.zds });
      feed.on('change', (state) => publisher.setPods(state));
      this.#feed = feed;
      this.#unobserve = metrics.observeZds({ sessions: () => feed.proxy.sessions, pods: () => feed.proxy.pods.list(), synced: () => feed.synced });
      try {
        feed.start();
      } catch (err) {
        this.#unobserve();
        // e.g. the listen path is taken: the source fails to start, holding nothing
        await feed.stop();
        publisher.stop();
        throw err;
      }
    }
    const client = new DeltaAdsClient(clientOptions, { logger, metrics: metrics.xds });
    this.#client = client;
    client.on('change', (change) => publisher.setAddressState(change.state, change));
    // a stream Istiod never answered (not reached, or refused at once) is a lasting problem until
    // one is answered; the last known state is kept meanwhile (an answered stream that ends, as
    // Istiod ends every stream after its maximum connection age, is none)
    client.on('disconnected', ({ reason, answered }) => {
      if (!answered) this.#context.problem(ISTIOD_UNREACHABLE, `${clientOptions.address}: ${reason}`);
    });
    client.on('connected', () => this.#context.problem(ISTIOD_UNREACHABLE, undefined));
    signal.addEventListener('abort', () => void this.stop(), { once: true });
    publisher.start();
    client.start();
  }

  /** The node as configured, or with its id and metadata from the environment (see the schema). */
  #node(node: IstiodSourceConfig['node']): IstiodSourceConfig['node'] & { id: string } {
    if (node.id !== undefined) return { ...node, id: node.id };
    const found = nodeFromEnvironment(process.env);
    if (!found.ok) {
      throw new ConfigError([
        { path: ['node', 'id'], message: `not set, and the environment does not give it as it gives ztunnel its own: ${found.problems.join('; ')}` },
      ]);
    }
    return { ...node, id: found.value.id, metadata: { ...found.value.metadata, ...node.metadata } };
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#client?.stop();
      await this.#feed?.stop();
      this.#unobserve?.();
      this.#publisher?.stop();
    })();
    return this.#stopping;
  }
}

export const istiodSource: SourceFactory<IstiodSourceConfig> = {
  type: 'istiod',
  description:
    'Istiod workload discovery (Delta xDS) and the CNI side (ZDS proxy, HBONE listeners): mesh.member and sklookup.pod intents',
  configSchema: istiodSourceConfigSchema,
  // the plugins consuming these get no first apply before this source published (Istiod answered
  // and, with zds, the pods synced): a restarted agent keeps its pinned pods and members meanwhile
  produces: [MESH_MEMBER_KIND, SKLOOKUP_POD_KIND],
  // the unix sockets it listens on (upstreamPath is istio-cni's, only connected to)
  claims: (config) => [
    ...(config.zds ? [{ path: config.zds.listenPath, what: 'ZDS socket', field: ['zds', 'listenPath'] }] : []),
    ...(config.zds?.hbone.registration
      ? [{ path: config.zds.hbone.registration.path, what: 'HBONE registration socket', field: ['zds', 'hbone', 'registration', 'path'] }]
      : []),
  ],
  create: (config, context) => new IstiodSource(config, context),
};

/** This source as a container module: `createAgent({ modules: [istiodSourceModule, ...], config })`. */
export const istiodSourceModule: ContainerModule = sourceModule(istiodSource);
