/**
 * What the agent tells about itself as it happens (started, a plugin or source failed, a source's
 * lasting problem set or cleared, stopping), for reporters outside the kernel such as the Kubernetes
 * node reporter of `bpfsteer run`. Listeners are called synchronously and must not throw; one that
 * does is logged and the others still run.
 */
import type { Logger } from 'pino';
import { errorMessage } from './errors.js';

/**
 * A lasting problem of a running source that does not stop it: its control plane unreachable, say
 * (`SourceContext.problem`). The source keeps serving its last good state meanwhile.
 */
export type AgentState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface SourceProblem {
  readonly source: string;
  /** a stable CamelCase name, e.g. 'IstiodUnreachable' */
  readonly problem: string;
  readonly message: string;
  /** ISO time it was first set (kept while the message changes) */
  readonly since: string;
}

export interface AgentHealth {
  /** running with every plugin and source running (a source problem does not clear it) */
  readonly ok: boolean;
  readonly state: AgentState;
  readonly failedPlugins: readonly string[];
  readonly failedSources: readonly string[];
  readonly problems: readonly SourceProblem[];
}

export type AgentEvent =
  /** the first apply round is done (some plugins may have failed: see health) */
  | { readonly type: 'started'; readonly health: AgentHealth }
  | { readonly type: 'plugin-failed'; readonly plugin: string; readonly error: string }
  | { readonly type: 'source-failed'; readonly source: string; readonly error: string }
  /** set (or its message changed) */
  | { readonly type: 'source-problem'; readonly problem: SourceProblem }
  | { readonly type: 'source-problem-cleared'; readonly source: string; readonly problem: string }
  | { readonly type: 'stopping'; readonly keepPinned: boolean };

export type AgentEventListener = (event: AgentEvent) => void;

export class AgentEvents {
  readonly #listeners = new Set<AgentEventListener>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Calls `listener` with every later event; returns the unsubscribe function. */
  subscribe(listener: AgentEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: AgentEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.#logger.error({ event: event.type, error: errorMessage(err) }, 'an agent event listener threw');
      }
    }
  }
}
