/**
 * The tc-nexthop agent plugin: consumes `nexthop.redirect` intents ({ source, nexthop, interface })
 * and keeps a NexthopDataplane converged to them, with the filter on every configured interface.
 * The implementation the plugin's worker thread imports; the agent's main thread needs only the
 * light entry (tc-nexthop-entry.ts).
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import { NEXTHOP_REDIRECT_KIND } from '@bpfsteer/contract-nexthop';
import { NexthopDataplane } from './nexthop-dataplane.js';
import type { NexthopRuleSpec } from './nexthop-rule.js';
import { tcNexthopDeclaration, type TcNexthopConfig } from './tc-nexthop-entry.js';

export { tcNexthopConfigSchema, type TcNexthopConfig } from './tc-nexthop-entry.js';

export const tcNexthopPlugin: PluginFactory<TcNexthopConfig> = definePlugin<TcNexthopConfig, NexthopDataplane>({
  // declarations (and the worker module: this file, built) shared with the light entry
  ...tcNexthopDeclaration,
  steps: (config, context) => ({
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
    status: (dp) => {
      const s = dp.status();
      const ns = config.netns ? ` (netns ${config.netns})` : '';
      return {
        attachments: s.filters.map((f) => ({ target: `${f.interface} egress${ns}`, type: f.type, ...(f.pinned ? { pinned: f.pinned } : {}) })),
        maps: s.maps,
        details: { maxRules: dp.maxRules, rules: s.rules },
      };
    },
  }),
});
