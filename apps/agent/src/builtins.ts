/** The plugin and source factories the `bpfsteer` CLI knows. */
import { type AnyPluginFactory, type AnySourceFactory, type ConfigFactories, staticSource } from '@bpfsteer/agent-kernel';
import { tcNexthopPlugin } from '@bpfsteer/plugin-tc-nexthop';

export const builtinPlugins: readonly AnyPluginFactory[] = [tcNexthopPlugin];

export const builtinSources: readonly AnySourceFactory[] = [staticSource];

export const builtins: ConfigFactories = { plugins: builtinPlugins, sources: builtinSources };
