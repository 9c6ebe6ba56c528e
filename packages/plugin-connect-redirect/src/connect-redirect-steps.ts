/**
 * The connect-redirect plugin's steps, and the implementation its worker thread imports
 * (`connectRedirectImplementation`): it consumes `connect.redirect` intents and keeps a
 * ConnectRedirectDataplane converged to them, its programs on the configured cgroups, its target
 * listeners and bypass from the config, and serves its counters as Prometheus families
 * (connect-redirect-metrics.ts). Its config comes parsed by the agent and the rules are
 * checked by its own code (compile-rules.ts): no schema is loaded.
 */
import { type PluginContext, type PluginImplementation, type PluginSteps, pluginImplementation } from '@bpfsteer/agent-kernel/plugin-kit';
import { CONNECT_REDIRECT_KIND } from '@bpfsteer/contract-connect/kinds';
import { cgroup2Root, resolveCgroupPath } from '@bpfsteer/core-bpf';
import type { ConnectRuleSpec } from './compile-rules.js';
import type { ConnectRedirectConfig } from './connect-redirect-config.js';
import { ConnectRedirectDataplane } from './connect-redirect-dataplane.js';
import { readEndpoint, type Endpoint } from './endpoint.js';
import { connectRedirectMetricFamilies } from './connect-redirect-metrics.js';

function endpoint(text: string | false, family: 4 | 6): Endpoint | undefined {
  if (text === false) return undefined;
  const r = readEndpoint(text, family);
  if (!r.ok) throw new Error(`target: ${r.error}`); // the schema refused it already
  return r.value;
}

/** The steps of one plugin instance, from its parsed config. */
export function connectRedirectSteps(config: ConnectRedirectConfig, context: PluginContext): PluginSteps<ConnectRedirectDataplane> {
  /** the rules of the last apply (their positions index cr_rule_stats) */
  let rules: readonly ConnectRuleSpec[] = [];
  return {
    open: () => ConnectRedirectDataplane.open({ pinRoot: context.pinRoot }),
    load: (dp) => dp.load(),
    seed: (dp) => {
      const kept = dp.seed();
      if (kept > 0) context.logger.info({ prefixes: kept }, 'adopted the rules of the pinned trie');
      const ipv4 = endpoint(config.target.ipv4, 4);
      const ipv6 = endpoint(config.target.ipv6, 6);
      const bypass = config.bypass;
      dp.configure(
        { ...(ipv4 && { ipv4 }), ...(ipv6 && { ipv6 }) },
        {
          ...(bypass.mark && { mark: bypass.mark }),
          ...(bypass.cgroup !== undefined && { cgroup: resolveCgroupPath(bypass.cgroup, cgroup2Root()) }),
        },
      );
    },
    attach: (dp) => {
      const attached = dp.attach(config.cgroups, config.proxyCgroups);
      context.logger.info({ attachments: attached.map((a) => `${a.type} ${a.cgroup}`) }, 'connect redirect attached');
    },
    apply: (dp, desired) => {
      const specs = (desired.get(CONNECT_REDIRECT_KIND) ?? []) as unknown as ConnectRuleSpec[];
      const report = dp.setRules(specs);
      rules = [...specs]; // the desired list may be changed in place for a later apply
      return report;
    },
    metrics: (dp) => connectRedirectMetricFamilies(dp.stats(), rules, dp.ruleStats(rules.length)),
    status: (dp) => {
      const s = dp.status();
      return {
        attachments: s.attachments.map((a) => ({ target: `cgroup ${a.cgroup}`, type: a.type, ...(a.pinned ? { pinned: a.pinned } : {}) })),
        maps: s.maps,
        details: { target: config.target, stats: s.stats, rules: dp.ruleStats(rules.length) },
      };
    },
  };
}

/** What the plugin's worker thread imports (connect-redirect-entry.ts names it). */
export const connectRedirectImplementation: PluginImplementation<ConnectRedirectConfig> = pluginImplementation('connect-redirect', connectRedirectSteps);
