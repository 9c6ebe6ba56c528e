/**
 * The light entry of plugin-cgroup-mark (`@bpfsteer/plugin-cgroup-mark/entry`): what the agent's
 * main thread needs to validate a config and compose the agent (id, config schema, kernel
 * features, what it provides; its container module is `/module`), without the dataplane, core-bpf or koffi: the
 * plugin's worker thread imports those from `cgroup-mark-steps.js` (which loads no schema).
 */
import { join } from 'node:path';
import { type PluginEntryDeclaration, type PluginFactory, pluginEntry } from '@bpfsteer/agent-kernel/config';
import { MESH_BYPASS_MAP, type MeshBypassMap } from '@bpfsteer/contract-mesh/kinds';
import type { z } from 'zod';
import { cgroupMarkConfigSchema, type CgroupMarkConfig } from './cgroup-mark-config.js';

export const cgroupMarkDeclaration: PluginEntryDeclaration<CgroupMarkConfig> = {
  id: 'cgroup-mark',
  description:
    "cgroup_skb egress observer on the mesh proxy's cgroup: records its marked connections (mesh_bypass) so the sk_lookup divert lets them reach the application",
  configSchema: cgroupMarkConfigSchema as unknown as z.ZodType<CgroupMarkConfig>,
  intents: {},
  requires: ['bpffs', 'cgroup2', 'cgroup_skb'],
  // the agent runs the plugin in a worker thread of its own, importing its implementation from here
  worker: { module: new URL('./cgroup-mark-steps.js', import.meta.url).href, export: 'cgroupMarkImplementation' },
  // plugin-sklookup reads the map this plugin's program fills: the agent hands it its pin and size
  provides: {
    [MESH_BYPASS_MAP]: (config, pinRoot): MeshBypassMap => ({
      pinPath: config.bypassMapPin ?? join(pinRoot, 'maps', 'mesh_bypass'),
      entries: config.bypassEntries,
    }),
  },
};

/** The plugin's factory for the main thread: its plugin imports the implementation when it opens. */
export const cgroupMarkEntry: PluginFactory<CgroupMarkConfig> = pluginEntry(cgroupMarkDeclaration);
