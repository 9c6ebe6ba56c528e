// The library part of @bpfsteer/agent: compose an agent in code with the built-in factories.
export { createAgent, loadAgentConfig, readAgentConfigFile, staticSource } from '@bpfsteer/agent-kernel';
export { allBuiltinModules, builtinFactoriesFor, builtinModulesFor, builtinPluginFactories, builtinSourceFactories } from './builtins.js';
export { main, type MainOptions } from './cli.js';
export { ExitCode } from './cli-context.js';
export { formatStatus } from './format-status.js';
export { coreBpfFeatureProbe } from './load-feature-probe.js';
