/**
 * The sklookup plugin's steps, and the implementation its worker thread imports
 * (`sklookupImplementation`): it consumes `mesh.member` and `sklookup.pod` intents and keeps the
 * sk_lookup divert converged to them: every pod's netns runs the program (pinned link), members,
 * pod addresses and HBONE listener sockets in the maps. A desired state that is invalid (bad
 * address, vanished netns, a socket the kernel refuses, over capacity) is rejected with
 * IntentRejectedError before anything changes. Each pod's lookup counters are served as Prometheus
 * families (sklookup-metrics.ts). Its config comes parsed by the agent and the
 * intents are read by its own code (sklookup-intents.ts): no schema is loaded.
 */
import { IntentRejectedError, type PluginContext, type PluginImplementation, type PluginSteps, pluginImplementation } from '@bpfsteer/agent-kernel/plugin-kit';
import { MESH_BYPASS_MAP, MESH_MEMBER_KIND, SKLOOKUP_POD_KIND, type MeshBypassMap } from '@bpfsteer/contract-mesh/kinds';
import { MeshKeyCache } from './mesh-address.js';
import type { SklookupConfig } from './sklookup-config.js';
import { SklookupDataplane, type PreparedApply } from './sklookup-dataplane.js';
import { readDesiredMesh } from './sklookup-intents.js';
import { sklookupMetricFamilies } from './sklookup-metrics.js';

/** The steps of one plugin instance, from its parsed config. */
export function sklookupSteps(config: SklookupConfig, context: PluginContext): PluginSteps<SklookupDataplane> {
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
    metrics: (dp) => sklookupMetricFamilies(dp.lookupCounters()),
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
}

/** What the plugin's worker thread imports (sklookup-entry.ts names it). */
export const sklookupImplementation: PluginImplementation<SklookupConfig> = pluginImplementation('sklookup', sklookupSteps);
