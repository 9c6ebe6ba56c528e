/**
 * Each feature as an inversify ContainerModule: the agent is composed from modules. Each plugin and
 * source package exports one (e.g. `tcTproxyModule`, made with `pluginModule(tcTproxyPlugin)`); the
 * kernel's own module binds the contribution points and the services it injects by token (Logger,
 * FeatureProbe, PluginProvisions; the place for further kernel services such as the socket-handle
 * registry); `provisionsModule(config)` binds what the configured plugins provide to each other.
 */
import { Container, ContainerModule } from 'inversify';
import type { Logger } from 'pino';
import type { SocketHandleRegistry } from '@bpfsteer/core-bpf';
import { Agent } from './agent.js';
import { bindContributionProvider } from './contribution-provider.js';
import type { FeatureProbe } from './feature-probe.js';
import type { AgentConfig, AnyPluginFactory, AnySourceFactory, ConfigFactories } from './parse-agent-config.js';
import { ContainerPluginProvisions, provisionBindings } from './plugin-provisions.js';
import { staticSource } from './static-source.js';
import { Tokens } from './tokens.js';

/**
 * The kernel itself: the two contribution providers, PluginProvisions and the Agent (needs
 * AgentConfig, Logger, FeatureProbe, and the values of provisionsModule).
 */
export function agentKernelModule(): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bindContributionProvider(bind, Tokens.PluginFactory);
    bindContributionProvider(bind, Tokens.SourceFactory);
    bind(Tokens.PluginProvisions)
      .toDynamicValue((context) => new ContainerPluginProvisions(context))
      .inSingletonScope();
    bind(Tokens.Agent).to(Agent).inSingletonScope();
  });
}

/**
 * What the configured plugins of `config` provide to each other: under each needed token (e.g.
 * contract-mesh's MESH_BYPASS_MAP) the value of its one configured provider, computed on first use.
 */
export function provisionsModule(config: AgentConfig): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const { token, value } of provisionBindings(config)) bind(token).toDynamicValue(value).inSingletonScope();
  });
}

/** The plugin and source factories `modules` contribute (what a config may select), in binding order. */
export function contributedFactories(...modules: ContainerModule[]): ConfigFactories {
  const container = new Container();
  container.load(...modules);
  return {
    plugins: container.getAll<AnyPluginFactory>(Tokens.PluginFactory, { optional: true }),
    sources: container.getAll<AnySourceFactory>(Tokens.SourceFactory, { optional: true }),
  };
}

/** Contributes plugin factories (a plugin package exports `pluginModule(itsFactory)`). */
export function pluginModule(...factories: AnyPluginFactory[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const f of factories) bind(Tokens.PluginFactory).toConstantValue(f);
  });
}

/** Contributes source factories. */
export function sourceModule(...factories: AnySourceFactory[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const f of factories) bind(Tokens.SourceFactory).toConstantValue(f);
  });
}

/** Contributes the built-in static source. */
export function staticSourceModule(): ContainerModule {
  return sourceModule(staticSource);
}

/** Binds the FeatureProbe (bpfsteer binds core-bpf's probeFeature through it). */
export function featureProbeModule(probe: FeatureProbe): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(Tokens.FeatureProbe).toConstantValue(probe);
  });
}

/** Binds the socket-handle registry (bpfsteer binds core-bpf's SocketHandles through it). */
export function socketHandlesModule(registry: SocketHandleRegistry): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(Tokens.SocketHandles).toConstantValue(registry);
  });
}

/** Binds the root logger. */
export function loggerModule(logger: Logger): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(Tokens.Logger).toConstantValue(logger);
  });
}
