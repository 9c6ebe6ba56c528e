/**
 * The light entry of plugin-connect-redirect (`@bpfsteer/plugin-connect-redirect/entry`): what the
 * agent's main thread needs to validate a config and compose the agent (id, config schema, intent
 * kind, kernel features; its container module is `/module`), without the dataplane, core-bpf or koffi: the plugin's
 * worker thread imports those from `connect-redirect-steps.js` (which loads no schema).
 */
import { type PluginEntryDeclaration, type PluginFactory, pluginEntry } from '@bpfsteer/agent-kernel/config';
import { CONNECT_REDIRECT_KIND, connectRedirectIntentSchema } from '@bpfsteer/contract-connect';
import type { z } from 'zod';
import { connectRedirectConfigSchema, type ConnectRedirectConfig } from './connect-redirect-config.js';

export const connectRedirectDeclaration: PluginEntryDeclaration<ConnectRedirectConfig> = {
  id: 'connect-redirect',
  description:
    'cgroup/connect4 and connect6: TCP connects of the configured cgroups matching the rules go to a local tunnel listener; ' +
    'their original destination is answered by getsockopt(SO_ORIGINAL_DST) in the proxy cgroups',
  configSchema: connectRedirectConfigSchema as unknown as z.ZodType<ConnectRedirectConfig>,
  intents: { [CONNECT_REDIRECT_KIND]: connectRedirectIntentSchema },
  requires: ['bpffs', 'cgroup2', 'cgroup_sock_addr', 'sockops', 'cgroup_sockopt', 'lpm_trie'],
  // the agent runs the plugin in a worker thread of its own, importing its implementation from here
  worker: { module: new URL('./connect-redirect-steps.js', import.meta.url).href, export: 'connectRedirectImplementation' },
};

/** The plugin's factory for the main thread: its plugin imports the implementation when it opens. */
export const connectRedirectEntry: PluginFactory<ConnectRedirectConfig> = pluginEntry(connectRedirectDeclaration);
