/**
 * The errors of the agent kernel, each with a stable `code` (same style as core-bpf's BpfError).
 */
import type { ConfigIssue } from './contracts.js';
import { formatConfigIssue } from './config-issue.js';

export type AgentErrorCode =
  | 'ERR_AGENT_CONFIG'
  | 'ERR_AGENT_TIMEOUT'
  | 'ERR_AGENT_SOCKET_IN_USE'
  | 'ERR_AGENT_UNAVAILABLE'
  | 'ERR_AGENT_STATE'
  | 'ERR_INTENT_REJECTED'
  | 'ERR_PLUGIN_THREAD'
  | 'ERR_FILE_READ'
  | 'ERR_TOKEN_FILE'
  | 'ERR_METRICS_LISTEN';

export class AgentError extends Error {
  readonly code: AgentErrorCode;
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An invalid config: every problem found, each with its path in the file. */
export class ConfigError extends AgentError {
  readonly issues: readonly ConfigIssue[];
  /** the file the config came from, when known */
  readonly file?: string;
  constructor(issues: readonly ConfigIssue[], file?: string, options?: { cause?: unknown }) {
    const head = `invalid config${file ? ` ${file}` : ''}`;
    const lines = issues.map((issue) => `  ${formatConfigIssue(issue)}`);
    super('ERR_AGENT_CONFIG', `${head}:\n${lines.join('\n')}`, options);
    this.issues = issues;
    this.file = file;
  }
}

/** A lifecycle step did not finish in time. */
export class TimeoutError extends AgentError {
  readonly step: string;
  readonly timeoutMs: number;
  constructor(step: string, timeoutMs: number) {
    super('ERR_AGENT_TIMEOUT', `${step} timed out after ${timeoutMs} ms`);
    this.step = step;
    this.timeoutMs = timeoutMs;
  }
}

/** The admin socket path is held by a live agent (or is not a socket at all). */
export class AdminSocketInUseError extends AgentError {
  readonly socketPath: string;
  constructor(socketPath: string, detail: string) {
    super('ERR_AGENT_SOCKET_IN_USE', `admin socket ${socketPath}: ${detail}`);
    this.socketPath = socketPath;
  }
}

/** A bearer token file that cannot be used (missing, not a regular file, readable by others, too short). */
export class TokenFileError extends AgentError {
  readonly file: string;
  constructor(file: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_TOKEN_FILE', `token file ${file}${detail}`, options);
    this.file = file;
  }
}

/** No agent answers on the admin socket. */
export class AgentUnavailableError extends AgentError {
  readonly socketPath: string;
  constructor(socketPath: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_AGENT_UNAVAILABLE', `no agent answers on ${socketPath}: ${detail}`, options);
    this.socketPath = socketPath;
  }
}

/** An operation not allowed in the current state of the agent or of a plugin (e.g. start twice, apply before open). */
export class AgentStateError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_AGENT_STATE', message, options);
  }
}

/**
 * Thrown by a plugin's `apply` when the desired state itself is invalid (an unknown interface, more
 * rules than its capacity, ...); the plugin must not have changed anything. `IntentSink.commit`
 * reports it as reason 'invalid'.
 */
export class IntentRejectedError extends AgentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INTENT_REJECTED', message, options);
  }
}

/**
 * An error of a plugin running in its own thread, or of the thread itself (it could not load the
 * plugin, or ended). `remote` keeps the original error's name, code and stack.
 */
export class PluginThreadError extends AgentError {
  readonly plugin: string;
  readonly remote: { readonly name: string; readonly code?: string; readonly stack?: string };
  constructor(plugin: string, remote: { name: string; message: string; code?: string; stack?: string }, context?: string) {
    super('ERR_PLUGIN_THREAD', context ? `plugin ${plugin}: ${context}: ${remote.message}` : remote.message);
    this.plugin = plugin;
    this.remote = { name: remote.name, ...(remote.code !== undefined && { code: remote.code }), ...(remote.stack !== undefined && { stack: remote.stack }) };
  }
}

/** Whether `err` is an IntentRejectedError (also one from another copy of this package). */
export function isIntentRejected(err: unknown): boolean {
  return err instanceof IntentRejectedError || (err as { code?: unknown } | null)?.code === 'ERR_INTENT_REJECTED';
}

/** The message of any thrown value. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
