/**
 * The factories of the plugins and sources the `bpfsteer` CLI knows, without a container: what
 * `validate` checks a config against. Each is loaded only when a config selects it, as builtins.ts
 * loads their container modules for `run` (the same names, in the same order: each module
 * contributes exactly the factory named here, test/builtins.test.ts checks it). Nothing here loads
 * inversify or agent-kernel's main entry (a plugin's light entry still does, through its module).
 */
import type { AnyPluginFactory, AnySourceFactory, ConfigFactories } from '@bpfsteer/agent-kernel';

type Load<T> = () => Promise<T>;

/** Built-in plugin factories (each plugin's light entry) by plugin id. */
export const builtinPluginFactories: Readonly<Record<string, Load<AnyPluginFactory>>> = {
  'tc-nexthop': async () => (await import('@bpfsteer/plugin-tc-nexthop/entry')).tcNexthopEntry,
  'tc-tproxy': async () => (await import('@bpfsteer/plugin-tc-tproxy/entry')).tcTproxyEntry,
  sklookup: async () => (await import('@bpfsteer/plugin-sklookup/entry')).sklookupEntry,
  'cgroup-mark': async () => (await import('@bpfsteer/plugin-cgroup-mark/entry')).cgroupMarkEntry,
  'connect-redirect': async () => (await import('@bpfsteer/plugin-connect-redirect/entry')).connectRedirectEntry,
};

/** Built-in source factories by source type. */
export const builtinSourceFactories: Readonly<Record<string, Load<AnySourceFactory>>> = {
  static: async () => (await import('@bpfsteer/agent-kernel/config')).staticSource,
  ziti: async () => (await import('@bpfsteer/source-ziti')).zitiSource,
  istiod: async () => (await import('@bpfsteer/source-istiod')).istiodSource,
  tunnel: async () => (await import('@bpfsteer/tunnel')).tunnelSource,
};

/** The values of `field` in the entries of `document[list]` (whatever the document's shape). */
function selected(document: unknown, list: 'plugins' | 'sources', field: 'id' | 'type'): unknown[] {
  const entries = (document as Record<string, unknown> | null | undefined)?.[list];
  return Array.isArray(entries) ? entries.map((e) => (e !== null && typeof e === 'object' ? (e as Record<string, unknown>)[field] : undefined)) : [];
}

/** The loaders of `names` in `table`, or of the whole table when one name is not in it. */
function loadersOf<T>(table: Readonly<Record<string, Load<T>>>, names: unknown[]): Load<T>[] {
  const own = (name: unknown): name is string => typeof name === 'string' && Object.hasOwn(table, name);
  // an unknown (or missing) name is a config error that lists every known one: load them all
  if (!names.every(own)) return Object.values(table);
  return [...new Set(names)].map((name) => table[name]!);
}

/** What of `plugins` and `sources` a config document (YAML parsed, not validated) selects: all when it names one not in them. */
export function selectedLoaders<P, S>(
  document: unknown,
  plugins: Readonly<Record<string, Load<P>>>,
  sources: Readonly<Record<string, Load<S>>>,
): { plugins: Load<P>[]; sources: Load<S>[] } {
  return { plugins: loadersOf(plugins, selected(document, 'plugins', 'id')), sources: loadersOf(sources, selected(document, 'sources', 'type')) };
}

/** The factories of the built-in plugins and sources a config document selects (see selectedLoaders). */
export async function builtinFactoriesFor(document: unknown): Promise<ConfigFactories> {
  const load = selectedLoaders(document, builtinPluginFactories, builtinSourceFactories);
  const [plugins, sources] = await Promise.all([Promise.all(load.plugins.map((l) => l())), Promise.all(load.sources.map((l) => l()))]);
  return { plugins, sources };
}
