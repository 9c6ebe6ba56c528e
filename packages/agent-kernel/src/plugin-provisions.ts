/**
 * What the configured plugins provide to each other, resolved through the agent's container: each
 * need of a plugin (`PluginFactory.needs`) by its token, whose value `provisionsModule(config)`
 * binds from the configured provider (`PluginFactory.provides`).
 */
import type { ResolutionContext } from 'inversify';
import type { ProvisionToken } from './contracts.js';
import { AgentStateError, errorMessage } from './errors.js';
import type { AgentConfig, ConfiguredPlugin } from './parse-agent-config.js';
import { pluginPinRoot } from './plugin-pin-root.js';
import { tokenName, tokensOf } from './provision-token.js';

export interface PluginProvisions {
  /** the values of `plugin`'s needs whose provider is configured, by token */
  valuesFor(plugin: ConfiguredPlugin): Map<ProvisionToken, unknown>;
}

/** PluginProvisions over a container's bindings (bound by agentKernelModule). */
export class ContainerPluginProvisions implements PluginProvisions {
  constructor(private readonly context: ResolutionContext) {}

  valuesFor(plugin: ConfiguredPlugin): Map<ProvisionToken, unknown> {
    const values = new Map<ProvisionToken, unknown>();
    for (const [token, provider] of plugin.providers) {
      let value: unknown;
      try {
        value = this.context.get(token);
      } catch (err) {
        throw new AgentStateError(
          `plugin "${plugin.id}" needs "${tokenName(token)}" of plugin "${provider}", but the agent's container cannot give it ` +
            `(is provisionsModule(config) loaded?): ${errorMessage(err)}`,
        );
      }
      values.set(token, value);
    }
    return values;
  }
}

/**
 * The provider side, for a validated config: under each token some configured plugin needs, the
 * value its configured provider gives (computed once, on first use, from the provider's config and
 * pin directory).
 */
export function provisionBindings(
  config: AgentConfig,
): { token: ProvisionToken; provider: ConfiguredPlugin; value: () => unknown }[] {
  const needed = new Set(config.plugins.flatMap((p) => [...p.providers.keys()]));
  return config.plugins.flatMap((provider) =>
    tokensOf(provider.factory.provides)
      .filter((token) => needed.has(token))
      .map((token) => ({
        token,
        provider,
        value: () => provider.factory.provides![token]!(provider.config, pluginPinRoot(config.agent.pinRoot, provider.id)),
      })),
  );
}
