/**
 * The cgroup-mark agent plugin: keeps the cgroup_skb egress observer on the mesh proxy's cgroup,
 * so the proxy's own (marked) connections to local applications are recorded in mesh_bypass and
 * the sk_lookup divert of plugin-sklookup lets them through. It consumes no intents: its whole
 * input is the config.
 */
import type { ApplyReport, CloseOptions, DataplanePlugin, PluginContext, PluginFactory, PluginStatus } from '@bpfsteer/agent-kernel';
import { z } from 'zod';
import { CgroupMarkDataplane, DEFAULT_BYPASS_ENTRIES, MAX_BYPASS_ENTRIES } from './cgroup-mark-dataplane.js';
import { describeSelector, resolveCgroups, type CgroupSelector } from './cgroup-selector.js';
import { DEFAULT_MARK_PRESET, resolveMark, type MarkSpec } from './mark-selector.js';

const markNumber = z.union([z.number(), z.string()]);

export const cgroupMarkConfigSchema = z.strictObject({
  /**
   * the proxy's cgroup: a path relative to the cgroup2 root (or absolute inside it), or
   * { pid } / { process: 'ztunnel' } to take the cgroup of that process (found at attach)
   */
  cgroup: z.union([
    z.string().min(1, 'cgroup: give a path relative to the cgroup2 root, { pid } or { process }'),
    z.strictObject({ pid: z.number().int().positive() }),
    z.strictObject({ process: z.string().min(1).max(255) }),
  ]),
  /** which packets are the proxy's own: a preset, "value/mask" or { value, mask } (default ambient-inpod, 0x539/0xfff) */
  mark: z
    .union([z.string(), z.strictObject({ value: markNumber, mask: markNumber.optional() })])
    .default(DEFAULT_MARK_PRESET)
    .superRefine((v, ctx) => {
      try {
        resolveMark(v as MarkSpec);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
  /** record only connections to local addresses (SYNs through loopback), default true */
  localOnly: z.boolean().default(true),
  /** capacity of the mesh_bypass LRU map (must equal plugin-sklookup's when the map is shared) */
  bypassEntries: z.number().int().min(1).max(MAX_BYPASS_ENTRIES).default(DEFAULT_BYPASS_ENTRIES),
  /** where mesh_bypass is pinned; default <pinRoot>/maps/mesh_bypass (point plugin-sklookup's bypassMapPin here) */
  bypassMapPin: z.string().startsWith('/', 'bypassMapPin must be an absolute path on bpffs').optional(),
});

export type CgroupMarkConfig = z.output<typeof cgroupMarkConfigSchema>;

class CgroupMarkPlugin implements DataplanePlugin {
  readonly #config: CgroupMarkConfig;
  readonly #context: PluginContext;
  #dataplane: CgroupMarkDataplane | undefined;

  constructor(config: CgroupMarkConfig, context: PluginContext) {
    this.#config = cgroupMarkConfigSchema.parse(config);
    this.#context = context;
  }

  #dp(): CgroupMarkDataplane {
    if (!this.#dataplane) throw new Error('cgroup-mark: open() has not run');
    return this.#dataplane;
  }

  async open(): Promise<void> {
    this.#dataplane = CgroupMarkDataplane.open({
      pinRoot: this.#context.pinRoot,
      mark: this.#config.mark as MarkSpec,
      localOnly: this.#config.localOnly,
      bypassEntries: this.#config.bypassEntries,
      ...(this.#config.bypassMapPin !== undefined ? { bypassMapPin: this.#config.bypassMapPin } : {}),
    });
  }

  async load(): Promise<void> {
    this.#dp().load();
  }

  async seed(): Promise<void> {
    // nothing to fill: mesh_bypass is written by the program only
  }

  async attach(): Promise<void> {
    const dp = this.#dp();
    const cgroups = resolveCgroups(this.#config.cgroup as CgroupSelector);
    const attached = dp.attach(cgroups);
    this.#context.logger.info(
      { selector: describeSelector(this.#config.cgroup as CgroupSelector), cgroups: attached.map((a) => a.cgroup), mark: dp.status().mark },
      'observing the proxy cgroup egress',
    );
  }

  async apply(): Promise<ApplyReport> {
    return { added: 0, updated: 0, removed: 0 };
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
      attachments: s.attachments.map((a) => ({ target: `cgroup ${a.cgroup}`, type: a.type, ...(a.pinned ? { pinned: a.pinned } : {}) })),
      maps: s.maps.map(({ name, entries, maxEntries }) => ({ name, entries, maxEntries })),
      details: { mark: s.mark, localOnly: s.localOnly, stats: s.stats, ...(dp.bypassMapPin ? { bypassMapPin: dp.bypassMapPin } : {}) },
    };
  }

  async close(options: CloseOptions): Promise<void> {
    const dp = this.#dataplane;
    this.#dataplane = undefined;
    dp?.close(options);
  }
}

export const cgroupMarkPlugin: PluginFactory<CgroupMarkConfig> = {
  id: 'cgroup-mark',
  description:
    "cgroup_skb egress observer on the mesh proxy's cgroup: records its marked connections (mesh_bypass) so the sk_lookup divert lets them reach the application",
  configSchema: cgroupMarkConfigSchema as z.ZodType<CgroupMarkConfig>,
  intents: {},
  requires: ['bpffs', 'cgroup2', 'cgroup_skb'],
  // the agent runs the plugin in a worker thread of its own, importing this factory from here
  worker: { module: import.meta.url, export: 'cgroupMarkPlugin' },
  create: (config, context) => new CgroupMarkPlugin(config, context),
};
