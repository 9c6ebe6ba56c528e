/** The plugin and source factories the `bpfsteer` CLI knows. */
import { type AnyPluginFactory, type AnySourceFactory, type ConfigFactories, staticSource } from '@bpfsteer/agent-kernel';
import { cgroupMarkPlugin } from '@bpfsteer/plugin-cgroup-mark';
import { sklookupPlugin } from '@bpfsteer/plugin-sklookup';
import { tcNexthopPlugin } from '@bpfsteer/plugin-tc-nexthop';
import { tcTproxyPlugin } from '@bpfsteer/plugin-tc-tproxy';
import { istiodSource } from '@bpfsteer/source-istiod';
import { zitiSource } from '@bpfsteer/source-ziti';

export const builtinPlugins: readonly AnyPluginFactory[] = [tcNexthopPlugin, tcTproxyPlugin, sklookupPlugin, cgroupMarkPlugin];

export const builtinSources: readonly AnySourceFactory[] = [staticSource, zitiSource, istiodSource];

export const builtins: ConfigFactories = { plugins: builtinPlugins, sources: builtinSources };
