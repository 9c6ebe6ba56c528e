/**
 * The plugins and sources the `bpfsteer` CLI knows as container modules, for `run` and the demo:
 * each the module of its factory (builtin-factories.ts, which loads each only when a config selects
 * it: a ziti-only agent never imports source-istiod, gRPC and the xDS protos, or the plugins it does
 * not run). A package's own `…Module` export is the same module of the same factory.
 */
import { type ContainerModule, pluginModule, sourceModule } from '@bpfsteer/agent-kernel';
import { builtinPluginFactories, builtinSourceFactories, selectedLoaders } from './builtin-factories.js';

// the factories of the same parts without a container (what `validate` needs)
export { builtinFactoriesFor, builtinPluginFactories, builtinSourceFactories } from './builtin-factories.js';

/**
 * The modules of the built-in plugins and sources a config document (YAML parsed, not validated)
 * selects; all of them when it names one that is not built in.
 */
export async function builtinModulesFor(document: unknown): Promise<ContainerModule[]> {
  const load = selectedLoaders(document, builtinPluginFactories, builtinSourceFactories);
  const [plugins, sources] = await Promise.all([Promise.all(load.plugins.map((l) => l())), Promise.all(load.sources.map((l) => l()))]);
  return [...plugins.map((f) => pluginModule(f)), ...sources.map((f) => sourceModule(f))];
}

/** The modules of every built-in plugin and source. */
export async function allBuiltinModules(): Promise<ContainerModule[]> {
  return [
    ...(await Promise.all(Object.values(builtinPluginFactories).map(async (load) => pluginModule(await load())))),
    ...(await Promise.all(Object.values(builtinSourceFactories).map(async (load) => sourceModule(await load())))),
  ];
}
