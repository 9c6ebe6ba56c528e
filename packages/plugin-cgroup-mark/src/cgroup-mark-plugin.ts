/**
 * The cgroup-mark agent plugin: keeps the cgroup_skb egress observer on the mesh proxy's cgroup,
 * so the proxy's own (marked) connections to local applications are recorded in mesh_bypass and
 * the sk_lookup divert of plugin-sklookup lets them through. It consumes no intents: its whole
 * input is the config.
 */
import { definePlugin, type PluginFactory, type ContainerModule, pluginModule } from '@bpfsteer/agent-kernel';
import { MESH_BYPASS_MAP, type MeshBypassMap } from '@bpfsteer/contract-mesh';
import { join } from 'node:path';
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
  /** capacity of the mesh_bypass LRU map (plugin-sklookup takes the same through MESH_BYPASS_MAP) */
  bypassEntries: z.number().int().min(1).max(MAX_BYPASS_ENTRIES).default(DEFAULT_BYPASS_ENTRIES),
  /** where mesh_bypass is pinned; default <pinRoot>/maps/mesh_bypass (plugin-sklookup gets it, and bypassEntries, through MESH_BYPASS_MAP) */
  bypassMapPin: z.string().startsWith('/', 'bypassMapPin must be an absolute path on bpffs').optional(),
});

export type CgroupMarkConfig = z.output<typeof cgroupMarkConfigSchema>;

export const cgroupMarkPlugin: PluginFactory<CgroupMarkConfig> = definePlugin<CgroupMarkConfig, CgroupMarkDataplane>({
  id: 'cgroup-mark',
  description:
    "cgroup_skb egress observer on the mesh proxy's cgroup: records its marked connections (mesh_bypass) so the sk_lookup divert lets them reach the application",
  configSchema: cgroupMarkConfigSchema as z.ZodType<CgroupMarkConfig>,
  intents: {},
  requires: ['bpffs', 'cgroup2', 'cgroup_skb'],
  // the agent runs the plugin in a worker thread of its own, importing this factory from here
  worker: { module: import.meta.url, export: 'cgroupMarkPlugin' },
  // plugin-sklookup reads the map this plugin's program fills: the agent hands it its pin and size
  provides: {
    [MESH_BYPASS_MAP]: (config, pinRoot): MeshBypassMap => ({
      pinPath: config.bypassMapPin ?? join(pinRoot, 'maps', 'mesh_bypass'),
      entries: config.bypassEntries,
    }),
  },
  steps: (config, context) => ({
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
    status: (dp) => {
      const s = dp.status();
      return {
        attachments: s.attachments.map((a) => ({ target: `cgroup ${a.cgroup}`, type: a.type, ...(a.pinned ? { pinned: a.pinned } : {}) })),
        maps: s.maps.map(({ name, entries, maxEntries }) => ({ name, entries, maxEntries })),
        details: { mark: s.mark, localOnly: s.localOnly, stats: s.stats, ...(dp.bypassMapPin ? { bypassMapPin: dp.bypassMapPin } : {}) },
      };
    },
  }),
});

/** This plugin as a container module: `createAgent({ modules: [cgroupMarkModule, ...], config })`. */
export const cgroupMarkModule: ContainerModule = pluginModule(cgroupMarkPlugin);
