/**
 * Composes an agent in one call:
 * ```ts
 * const agent = createAgent({ plugins: [tcNexthopPlugin], sources: [staticSource], config });
 * await agent.start();
 * ```
 * `config` is either a plain object shaped like the YAML file (validated here) or the result of
 * `loadAgentConfig(yamlText, { plugins, sources })`.
 */
import { Container, type ContainerModule } from 'inversify';
import type { Logger } from 'pino';
import type { Agent } from './agent.js';
import {
  agentKernelModule,
  featureProbeModule,
  loggerModule,
  pluginModule,
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
  /** plugin factories the config may select (those of a loaded config are added automatically) */
  readonly plugins?: readonly AnyPluginFactory[];
  /** source factories the config may select */
  readonly sources?: readonly AnySourceFactory[];
  readonly config: AgentConfig | AgentConfigInput;
  /** the file a plain-object config came from (enables source reloads) */
  readonly configPath?: string;
  /** kernel feature probe; without one, features are assumed present */
  readonly featureProbe?: FeatureProbe;
  /** root logger; by default JSON to stderr at the config's logLevel */
  readonly logger?: Logger;
  /** more container modules (e.g. contributions of other packages) */
  readonly modules?: readonly ContainerModule[];
}

/** Builds the container and returns the (not yet started) agent; throws ConfigError on bad config. */
export function createAgent(options: CreateAgentOptions): Agent {
  const loaded = isAgentConfig(options.config) ? options.config : undefined;
  const plugins = new Set<AnyPluginFactory>([...(options.plugins ?? []), ...(loaded?.plugins.map((p) => p.factory) ?? [])]);
  const sources = new Set<AnySourceFactory>([...(options.sources ?? []), ...(loaded?.sources.map((s) => s.factory) ?? [])]);

  const container = new Container();
  container.load(agentKernelModule(), pluginModule(...plugins), sourceModule(...sources), ...(options.modules ?? []));

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

  // explicit options win over bindings from `modules`
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
  return container.get<Agent>(Tokens.Agent);
}
