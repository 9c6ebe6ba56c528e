export type {
  ApplyReport,
  AttachmentStatus,
  CloseOptions,
  CommitResult,
  ConfigIssue,
  DataplanePlugin,
  DesiredChanges,
  DesiredState,
  KindChanges,
  Intent,
  IntentSink,
  IntentChange,
  IntentSource,
  KernelFeature,
  MapStatus,
  MetricFamily,
  MetricSample,
  PathClaim,
  PluginContext,
  PluginFactory,
  PluginImplementation,
  PluginNeed,
  ProvisionToken,
  PluginStatus,
  SourceContext,
  ConsumerState,
  SourceFactory,
  SourceMetrics,
} from './contracts.js';
export { MetricsRegistry } from './metrics-registry.js';
export { bearerMatches, MIN_TOKEN_LENGTH, readTokenFile } from './bearer-token.js';
export { type CommitOutcome, type Exposition } from './agent-metrics.js';
export type { Logger } from 'pino';
export type { ContainerModule } from 'inversify';

// reading and validating a config: the light entry `/config` (config-entry.ts), here as well
export * from './config-entry.js';
export { type CheckedIntents, checkIntents } from './check-intents.js';
export { issuesFromZod } from './config-issue.js';
export {
  AdminSocketInUseError,
  AgentStateError,
  AgentUnavailableError,
  IntentRejectedError,
  isIntentRejected,
  TimeoutError,
  TokenFileError,
} from './errors.js';

export {
  Agent,
  type AgentStatusReport,
  type ReloadReport,
  type StartOptions,
  type StartResult,
  type StopOptions,
} from './agent.js';
export {
  type AgentEvent,
  type AgentEventListener,
  AgentEvents,
  type AgentHealth,
  type AgentState,
  type SourceProblem,
} from './agent-events.js';
export type { ApplyOutcome, PluginReport, PluginState } from './plugin-runner.js';
export type { SourceReport, SourceState } from './source-runner.js';
export { type CreateAgentOptions, createAgent } from './create-agent.js';
export { type ClosableDataplane, type PluginDefinition, type PluginSteps, definePlugin, pluginImplementation } from './define-plugin.js';
export { type FeatureProbe, unprobedFeatures } from './feature-probe.js';
export { type ContributionProvider, bindContributionProvider } from './contribution-provider.js';
export {
  agentKernelModule,
  featureProbeModule,
  loggerModule,
  contributedFactories,
  pluginModule,
  provisionsModule,
  socketHandlesModule,
  sourceModule,
  staticSourceModule,
} from './container-modules.js';
export type { PluginProvisions } from './plugin-provisions.js';
export { Tokens } from './tokens.js';
export { type CreateLoggerOptions, type LogFormat, createLogger, formatLogLine } from './create-logger.js';
export { type AdminRequestOptions, type AdminResponse, adminRequest } from './admin-request.js';
export { type ListenUnixSocketOptions, type UnixSocketPath, listenUnixSocket, socketIsLive } from './listen-unix-socket.js';
export { CLOSE_GRACE_MS, afterLoopTurns, closeGracefully } from './graceful-close.js';
export { FileReadError, readRegularFile, readRegularFilePieces, type FileReadProblem } from './read-regular-file.js';
export { DEFAULT_SLICE_MS, runSteps, runStepsInSlices, type Steps, TimeSlicer } from './time-slicer.js';
export { IDLE_MAX_UTILIZATION, IDLE_WINDOW_MS, IdleWork } from './idle-work.js';
