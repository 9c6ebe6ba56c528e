/**
 * The light entry of plugin-tc-tproxy (`@bpfsteer/plugin-tc-tproxy/entry`): what the agent's main
 * thread needs to validate a config and compose the agent (id, config schema, intent kinds, kernel
 * features; its container module is `/module`), without the dataplane, core-bpf or koffi: the plugin's worker thread
 * imports those from `tc-tproxy-steps.js` (which loads no schema).
 */
import { type PluginEntryDeclaration, type PluginFactory, pluginEntry } from '@bpfsteer/agent-kernel/config';
import { TPROXY_INTERFACE_KIND, TPROXY_RULE_KIND, tproxyInterfaceIntentSchema, tproxyRuleIntentSchema } from '@bpfsteer/contract-tproxy';
import type { z } from 'zod';
import { tcTproxyConfigSchema, type TcTproxyConfig } from './tproxy-config.js';

export const tcTproxyDeclaration: PluginEntryDeclaration<TcTproxyConfig> = {
  id: 'tc-tproxy',
  description:
    'tc ingress stateful firewall for OpenZiti routers: diverts (prefix, source, protocol, ports) flows to local tproxy listeners (bpf_sk_assign), IPv4 and IPv6',
  configSchema: tcTproxyConfigSchema as unknown as z.ZodType<TcTproxyConfig>,
  intents: { [TPROXY_RULE_KIND]: tproxyRuleIntentSchema, [TPROXY_INTERFACE_KIND]: tproxyInterfaceIntentSchema },
  requires: ['bpffs', 'tc', 'lpm_trie', 'ringbuf'],
  // the agent runs the plugin in a worker thread of its own, importing its implementation from here
  worker: { module: new URL('./tc-tproxy-steps.js', import.meta.url).href, export: 'tcTproxyImplementation' },
};

/** The plugin's factory for the main thread: its plugin imports the implementation when it opens. */
export const tcTproxyEntry: PluginFactory<TcTproxyConfig> = pluginEntry(tcTproxyDeclaration);
