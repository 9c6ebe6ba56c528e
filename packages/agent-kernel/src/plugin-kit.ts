/**
 * The plugin kit (`@bpfsteer/agent-kernel/plugin-kit`): what a plugin's implementation needs of the
 * kernel, without its config parsing, container or schemas (no zod, no inversify): a plugin's
 * worker thread imports its implementation, and through it only this.
 */
export { type ClosableDataplane, type PluginDefinition, type PluginSteps, definePlugin, pluginImplementation } from './define-plugin.js';
export { AgentError, type AgentErrorCode, AgentStateError, IntentRejectedError, isIntentRejected, errorMessage } from './errors.js';
// the contract types a plugin's steps and dataplane use
export type { ApplyReport, AttachmentStatus, CloseOptions, DataplanePlugin, DesiredChanges, DesiredState } from './contracts.js';
export type { Intent, KindChanges, MapStatus, MetricFamily, MetricSample, PluginContext, PluginFactory, PluginImplementation, PluginStatus } from './contracts.js';
