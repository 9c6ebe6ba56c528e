/** DI tokens of the agent kernel (`Symbol.for`, so separately bundled copies agree). */
export const Tokens = {
  /** contribution point: PluginFactory (one binding per plugin) */
  PluginFactory: Symbol.for('bpfsteer.PluginFactory'),
  /** contribution point: SourceFactory (one binding per source type) */
  SourceFactory: Symbol.for('bpfsteer.SourceFactory'),
  /** ContributionProvider<T>, bound once per contribution point with `named(<point token>)` */
  ContributionProvider: Symbol.for('bpfsteer.ContributionProvider'),
  /** SocketHandleRegistry (core-bpf's SocketHandles, bound by the application): fds crossing intents as handles */
  SocketHandles: Symbol.for('bpfsteer.SocketHandles'),
  /** FeatureProbe */
  FeatureProbe: Symbol.for('bpfsteer.FeatureProbe'),
  /** pino Logger (the agent's root logger) */
  Logger: Symbol.for('bpfsteer.Logger'),
  /** AgentConfig (validated, resolved to factories) */
  AgentConfig: Symbol.for('bpfsteer.AgentConfig'),
  /** PluginProvisions: resolves what a plugin needs of others (their `provides`) by token */
  PluginProvisions: Symbol.for('bpfsteer.PluginProvisions'),
  /** Agent */
  Agent: Symbol.for('bpfsteer.Agent'),
} as const;
