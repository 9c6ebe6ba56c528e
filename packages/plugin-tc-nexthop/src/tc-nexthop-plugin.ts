/**
 * The tc-nexthop agent plugin: consumes `nexthop.redirect` intents ({ source, nexthop, interface })
 * and keeps a NexthopDataplane converged to them, with the filter on every configured interface.
 */
import type {
  ApplyReport,
  CloseOptions,
  DataplanePlugin,
  DesiredState,
  PluginContext,
  PluginFactory,
  PluginStatus,
} from '@bpfsteer/agent-kernel';
import { z } from 'zod';
import { DEFAULT_MAX_RULES, MAX_MAX_RULES, NexthopDataplane, type NexthopDataplaneOptions } from './nexthop-dataplane.js';
import { checkInterfaceName, parseNexthop, parseSource, type NexthopRuleSpec } from './nexthop-rule.js';

export const NEXTHOP_REDIRECT_KIND = 'nexthop.redirect';

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

/** One `nexthop.redirect` intent (without `kind`). */
export const nexthopRedirectIntentSchema = z
  .strictObject({
    /** source prefix, e.g. 192.168.1.5/32 (a bare address is a host prefix) */
    source: z.string().superRefine(validWith((v) => parseSource(v))),
    /** next-hop address of the same family */
    nexthop: z.string().superRefine(validWith((v) => parseNexthop(v))),
    /** egress interface */
    interface: ifnameSchema,
  })
  .superRefine((v, ctx) => {
    try {
      const s = parseSource(v.source);
      const n = parseNexthop(v.nexthop);
      if (s.family !== n.family) {
        ctx.addIssue({
          code: 'custom',
          path: ['nexthop'],
          message: `nexthop ${n.text} is IPv${n.family} but source ${s.text} is IPv${s.family}; both must be the same family`,
        });
      }
    } catch {
      // reported by the field refinements
    }
  });

class TcNexthopPlugin implements DataplanePlugin {
  readonly #config: TcNexthopConfig;
  readonly #context: PluginContext;
  #dataplane: NexthopDataplane | undefined;
  #rules = 0;

  constructor(config: TcNexthopConfig, context: PluginContext) {
    this.#config = tcNexthopConfigSchema.parse(config);
    this.#context = context;
  }

  #dp(): NexthopDataplane {
    if (!this.#dataplane) throw new Error('tc-nexthop: open() has not run');
    return this.#dataplane;
  }

  async open(): Promise<void> {
    const options: NexthopDataplaneOptions = {
      pinRoot: this.#context.pinRoot,
      maxRules: this.#config.maxRules,
      ...(this.#config.netns !== undefined ? { netns: this.#config.netns } : {}),
    };
    this.#dataplane = NexthopDataplane.open(options);
  }

  async load(): Promise<void> {
    this.#dp().load();
  }

  async seed(): Promise<void> {
    const dp = this.#dp();
    dp.seed();
    this.#rules = dp.list().length;
    if (this.#rules > 0) this.#context.logger.info({ rules: this.#rules }, 'adopted the rules of the pinned maps');
  }

  async attach(): Promise<void> {
    const dp = this.#dp();
    for (const ifname of this.#config.interfaces) {
      const f = dp.attachFilter(ifname);
      this.#context.logger.info({ interface: ifname, type: f.type, pinned: f.pinned }, 'filter attached');
    }
    const stale = dp.detachOtherFilters(this.#config.interfaces);
    if (stale.length > 0) this.#context.logger.info({ interfaces: stale }, 'detached filters no longer configured');
  }

  async apply(desired: DesiredState): Promise<ApplyReport> {
    const intents = desired.get(NEXTHOP_REDIRECT_KIND) ?? [];
    const specs: NexthopRuleSpec[] = intents.map((i) => ({
      source: i.source as string,
      nexthop: i.nexthop as string,
      interface: i.interface as string,
    }));
    const report = this.#dp().setRules(specs);
    this.#rules = specs.length;
    return report;
  }

  status(): PluginStatus {
    const dp = this.#dataplane;
    if (!dp) return { attachments: [], maps: [] };
    let s;
    try {
      s = dp.status();
    } catch {
      return { attachments: [], maps: [] };
    }
    return {
      attachments: s.filters.map((f) => ({
        target: `${f.interface} egress${this.#config.netns ? ` (netns ${this.#config.netns})` : ''}`,
        type: f.type,
        ...(f.pinned ? { pinned: f.pinned } : {}),
      })),
      maps: s.maps,
      details: { maxRules: dp.maxRules, rules: s.rules },
    };
  }

  async close(options: CloseOptions): Promise<void> {
    const dp = this.#dataplane;
    this.#dataplane = undefined;
    dp?.close(options);
  }
}

export const tcNexthopPlugin: PluginFactory<TcNexthopConfig> = {
  id: 'tc-nexthop',
  description: 'tc egress redirect by source prefix to an interface and next hop (bpf_redirect_neigh): fixes asymmetric routing',
  configSchema: tcNexthopConfigSchema as z.ZodType<TcNexthopConfig>,
  intents: { [NEXTHOP_REDIRECT_KIND]: nexthopRedirectIntentSchema },
  requires: ['bpffs', 'tc', 'redirect_neigh'],
  // the agent runs the plugin in a worker thread of its own, importing this factory from here
  worker: { module: import.meta.url, export: 'tcNexthopPlugin' },
  create: (config, context) => new TcNexthopPlugin(config, context),
};
