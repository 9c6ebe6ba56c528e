/**
 * A plugin's light entry: its factory's declarations (id, config schema, intent kinds, required
 * features, provides / needs) and where its implementation lives (`worker`), without importing it.
 * The agent's main thread loads only this: the plugin's worker thread imports `worker.module`
 * (its dataplane, core-bpf, koffi); with `isolation: inline` the plugin's `open` imports it.
 *
 *   export const myPluginEntry = pluginEntry({
 *     ...myDeclaration,
 *     worker: { module: new URL('./my-plugin.js', import.meta.url).href, export: 'myPlugin' },
 *   });
 */
import type {
  ApplyReport,
  CloseOptions,
  DataplanePlugin,
  DesiredChanges,
  DesiredState,
  PluginContext,
  PluginFactory,
  PluginImplementation,
  PluginStatus,
} from './contracts.js';
import { AgentStateError } from './errors.js';

/** A factory's declarations and the module of its implementation (a PluginFactory exported there). */
export type PluginEntryDeclaration<Config> = Omit<PluginFactory<Config>, 'create' | 'worker'> & {
  readonly worker: { readonly module: string; readonly export: string };
};

/** Imports the implementation a light entry names. */
export async function loadPluginImplementation<Config>(entry: PluginEntryDeclaration<Config>): Promise<PluginImplementation<Config>> {
  const mod = (await import(entry.worker.module)) as Record<string, unknown>;
  const factory = mod[entry.worker.export] as PluginImplementation<Config> | undefined;
  if (typeof factory?.create !== 'function') {
    throw new AgentStateError(`plugin ${entry.id}: ${entry.worker.module} has no plugin factory export "${entry.worker.export}"`);
  }
  if (factory.id !== entry.id) {
    throw new AgentStateError(`plugin ${entry.id}: ${entry.worker.module} exports "${entry.worker.export}" as the factory of plugin "${factory.id}"`);
  }
  return factory;
}

/** The factory of a light entry: it creates plugins that import their implementation at `open`. */
export function pluginEntry<Config>(declaration: PluginEntryDeclaration<Config>): PluginFactory<Config> {
  return { ...declaration, create: (config, context) => new DeferredPlugin(declaration, config, context) };
}

/** A plugin whose implementation is imported and created at `open`; then every call goes to it. */
class DeferredPlugin<Config> implements DataplanePlugin {
  #plugin?: DataplanePlugin;
  #opening?: Promise<DataplanePlugin>;

  constructor(
    private readonly entry: PluginEntryDeclaration<Config>,
    private readonly config: Config,
    private readonly context: PluginContext,
  ) {}

  #current(op: string): DataplanePlugin {
    if (this.#plugin === undefined) throw new AgentStateError(`plugin ${this.entry.id}: ${op}: open() has not run`);
    return this.#plugin;
  }

  async open(): Promise<void> {
    if (this.#opening !== undefined) throw new AgentStateError(`plugin ${this.entry.id}: open: the plugin is open already`);
    // (an implementation takes its config parsed: this one may come from a program, not from the agent)
    const config = this.entry.configSchema.parse(this.config);
    this.#opening = loadPluginImplementation(this.entry).then((factory) => factory.create(config, this.context));
    this.#plugin = await this.#opening;
    await this.#plugin.open();
  }
  async load(): Promise<void> {
    await this.#current('load').load();
  }
  async seed(): Promise<void> {
    await this.#current('seed').seed();
  }
  async attach(): Promise<void> {
    await this.#current('attach').attach();
  }
  async apply(desired: DesiredState, changes?: DesiredChanges): Promise<ApplyReport> {
    return this.#current('apply').apply(desired, changes);
  }
  async status(): Promise<PluginStatus> {
    return this.#current('status').status();
  }
  async describe(kind: string): Promise<unknown> {
    return this.#current('describe').describe?.(kind);
  }
  watch(topic: string, listener: (event: unknown) => void): () => void {
    return this.#current('watch').watch?.(topic, listener) ?? (() => undefined);
  }
  async close(options: CloseOptions): Promise<void> {
    // never opened (or its import failed): nothing to release
    await this.#plugin?.close(options);
  }
}
