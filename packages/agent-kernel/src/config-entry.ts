/**
 * `@bpfsteer/agent-kernel/config`: reading and validating an agent config, without the rest of the
 * kernel (no inversify, pino, worker threads or admin server): what `bpfsteer validate` loads. It
 * loads zod (the schemas); yaml is loaded when a config is first parsed. Its modules are the main
 * entry's own (shared chunks), so a ConfigError thrown here is `instanceof` the main entry's, and
 * the factories validated here are the ones the agent runs.
 */
export type { ConfigIssue, PluginFactory, SourceFactory } from './contracts.js';
export { type AgentSettings, type LogLevel, agentSettingsSchema, logLevels } from './agent-settings.js';
export {
  type AgentConfig,
  type AgentConfigInput,
  type AnyPluginFactory,
  type AnySourceFactory,
  type ConfigFactories,
  type ConfiguredPlugin,
  type ConfiguredSource,
  isAgentConfig,
  parseAgentConfig,
} from './parse-agent-config.js';
export {
  type ConfigFactoriesFor,
  type LoadAgentConfigOptions,
  loadAgentConfig,
  parseConfigYaml,
  readAgentConfigFile,
} from './load-agent-config.js';
export { type ConfigPath, formatConfigIssue, formatConfigPath } from './config-issue.js';
export { AgentError, type AgentErrorCode, ConfigError, errorMessage } from './errors.js';
export { type PluginEntryDeclaration, pluginEntry } from './plugin-entry.js';
export { type StaticSourceConfig, staticSource } from './static-source.js';
