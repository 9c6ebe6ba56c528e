/**
 * The light entry of plugin-sklookup (`@bpfsteer/plugin-sklookup/entry`): what the agent's main
 * thread needs to validate a config and compose the agent (id, config schema, intent kinds, kernel
 * features, what it needs; its container module is `/module`), without the dataplane, core-bpf or koffi: the
 * plugin's worker thread imports those from `sklookup-steps.js` (which loads no schema).
 */
import { type PluginEntryDeclaration, type PluginFactory, pluginEntry } from '@bpfsteer/agent-kernel/config';
import { MESH_BYPASS_MAP, MESH_MEMBER_KIND, SKLOOKUP_POD_KIND, meshMemberIntentSchema, sklookupPodIntentSchema } from '@bpfsteer/contract-mesh';
import type { z } from 'zod';
import { sklookupConfigSchema, type SklookupConfig } from './sklookup-config.js';

export const sklookupDeclaration: PluginEntryDeclaration<SklookupConfig> = {
  id: 'sklookup',
  description:
    "sk_lookup divert in each meshed pod netns: mesh-to-mesh TCP connections go to the proxy's HBONE listener (Istio ambient transparent network policies)",
  configSchema: sklookupConfigSchema as unknown as z.ZodType<SklookupConfig>,
  intents: { [MESH_MEMBER_KIND]: meshMemberIntentSchema, [SKLOOKUP_POD_KIND]: sklookupPodIntentSchema },
  requires: ['bpffs', 'sk_lookup', 'sockhash'],
  // the agent runs the plugin in a worker thread of its own, importing its implementation from here
  worker: { module: new URL('./sklookup-steps.js', import.meta.url).href, export: 'sklookupImplementation' },
  needs: {
    [MESH_BYPASS_MAP]: {
      description: "the mesh_bypass map of plugin-cgroup-mark, where the proxy's own connections are recorded",
      optional: true,
    },
  },
};

/** The plugin's factory for the main thread: its plugin imports the implementation when it opens. */
export const sklookupEntry: PluginFactory<SklookupConfig> = pluginEntry(sklookupDeclaration);
