/**
 * The sklookup agent plugin: consumes `mesh.member` and `sklookup.pod` intents (provisional kinds,
 * see sklookup-intents.ts) and keeps the sk_lookup divert converged to them: every pod's netns runs
 * the program (pinned link), members, pod addresses and HBONE listener sockets in the maps. A
 * desired state that is invalid (bad address, vanished netns, a socket the kernel refuses, over
 * capacity) is rejected with IntentRejectedError before anything changes.
 */
import { IntentRejectedError, definePlugin, type PluginFactory, type ContainerModule, pluginModule } from '@bpfsteer/agent-kernel';
import { z } from 'zod';
import {
  DEFAULT_BYPASS_ENTRIES,
  DEFAULT_BYPASS_TTL_MS,
  DEFAULT_MAX_MEMBERS,
  DEFAULT_MAX_POD_ADDRESSES,
  DEFAULT_MAX_PODS,
  MAX_MAX_MEMBERS,
  MAX_MAX_PODS,
  SklookupDataplane,
  type PreparedApply,
} from './sklookup-dataplane.js';
import { MESH_BYPASS_MAP, MESH_MEMBER_KIND, SKLOOKUP_POD_KIND, meshMemberIntentSchema, sklookupPodIntentSchema, type MeshBypassMap } from '@bpfsteer/contract-mesh';
import { readDesiredMesh } from './sklookup-intents.js';
import { MeshKeyCache } from './mesh-address.js';

export const sklookupConfigSchema = z.strictObject({
  /** ports never diverted, in addition to 15001, 15006 and 15008 */
  skipPorts: z
    .array(z.number().int().min(1).max(65535))
    .refine((l) => new Set(l).size === l.length, 'each skip port may be listed once')
    .default([]),
  maxMembers: z.number().int().min(1).max(MAX_MAX_MEMBERS).default(DEFAULT_MAX_MEMBERS),
  maxPods: z.number().int().min(1).max(MAX_MAX_PODS).default(DEFAULT_MAX_PODS),
  maxPodAddresses: z.number().int().min(1).max(1 << 20).default(DEFAULT_MAX_POD_ADDRESSES),
  /** how long after the proxy's marked SYN its mesh_bypass entry counts */
  bypassTtlMs: z.number().int().min(1).max(3_600_000).default(DEFAULT_BYPASS_TTL_MS),
  /** capacity of mesh_bypass: must equal plugin-cgroup-mark's bypassEntries when the map is shared */
  bypassEntries: z.number().int().min(1).max(1 << 22).default(DEFAULT_BYPASS_ENTRIES),
  /**
   * the mesh_bypass map of plugin-cgroup-mark, e.g. /sys/fs/bpf/bpfsteer/cgroup-mark/maps/mesh_bypass;
   * without it the proxy's own connections are not recognised (they are diverted back to it)
   */
  bypassMapPin: z.string().startsWith('/', 'bypassMapPin must be an absolute path on bpffs').optional(),
});

export type SklookupConfig = z.output<typeof sklookupConfigSchema>;

export const sklookupPlugin: PluginFactory<SklookupConfig> = definePlugin<SklookupConfig, SklookupDataplane>({
  id: 'sklookup',
  description:
    "sk_lookup divert in each meshed pod netns: mesh-to-mesh TCP connections go to the proxy's HBONE listener (Istio ambient transparent network policies)",
  configSchema: sklookupConfigSchema as z.ZodType<SklookupConfig>,
  intents: { [MESH_MEMBER_KIND]: meshMemberIntentSchema, [SKLOOKUP_POD_KIND]: sklookupPodIntentSchema },
  requires: ['bpffs', 'sk_lookup', 'sockhash'],
  // the agent runs the plugin in a worker thread of its own, importing this factory from here
  worker: { module: import.meta.url, export: 'sklookupPlugin' },
  needs: {
    [MESH_BYPASS_MAP]: {
      description: "the mesh_bypass map of plugin-cgroup-mark, where the proxy's own connections are recorded",
      optional: true,
    },
  },
  steps: (config, context) => {
    // with plugin-cgroup-mark configured, its mesh_bypass map (pin and size) comes from it
    const shared = context.provided?.get(MESH_BYPASS_MAP) as MeshBypassMap | undefined;
    if (shared && config.bypassMapPin !== undefined && config.bypassMapPin !== shared.pinPath) {
      context.logger.warn({ configured: config.bypassMapPin, cgroupMark: shared.pinPath }, "bypassMapPin differs from plugin-cgroup-mark's map; using cgroup-mark's");
    }
    const c = shared ? { ...config, bypassMapPin: shared.pinPath, bypassEntries: shared.entries } : config;
    /** addresses parsed by earlier applies (most of a desired state is the same as last time) */
    const keys = new MeshKeyCache();
    return {
      open: () =>
        SklookupDataplane.open({
          pinRoot: context.pinRoot,
          skipPorts: c.skipPorts,
          maxMembers: c.maxMembers,
          maxPods: c.maxPods,
          maxPodAddresses: c.maxPodAddresses,
          bypassTtlMs: c.bypassTtlMs,
          bypassEntries: c.bypassEntries,
          ...(c.bypassMapPin !== undefined ? { bypassMapPin: c.bypassMapPin } : {}),
        }),
      load: (dp) => dp.load(),
      seed: (dp) => dp.seed(),
      attach: (dp) => {
        dp.attach();
        const pods = dp.pods().length;
        if (pods > 0 || dp.memberCount > 0) context.logger.info({ pods, members: dp.memberCount }, 'adopted the pinned pods and members');
        if (c.bypassMapPin === undefined) {
          context.logger.warn("no plugin-cgroup-mark and no bypassMapPin: the proxy's own connections to local applications will be diverted back to it");
        }
      },
      apply: (dp, desired) => {
        let prepared: PreparedApply;
        try {
          prepared = dp.prepare(readDesiredMesh(desired, dp.capacity, keys, context.socketHandles));
        } catch (err) {
          throw new IntentRejectedError(`sklookup: ${(err as Error).message}`, { cause: err });
        } finally {
          keys.rotate();
        }
        return dp.commit(prepared);
      },
      describe: (dp, kind) => {
        if (kind === SKLOOKUP_POD_KIND) return dp.pods();
        if (kind === MESH_MEMBER_KIND) return { members: dp.memberCount };
        return undefined;
      },
      status: (dp) => {
        const s = dp.status();
        return {
          attachments: s.pods.map((p) => ({ target: `netns ${p.netns ?? '(adopted)'} of pod ${p.uid}`, type: 'sk_lookup', ...(p.pinned ? { pinned: p.pinned } : {}) })),
          maps: s.maps,
          details: {
            members: s.members,
            skipPorts: s.skipPorts,
            pods: s.pods,
            unattributed: s.unattributed,
            problems: s.problems,
            ...(c.bypassMapPin ? { bypassMapPin: c.bypassMapPin } : {}),
          },
        };
      },
    };
  },
});

/** This plugin as a container module: `createAgent({ modules: [sklookupModule, ...], config })`. */
export const sklookupModule: ContainerModule = pluginModule(sklookupPlugin);
