/** Drives one intent source: start (under a time-out), reload, stop. Never throws to the caller. */
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { ConsumerState, IntentSink, IntentSource, SourceContext, SourceMetrics } from './contracts.js';
import type { SourceProblem } from './agent-events.js';
import type { AgentSettings } from './agent-settings.js';
import { TimeoutError, errorMessage } from './errors.js';
import type { ConfiguredSource } from './parse-agent-config.js';
import { withTimeout } from './with-timeout.js';

export const sourceStates = ['pending', 'starting', 'running', 'failed', 'stopping', 'stopped'] as const;

export type SourceState = (typeof sourceStates)[number];

export interface SourceReport {
  readonly name: string;
  readonly type: string;
  readonly state: SourceState;
  /** the last start/reload/publish problem */
  readonly error?: string;
  /** intents in its latest accepted snapshot */
  readonly intents: number;
  /** ISO time of its latest accepted snapshot */
  readonly lastPublishAt?: string;
  readonly lastReloadAt?: string;
  /** its lasting problems (SourceContext.problem), oldest first */
  readonly problems?: readonly SourceProblem[];
}

export interface SourceRunnerOptions {
  readonly entry: ConfiguredSource;
  readonly logger: Logger;
  readonly timeouts: AgentSettings['timeouts'];
  readonly intentSchemas: ReadonlyMap<string, ZodType>;
  /** see SourceContext.metrics */
  readonly metrics: SourceMetrics;
  readonly describe: (kind: string) => Promise<unknown>;
  readonly consumers: (kind: string) => readonly ConsumerState[];
  readonly watch: (topic: string, listener: (event: unknown) => void) => () => void;
  /** see SourceContext.socketHandles */
  readonly socketHandles?: SourceContext['socketHandles'];
  /** see SourceContext.readOwnConfig */
  readonly readOwnConfig?: () => Promise<unknown>;
  /** told when the source fails to start, with the reason its report shows */
  readonly onFailed?: (error: string) => void;
  /** told when a problem of the source is set or its message changes, and when it is cleared */
  readonly onProblem?: (problem: SourceProblem) => void;
  readonly onProblemCleared?: (problem: string) => void;
}

export class SourceRunner {
  readonly name: string;
  #state: SourceState = 'pending';
  #error?: string;
  #source?: IntentSource;
  #listened = false;
  #intents = 0;
  #published = false;
  /** when its latest snapshot was accepted (ms; formatted only for a report: one is noted per change) */
  #lastPublishMs?: number;
  #lastReloadAt?: string;
  readonly #problems = new Map<string, SourceProblem>();
  readonly #controller = new AbortController();
  readonly #opts: SourceRunnerOptions;

  constructor(opts: SourceRunnerOptions) {
    this.#opts = opts;
    this.name = opts.entry.name;
  }

  get state(): SourceState {
    return this.#state;
  }

  /** its factory's type, e.g. "ziti" */
  get type(): string {
    return this.#opts.entry.factory.type;
  }

  /** the kinds its factory declares it may publish (undefined: any) */
  get produces(): readonly string[] | undefined {
    return this.#opts.entry.factory.produces;
  }

  /** true once a snapshot of this source was accepted */
  get published(): boolean {
    return this.#published;
  }

  /** Called by the agent when it accepted (or rejected) a snapshot of this source. */
  noteSnapshot(result: { accepted: true; intents: number } | { accepted: false; error: string }): void {
    if (result.accepted) {
      this.#published = true;
      this.#intents = result.intents;
      this.#lastPublishMs = Date.now();
      if (this.#state === 'running') this.#error = undefined;
    } else {
      this.#error = result.error;
    }
  }

  /**
   * Creates the source and opens its endpoints (IntentSource.listen, when it has one); false when
   * it failed (then it is stopped). `takeOver`: see SourceContext.takeOver.
   */
  async listen(sink: IntentSink, options: { takeOver?: boolean } = {}): Promise<boolean> {
    const { entry, logger, timeouts } = this.#opts;
    this.#listened = true;
    this.#state = 'starting';
    try {
      this.#source = entry.factory.create(entry.config, {
        logger,
        signal: this.#controller.signal,
        intentSchemas: this.#opts.intentSchemas,
        metrics: this.#opts.metrics,
        describe: this.#opts.describe,
        consumers: this.#opts.consumers,
        watch: this.#opts.watch,
        problem: (name, message) => this.#setProblem(name, message),
        ...(options.takeOver && { takeOver: true }),
        ...(this.#opts.socketHandles && { socketHandles: this.#opts.socketHandles }),
        ...(this.#opts.readOwnConfig && { readOwnConfig: this.#opts.readOwnConfig }),
      });
      const source = this.#source;
      if (source.listen) await withTimeout('listen', timeouts.openMs, () => source.listen!(sink));
      return true;
    } catch (err) {
      await this.#failed(err);
      return false;
    }
  }

  /** Starts the source (after `listen`, which it runs first if it did not run); false when it failed. */
  async start(sink: IntentSink): Promise<boolean> {
    const { logger, timeouts } = this.#opts;
    if (!this.#listened && !(await this.listen(sink))) return false;
    const source = this.#source;
    if (source === undefined) return false; // failed or stopped meanwhile
    try {
      await withTimeout('start', timeouts.openMs, () => source.start(sink));
    } catch (err) {
      await this.#failed(err);
      return false;
    }
    // a snapshot published during start() may not have been accepted yet; keep its error if any
    this.#state = 'running';
    logger.info('source running');
    return true;
  }

  async #failed(err: unknown): Promise<void> {
    this.#state = 'failed';
    this.#error = err instanceof TimeoutError ? err.message : `start failed: ${errorMessage(err)}`;
    this.#opts.logger.error({ err }, `source failed: ${this.#error}`);
    this.#opts.onFailed?.(this.#error);
    await this.#stopSource();
    this.#problems.clear();
  }

  /** its lasting problems (SourceContext.problem), oldest first */
  get problems(): readonly SourceProblem[] {
    return [...this.#problems.values()];
  }

  /** SourceContext.problem: sets (message) or clears (undefined) a named problem; repeats are no-ops */
  #setProblem(problem: string, message: string | undefined): void {
    const held = this.#problems.get(problem);
    if (message === undefined) {
      if (!held) return;
      this.#problems.delete(problem);
      this.#opts.logger.info({ problem }, 'source problem cleared');
      this.#opts.onProblemCleared?.(problem);
      return;
    }
    if (held?.message === message || (this.#state !== 'starting' && this.#state !== 'running')) return;
    const set: SourceProblem = { source: this.name, problem, message, since: held?.since ?? new Date().toISOString() };
    this.#problems.set(problem, set);
    this.#opts.logger.warn({ problem, message }, 'source problem');
    this.#opts.onProblem?.(set);
  }

  /** Asks the source to re-read its inputs; returns the error message if it refused. */
  async reload(): Promise<string | undefined> {
    const source = this.#source;
    if (this.#state !== 'running' || !source?.reload) return undefined;
    this.#lastReloadAt = new Date().toISOString();
    try {
      await withTimeout('reload', this.#opts.timeouts.openMs, () => source.reload!());
      return undefined;
    } catch (err) {
      this.#error = `reload failed: ${errorMessage(err)}`;
      this.#opts.logger.debug({ err }, this.#error);
      return this.#error;
    }
  }

  async stop(): Promise<void> {
    this.#controller.abort(new Error('agent shutting down'));
    if (this.#state !== 'running' && this.#state !== 'starting') {
      if (this.#state === 'pending') this.#state = 'stopped';
      return;
    }
    this.#state = 'stopping';
    await this.#stopSource();
    this.#state = 'stopped';
  }

  async #stopSource(): Promise<void> {
    const source = this.#source;
    this.#source = undefined;
    if (!source) return;
    try {
      await withTimeout('stop', this.#opts.timeouts.closeMs, () => source.stop());
    } catch (err) {
      this.#opts.logger.warn({ err }, 'source stop did not complete');
    }
  }

  report(): SourceReport {
    return {
      name: this.name,
      type: this.#opts.entry.type,
      state: this.#state,
      ...(this.#error !== undefined && { error: this.#error }),
      intents: this.#intents,
      ...(this.#lastPublishMs !== undefined && { lastPublishAt: new Date(this.#lastPublishMs).toISOString() }),
      ...(this.#lastReloadAt && { lastReloadAt: this.#lastReloadAt }),
      ...(this.#problems.size > 0 && { problems: this.problems }),
    };
  }
}
