/**
 * The tc-nexthop agent plugin: consumes `nexthop.redirect` intents ({ source, nexthop, interface })
 * and keeps a NexthopDataplane converged to them, with the filter on every configured interface.
 */
import { definePlugin, type PluginFactory } from '@bpfsteer/agent-kernel';
import { z } from 'zod';
import { DEFAULT_MAX_RULES, MAX_MAX_RULES, NexthopDataplane } from './nexthop-dataplane.js';
import { checkInterfaceName, type NexthopRuleSpec } from './nexthop-rule.js';
import { NEXTHOP_REDIRECT_KIND, nexthopRedirectIntentSchema } from '@bpfsteer/contract-nexthop';

/** Zod refinement that reuses a throwing validator, so schema and runtime give the same message. */
function validWith(check: (v: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  };
}

const ifnameSchema = z.string().superRefine(validWith((v) => checkInterfaceName(v)));

export const tcNexthopConfigSchema = z.strictObject({
  /** interfaces whose egress gets the filter (usually the default-gateway side) */
  interfaces: z
    .array(ifnameSchema)
    .min(1, 'list at least one interface to attach the filter to')
    .refine((l) => new Set(l).size === l.length, 'each interface may be listed once'),
  /** network namespace (name or path) the interfaces live in */
  netns: z.string().min(1).optional(),
  /** rule capacity (default 16384) */
  maxRules: z.number().int().min(1).max(MAX_MAX_RULES).default(DEFAULT_MAX_RULES),
});

export type TcNexthopConfig = z.output<typeof tcNexthopConfigSchema>;

export const tcNexthopPlugin: PluginFactory<TcNexthopConfig> = definePlugin<TcNexthopConfig, NexthopDataplane>({
  id: 'tc-nexthop',
  description: 'tc egress redirect by source prefix to an interface and next hop (bpf_redirect_neigh): fixes asymmetric routing',
  configSchema: tcNexthopConfigSchema as z.ZodType<TcNexthopConfig>,
  intents: { [NEXTHOP_REDIRECT_KIND]: nexthopRedirectIntentSchema },
  requires: ['bpffs', 'tc', 'redirect_neigh'],
  // the agent runs the plugin in a worker thread of its own, importing this factory from here
  worker: { module: import.meta.url, export: 'tcNexthopPlugin' },
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
