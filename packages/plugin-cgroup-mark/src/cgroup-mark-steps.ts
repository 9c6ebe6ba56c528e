/**
 * The cgroup-mark plugin's steps, and the implementation its worker thread imports
 * (`cgroupMarkImplementation`): it keeps the cgroup_skb egress observer on the mesh proxy's
 * cgroup, so the proxy's own (marked) connections to local applications are recorded in
 * mesh_bypass and the sk_lookup divert of plugin-sklookup lets them through. It consumes no
 * intents: its whole input is the config, which comes parsed by the agent (no schema is loaded).
 * Its counters are served as Prometheus families (cgroup-mark-metrics.ts).
 */
import { type PluginContext, type PluginImplementation, type PluginSteps, pluginImplementation } from '@bpfsteer/agent-kernel/plugin-kit';
import type { CgroupMarkConfig } from './cgroup-mark-config.js';
import { CgroupMarkDataplane } from './cgroup-mark-dataplane.js';
import { cgroupMarkMetricFamilies } from './cgroup-mark-metrics.js';
import { describeSelector, resolveCgroups, type CgroupSelector } from './cgroup-selector.js';
import type { MarkSpec } from './mark-selector.js';

/** The steps of one plugin instance, from its parsed config. */
export function cgroupMarkSteps(config: CgroupMarkConfig, context: PluginContext): PluginSteps<CgroupMarkDataplane> {
  return {
  open: () =>
    CgroupMarkDataplane.open({
      pinRoot: context.pinRoot,
      mark: config.mark as MarkSpec,
      localOnly: config.localOnly,
      bypassEntries: config.bypassEntries,
      ...(config.bypassMapPin !== undefined ? { bypassMapPin: config.bypassMapPin } : {}),
    }),
  load: (dp) => dp.load(),
  // no seed: mesh_bypass is written by the program only
  attach: (dp) => {
    const selector = config.cgroup as CgroupSelector;
    const attached = dp.attach(resolveCgroups(selector));
    context.logger.info(
      { selector: describeSelector(selector), cgroups: attached.map((a) => a.cgroup), mark: dp.status().mark },
      'observing the proxy cgroup egress',
    );
  },
  apply: () => ({ added: 0, updated: 0, removed: 0 }),
  metrics: (dp) => cgroupMarkMetricFamilies(dp.stats()),
  status: (dp) => {
    const s = dp.status();
    return {
      attachments: s.attachments.map((a) => ({ target: `cgroup ${a.cgroup}`, type: a.type, ...(a.pinned ? { pinned: a.pinned } : {}) })),
      maps: s.maps.map(({ name, entries, maxEntries }) => ({ name, entries, maxEntries })),
      details: { mark: s.mark, localOnly: s.localOnly, stats: s.stats, ...(dp.bypassMapPin ? { bypassMapPin: dp.bypassMapPin } : {}) },
    };
  },
};
}

/** What the plugin's worker thread imports (cgroup-mark-entry.ts names it). */
export const cgroupMarkImplementation: PluginImplementation<CgroupMarkConfig> = pluginImplementation('cgroup-mark', cgroupMarkSteps);
