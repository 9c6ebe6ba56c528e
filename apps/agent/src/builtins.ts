/**
 * The plugins and sources the `bpfsteer` CLI knows, each as the container module of its package,
 * loaded only when a config selects it: a ziti-only agent never imports source-istiod (gRPC, the
 * xDS protos) or the plugins it does not run.
 */
import {
  type ConfigFactories,
  type ContainerModule,
  contributedFactories,
  staticSourceModule,
} from '@bpfsteer/agent-kernel';

type LoadModule = () => Promise<ContainerModule>;

/** Built-in plugin modules by plugin id. */
export const builtinPluginModules: Readonly<Record<string, LoadModule>> = {
  'tc-nexthop': async () => (await import('@bpfsteer/plugin-tc-nexthop/entry')).tcNexthopModule,
  'tc-tproxy': async () => (await import('@bpfsteer/plugin-tc-tproxy/entry')).tcTproxyModule,
  sklookup: async () => (await import('@bpfsteer/plugin-sklookup/entry')).sklookupModule,
  'cgroup-mark': async () => (await import('@bpfsteer/plugin-cgroup-mark/entry')).cgroupMarkModule,
  'connect-redirect': async () => (await import('@bpfsteer/plugin-connect-redirect/entry')).connectRedirectModule,
};

/** Built-in source modules by source type. */
export const builtinSourceModules: Readonly<Record<string, LoadModule>> = {
  static: async () => staticSourceModule(),
  ziti: async () => (await import('@bpfsteer/source-ziti')).zitiSourceModule,
  istiod: async () => (await import('@bpfsteer/source-istiod')).istiodSourceModule,
  tunnel: async () => (await import('@bpfsteer/tunnel')).tunnelSourceModule,
};

/** The values of `field` in the entries of `document[list]` (whatever the document's shape). */
function selected(document: unknown, list: 'plugins' | 'sources', field: 'id' | 'type'): unknown[] {
  const entries = (document as Record<string, unknown> | null | undefined)?.[list];
  return Array.isArray(entries) ? entries.map((e) => (e !== null && typeof e === 'object' ? (e as Record<string, unknown>)[field] : undefined)) : [];
}

/** The loaders of `names` in `table`, or of the whole table when one name is not in it. */
function loadersOf(table: Readonly<Record<string, LoadModule>>, names: unknown[]): LoadModule[] {
  const own = (name: unknown): name is string => typeof name === 'string' && Object.hasOwn(table, name);
  // an unknown (or missing) name is a config error that lists every known one: load them all
  if (!names.every(own)) return Object.values(table);
  return [...new Set(names)].map((name) => table[name]!);
}

/**
 * The modules of the built-in plugins and sources a config document (YAML parsed, not validated)
 * selects; all of them when it names one that is not built in.
 */
export async function builtinModulesFor(document: unknown): Promise<ContainerModule[]> {
  const loaders = [
    ...loadersOf(builtinPluginModules, selected(document, 'plugins', 'id')),
    ...loadersOf(builtinSourceModules, selected(document, 'sources', 'type')),
  ];
  return Promise.all(loaders.map((load) => load()));
}

/** The modules of every built-in plugin and source. */
export async function allBuiltinModules(): Promise<ContainerModule[]> {
  return Promise.all([...Object.values(builtinPluginModules), ...Object.values(builtinSourceModules)].map((load) => load()));
}

/** The factories of the built-in parts a config document selects (see builtinModulesFor). */
export async function builtinFactoriesFor(document: unknown): Promise<ConfigFactories> {
  return contributedFactories(...(await builtinModulesFor(document)));
}
