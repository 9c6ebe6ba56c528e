/**
 * The tc-nexthop plugin's steps, and the implementation its worker thread imports
 * (`tcNexthopImplementation`): it consumes `nexthop.redirect` intents ({ source, nexthop,
 * interface }) and keeps a NexthopDataplane converged to them, with the filter on every configured
 * interface, and serves each rule's redirect counters as Prometheus families (nexthop-metrics.ts).
 * Its config comes parsed by the agent and the rules are checked by its own code
 * (nexthop-rule.ts): no schema is loaded.
 */
import { type PluginContext, type PluginImplementation, type PluginSteps, pluginImplementation } from '@bpfsteer/agent-kernel/plugin-kit';
import { NEXTHOP_REDIRECT_KIND } from '@bpfsteer/contract-nexthop/kinds';
import { NexthopDataplane } from './nexthop-dataplane.js';
import type { NexthopRuleSpec } from './nexthop-rule.js';
import type { TcNexthopConfig } from './tc-nexthop-config.js';
import { nexthopMetricFamilies } from './nexthop-metrics.js';

/** The steps of one plugin instance, from its parsed config. */
export function tcNexthopSteps(config: TcNexthopConfig, context: PluginContext): PluginSteps<NexthopDataplane> {
  return {
  open: () => NexthopDataplane.open({ pinRoot: context.pinRoot, maxRules: config.maxRules, ...(config.netns !== undefined ? { netns: config.netns } : {}) }),
  load: (dp) => dp.load(),
  seed: (dp) => {
    dp.seed();
    const rules = dp.list().length;
    if (rules > 0) context.logger.info({ rules }, 'adopted the rules of the pinned maps');
  },
  attach: (dp) => {
    for (const ifname of config.interfaces) {
      const f = dp.attachFilter(ifname);
      context.logger.info({ interface: ifname, type: f.type, pinned: f.pinned }, 'filter attached');
    }
    const stale = dp.detachOtherFilters(config.interfaces);
    if (stale.length > 0) context.logger.info({ interfaces: stale }, 'detached filters no longer configured');
  },
  apply: (dp, desired) => {
    const specs: NexthopRuleSpec[] = (desired.get(NEXTHOP_REDIRECT_KIND) ?? []).map((i) => ({
      source: i.source as string,
      nexthop: i.nexthop as string,
      interface: i.interface as string,
    }));
    return dp.setRules(specs);
  },
  metrics: (dp) => nexthopMetricFamilies(dp.list()),
  status: (dp) => {
    const s = dp.status();
    const ns = config.netns ? ` (netns ${config.netns})` : '';
    return {
      attachments: s.filters.map((f) => ({ target: `${f.interface} egress${ns}`, type: f.type, ...(f.pinned ? { pinned: f.pinned } : {}) })),
      maps: s.maps,
      details: { maxRules: dp.maxRules, rules: s.rules },
    };
  },
};
}

/** What the plugin's worker thread imports (tc-nexthop-entry.ts names it). */
export const tcNexthopImplementation: PluginImplementation<TcNexthopConfig> = pluginImplementation('tc-nexthop', tcNexthopSteps);
