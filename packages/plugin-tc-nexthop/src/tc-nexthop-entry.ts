/**
 * The light entry of plugin-tc-nexthop (`@bpfsteer/plugin-tc-nexthop/entry`): what the agent's main
 * thread needs to validate a config and compose the agent (id, config schema, intent kind, kernel
 * features; its container module is `/module`), without the dataplane, core-bpf or koffi: the plugin's worker thread
 * imports those from `tc-nexthop-steps.js` (which loads no schema).
 */
import { type PluginEntryDeclaration, type PluginFactory, pluginEntry } from '@bpfsteer/agent-kernel/config';
import { NEXTHOP_REDIRECT_KIND, nexthopRedirectIntentSchema } from '@bpfsteer/contract-nexthop';
import type { z } from 'zod';
import { tcNexthopConfigSchema, type TcNexthopConfig } from './tc-nexthop-config.js';

export { tcNexthopConfigSchema, type TcNexthopConfig } from './tc-nexthop-config.js';

export const tcNexthopDeclaration: PluginEntryDeclaration<TcNexthopConfig> = {
  id: 'tc-nexthop',
  description: 'tc egress redirect by source prefix to an interface and next hop (bpf_redirect_neigh): fixes asymmetric routing',
  configSchema: tcNexthopConfigSchema as unknown as z.ZodType<TcNexthopConfig>,
  intents: { [NEXTHOP_REDIRECT_KIND]: nexthopRedirectIntentSchema },
  requires: ['bpffs', 'tc', 'redirect_neigh'],
  // the agent runs the plugin in a worker thread of its own, importing its implementation from here
  worker: { module: new URL('./tc-nexthop-steps.js', import.meta.url).href, export: 'tcNexthopImplementation' },
};

/** The plugin's factory for the main thread: its plugin imports the implementation when it opens. */
export const tcNexthopEntry: PluginFactory<TcNexthopConfig> = pluginEntry(tcNexthopDeclaration);
