/**
 * A plugin made of one dataplane. `definePlugin` takes the factory's declarations and, for each
 * plugin instance, its steps: how it opens its dataplane and what each lifecycle step does with it
 * (its planner and map writes live in the dataplane). The DataplanePlugin it creates holds the
 * dataplane between open and close and guards every step:
 *
 *   export const myPlugin = definePlugin({
 *     id: 'my-plugin', description, configSchema, intents, requires,
 *     worker: { module: import.meta.url, export: 'myPlugin' },
 *     steps: (config, context) => ({
 *       open: () => MyDataplane.open({ ...config, pinRoot: context.pinRoot }),
 *       load: (dp) => dp.load(),
 *       apply: (dp, desired) => dp.setRules(desired.get(MY_KIND) ?? []),
 *       status: (dp) => toPluginStatus(dp.status()),
 *     }),
 *   });
 *
 * `status` throws what the dataplane throws: the agent reports it as the plugin's statusError, never
 * as an empty status. The config reaches `steps` parsed by `configSchema` (defaults filled).
 */
import type { ApplyReport, CloseOptions, DataplanePlugin, DesiredChanges, DesiredState, MetricFamily, PluginContext, PluginFactory, PluginImplementation, PluginStatus } from './contracts.js';
import { AgentStateError } from './errors.js';

/** What a plugin needs of its dataplane object: a synchronous close with the agent's options. */
export interface ClosableDataplane {
  close(options: CloseOptions): void;
}

/** The steps of one plugin instance, each given the open dataplane. */
export interface PluginSteps<D extends ClosableDataplane> {
  /** creates the dataplane (checks the config; touches nothing in the kernel yet) */
  open(): D;
  load(dataplane: D): void;
  seed?(dataplane: D): void;
  attach?(dataplane: D): void;
  /** `changes`: see DataplanePlugin.apply */
  apply(dataplane: D, desired: DesiredState, changes?: DesiredChanges): ApplyReport;
  status(dataplane: D): PluginStatus;
  /** see DataplanePlugin.metrics; the plugin offers it only when given */
  metrics?(dataplane: D): readonly MetricFamily[];
  /** see DataplanePlugin.describe; the plugin offers it only when given */
  describe?(dataplane: D, kind: string): unknown;
  /** see DataplanePlugin.watch; the plugin offers it only when given */
  watch?(topic: string, listener: (event: unknown) => void): () => void;
  /** runs at close before the dataplane closes (e.g. ends event subscriptions) */
  beforeClose?(): void;
}

export interface PluginDefinition<Config, D extends ClosableDataplane> extends Omit<PluginFactory<Config>, 'create'> {
  /** the steps of a plugin instance, from its parsed config */
  readonly steps: (config: Config, context: PluginContext) => PluginSteps<D>;
}

/** A PluginFactory whose plugins run `definition.steps` on their dataplane (the config parsed by its configSchema first). */
export function definePlugin<Config, D extends ClosableDataplane>(definition: PluginDefinition<Config, D>): PluginFactory<Config> {
  const { steps, ...factory } = definition;
  const implementation = pluginImplementation(factory.id, steps);
  return {
    ...factory,
    create: (config, context) => implementation.create(factory.configSchema.parse(config), context),
  };
}

/**
 * The plugins of `steps` for a worker thread (PluginFactory.worker): created from a config the
 * agent parsed already with the factory's configSchema, so the thread loads no schema.
 */
export function pluginImplementation<Config, D extends ClosableDataplane>(
  id: string,
  steps: (config: Config, context: PluginContext) => PluginSteps<D>,
): PluginImplementation<Config> {
  return { id, create: (config, context) => dataplanePlugin(id, steps(config, context)) };
}

function dataplanePlugin<D extends ClosableDataplane>(id: string, steps: PluginSteps<D>): DataplanePlugin {
  let dataplane: D | undefined;
  let closed = false;
  const current = (op: string): D => {
    if (dataplane === undefined) throw new AgentStateError(`plugin ${id}: ${op}: ${closed ? 'the plugin is closed' : 'open() has not run'}`);
    return dataplane;
  };
  return {
    async open() {
      if (dataplane !== undefined || closed) throw new AgentStateError(`plugin ${id}: open: the plugin is ${closed ? 'closed' : 'open already'}`);
      dataplane = steps.open();
    },
    async load() {
      steps.load(current('load'));
    },
    async seed() {
      const dp = current('seed');
      steps.seed?.(dp);
    },
    async attach() {
      const dp = current('attach');
      steps.attach?.(dp);
    },
    async apply(desired, changes) {
      return steps.apply(current('apply'), desired, changes);
    },
    status() {
      return steps.status(current('status'));
    },
    ...(steps.metrics && { metrics: async () => steps.metrics!(current('metrics')) }),
    ...(steps.describe && { describe: async (kind: string) => steps.describe!(current('describe'), kind) }),
    ...(steps.watch && { watch: (topic: string, listener: (event: unknown) => void) => steps.watch!(topic, listener) }),
    async close(options) {
      const dp = dataplane;
      dataplane = undefined;
      closed = true;
      if (dp === undefined) return;
      try {
        steps.beforeClose?.();
      } finally {
        dp.close(options);
      }
    },
  };
}
