/**
 * Composes an agent in one call, from the container modules of its parts:
 * ```ts
 * const agent = createAgent({ modules: [tcNexthopModule, staticSourceModule()], config });
 * await agent.start();
 * ```
 * `config` is either a plain object shaped like the YAML file (validated here) or the result of
 * `loadAgentConfig(yamlText, { plugins, sources })`.
 */
import { Container, type ContainerModule } from 'inversify';
import type { Logger } from 'pino';
import type { SocketHandleRegistry } from '@bpfsteer/core-bpf';
import type { Agent } from './agent.js';
import {
  agentKernelModule,
  featureProbeModule,
  loggerModule,
  pluginModule,
  provisionsModule,
  socketHandlesModule,
  sourceModule,
} from './container-modules.js';
import type { ContributionProvider } from './contribution-provider.js';
import { createLogger } from './create-logger.js';
import { type FeatureProbe, unprobedFeatures } from './feature-probe.js';
import {
  type AgentConfig,
  type AgentConfigInput,
  type AnyPluginFactory,
  type AnySourceFactory,
  isAgentConfig,
  parseAgentConfig,
} from './parse-agent-config.js';
import { Tokens } from './tokens.js';

export interface CreateAgentOptions {
  /**
   * the parts of the agent, as container modules: each plugin and source package exports one
   * (e.g. `tcNexthopModule`, `staticSourceModule()`), and further services bound by token
   */
  readonly modules?: readonly ContainerModule[];
  /** plugin factories the config may select, besides those of `modules` (those of a loaded config are added automatically) */
  readonly plugins?: readonly AnyPluginFactory[];
  /** source factories the config may select, besides those of `modules` */
  readonly sources?: readonly AnySourceFactory[];
  readonly config: AgentConfig | AgentConfigInput;
  /** the file a plain-object config came from (enables source reloads) */
  readonly configPath?: string;
  /** kernel feature probe; without one, features are assumed present */
  readonly featureProbe?: FeatureProbe;
  /** root logger; by default JSON to stderr at the config's logLevel */
  readonly logger?: Logger;
  /** the socket-handle registry (core-bpf's SocketHandles); wins over a binding from `modules` */
  readonly socketHandles?: SocketHandleRegistry;
}

/**
 * Builds the container from the modules and returns the (not yet started) agent; throws ConfigError
 * on bad config (e.g. a plugin whose need no configured plugin provides).
 */
export function createAgent(options: CreateAgentOptions): Agent {
  const loaded = isAgentConfig(options.config) ? options.config : undefined;
  const container = new Container();
  container.load(agentKernelModule(), ...(options.modules ?? []));

  // factories given directly (or by a loaded config) that no module contributes
  const bound = (point: symbol): Set<unknown> => new Set(container.getAll(point, { optional: true }));
  const boundPlugins = bound(Tokens.PluginFactory);
  const boundSources = bound(Tokens.SourceFactory);
  const plugins = new Set([...(options.plugins ?? []), ...(loaded?.plugins.map((p) => p.factory) ?? [])]);
  const sources = new Set([...(options.sources ?? []), ...(loaded?.sources.map((s) => s.factory) ?? [])]);
  container.load(
    pluginModule(...[...plugins].filter((f) => !boundPlugins.has(f))),
    sourceModule(...[...sources].filter((f) => !boundSources.has(f))),
  );

  const config =
    loaded ??
    parseAgentConfig(options.config, {
      plugins: container
        .get<ContributionProvider<AnyPluginFactory>>(Tokens.ContributionProvider, { name: Tokens.PluginFactory })
        .getContributions(),
      sources: container
        .get<ContributionProvider<AnySourceFactory>>(Tokens.ContributionProvider, { name: Tokens.SourceFactory })
        .getContributions(),
      ...(options.configPath !== undefined && { path: options.configPath }),
    });
  container.bind(Tokens.AgentConfig).toConstantValue(config);
  // what the configured plugins provide to each other, resolved by token (PluginFactory.needs)
  container.load(provisionsModule(config));

  // kernel services injected by token; explicit options win over bindings from `modules`
  if (options.logger) {
    if (container.isBound(Tokens.Logger)) container.unbind(Tokens.Logger);
    container.load(loggerModule(options.logger));
  } else if (!container.isBound(Tokens.Logger)) {
    container.load(loggerModule(createLogger({ level: config.agent.logLevel })));
  }

  if (options.featureProbe) {
    if (container.isBound(Tokens.FeatureProbe)) container.unbind(Tokens.FeatureProbe);
    container.load(featureProbeModule(options.featureProbe));
  } else if (!container.isBound(Tokens.FeatureProbe)) {
    if (config.plugins.some((p) => p.factory.requires.length > 0)) {
      container.get<Logger>(Tokens.Logger).warn('no FeatureProbe bound: kernel features are assumed present');
    }
    container.load(featureProbeModule(unprobedFeatures));
  }

  if (options.socketHandles) {
    if (container.isBound(Tokens.SocketHandles)) container.unbind(Tokens.SocketHandles);
    container.load(socketHandlesModule(options.socketHandles));
  }
  return container.get<Agent>(Tokens.Agent);
}
