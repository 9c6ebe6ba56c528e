/** Each feature as an inversify ContainerModule, for applications that compose their own container. */
import { ContainerModule } from 'inversify';
import type { Logger } from 'pino';
import { Agent } from './agent.js';
import { bindContributionProvider } from './contribution-provider.js';
import type { FeatureProbe } from './feature-probe.js';
import type { AnyPluginFactory, AnySourceFactory } from './parse-agent-config.js';
import { staticSource } from './static-source.js';
import { Tokens } from './tokens.js';

/** The kernel itself: the two contribution providers and the Agent (needs AgentConfig, Logger, FeatureProbe). */
export function agentKernelModule(): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bindContributionProvider(bind, Tokens.PluginFactory);
    bindContributionProvider(bind, Tokens.SourceFactory);
    bind(Tokens.Agent).to(Agent).inSingletonScope();
  });
}

/** Contributes plugin factories. */
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

/** Binds the root logger. */
export function loggerModule(logger: Logger): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(Tokens.Logger).toConstantValue(logger);
  });
}
