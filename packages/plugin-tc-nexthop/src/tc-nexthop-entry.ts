/**
 * The light entry of plugin-tc-nexthop (`@bpfsteer/plugin-tc-nexthop/entry`): what the agent's main
 * thread needs to validate a config and compose the agent (id, config schema, intent kind, kernel
 * features, container module), without the dataplane, core-bpf or koffi: the plugin's worker thread
 * imports those from `tc-nexthop-plugin.js`.
 */
import { type ContainerModule, type PluginEntryDeclaration, type PluginFactory, pluginEntry, pluginModule } from '@bpfsteer/agent-kernel';
import { interfaceNameProblem, NEXTHOP_REDIRECT_KIND, nexthopRedirectIntentSchema } from '@bpfsteer/contract-nexthop';
import { z } from 'zod';
import { DEFAULT_MAX_RULES, MAX_MAX_RULES } from './nexthop-limits.js';

// the contract's interface-name rule, with the message the dataplane's checkInterfaceName throws
const ifnameSchema = z.string().superRefine((value, ctx) => {
  const problem = interfaceNameProblem(value, 'interface name');
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

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

export const tcNexthopDeclaration: PluginEntryDeclaration<TcNexthopConfig> = {
  id: 'tc-nexthop',
  description: 'tc egress redirect by source prefix to an interface and next hop (bpf_redirect_neigh): fixes asymmetric routing',
  configSchema: tcNexthopConfigSchema as z.ZodType<TcNexthopConfig>,
  intents: { [NEXTHOP_REDIRECT_KIND]: nexthopRedirectIntentSchema },
  requires: ['bpffs', 'tc', 'redirect_neigh'],
  // the agent runs the plugin in a worker thread of its own, importing its implementation from here
  worker: { module: new URL('./tc-nexthop-plugin.js', import.meta.url).href, export: 'tcNexthopPlugin' },
};

/** The plugin's factory for the main thread: its plugin imports the implementation when it opens. */
export const tcNexthopEntry: PluginFactory<TcNexthopConfig> = pluginEntry(tcNexthopDeclaration);

/** This plugin as a container module: `createAgent({ modules: [tcNexthopModule, ...], config })`. */
export const tcNexthopModule: ContainerModule = pluginModule(tcNexthopEntry);
