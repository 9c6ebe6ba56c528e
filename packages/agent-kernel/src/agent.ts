/**
 * The agent: starts the configured plugins (dependencies first, each isolated), then the sources;
 * merges the sources' latest snapshots and hands every healthy plugin the desired state of the kinds
 * it consumes; reloads sources on request; shuts down in reverse order.
 */
import { inject, injectable, named, optional } from 'inversify';
import type { SocketHandleRegistry } from '@bpfsteer/core-bpf';
import type { Logger } from 'pino';
import type { CommitResult, Intent, IntentChange, IntentSink, PluginFactory, SourceFactory } from './contracts.js';
import { AdminServer } from './admin-server.js';
import { AgentMetrics, type CommitOutcome, type Exposition } from './agent-metrics.js';
import { familyProblem, mapFamilies } from './plugin-metric-families.js';
import { MetricsServer } from './metrics-server.js';
import { agentVersion } from './agent-version.js';
import { removeEmptyDir } from './remove-empty-dir.js';
import { type AgentHealth, AgentEvents, type AgentState } from './agent-events.js';
import { startMemoryReducerNudge } from './memory-reducer-nudge.js';
import { PreviousAgent } from './previous-agent.js';
import type { ContributionProvider } from './contribution-provider.js';
import { desiredStateFor, groupSnapshot, kindsOf, mergeSnapshots } from './desired-state.js';
import { applyIntentChange, applyIntentChangeSliced, type KeyedIntents, SLICED_CHANGE } from './intent-change.js';
import { AgentStateError, ConfigError, errorMessage } from './errors.js';
import type { FeatureProbe } from './feature-probe.js';
import { afterLoopTurns } from './graceful-close.js';
import { readAgentConfigFile } from './load-agent-config.js';
import type { AgentConfig, ConfiguredSource } from './parse-agent-config.js';
import type { PluginProvisions } from './plugin-provisions.js';
import { type PluginReport, PluginRunner } from './plugin-runner.js';
import { type SourceReport, SourceRunner, type SourceState } from './source-runner.js';
import { Tokens } from './tokens.js';


/**
 * How long an agent handing over goes on serving before it stops: what was sent to its sockets
 * before the new agent took them is accepted and answered meanwhile (ms).
 */
export const HANDOVER_DRAIN_MS = 100;

/** A snapshot or change taken as a source's current intents (with what to go back to), or refused. */
type Accepted =
  | { readonly ok: true; readonly previous: KeyedIntents | undefined; readonly changed: Set<string>; readonly undo?: () => void }
  | { readonly ok: false; readonly error: string };

/** A promise with its resolve (the agent's gate). */
function openable(): { readonly promise: Promise<void>; readonly resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A source's subscription to a plugin event topic, on every plugin running (now or later) that offers it. */
interface Watcher {
  readonly topic: string;
  readonly listener: (event: unknown) => void;
  readonly stops: (() => void)[];
}

/** A source a plugin's first apply waits for ('running', 'starting') or is held by for good ('failed'). */
export interface HoldingSource {
  readonly source: string;
  readonly state: SourceState;
}

export interface AgentStatusReport {
  readonly agent: {
    readonly pid: number;
    readonly state: AgentState;
    readonly startedAt?: string;
    readonly configPath?: string;
    readonly pinRoot: string;
    readonly adminSocket: string | false;
  };
  /** in config-file order; `heldBy` set while its first apply is held (see SourceFactory.produces) */
  readonly plugins: readonly (PluginReport & { readonly heldBy?: readonly HoldingSource[] })[];
  readonly sources: readonly SourceReport[];
}

export interface ReloadReport {
  readonly ok: boolean;
  readonly sources: readonly { name: string; error?: string }[];
}

export interface StartOptions {
  /**
   * Take over from the agent running on this config's admin socket, without a moment in which the
   * sockets do not answer: this agent takes the sockets of the admin API and of the sources that
   * listen before they start (new connections reach it and are answered "starting"), asks the old
   * agent to hand over (it stops, keeping its pins) and waits for its exit, then starts as after a
   * restart (plugins re-adopt the pins, sources read their state). Without a running agent it
   * starts as usual. Needs the admin socket.
   */
  readonly takeOver?: boolean;
}

/**
 * What `start()` resolves with: which plugins run and which failed, and why. The agent keeps
 * running with failed plugins (a failure stays isolated, and the status and events report it), so
 * a caller that needs the plugins checks this: `nothingRunning` is true when plugins were
 * configured and none runs, i.e. the agent steers nothing.
 */
export interface StartResult {
  readonly running: readonly string[];
  readonly failed: readonly { readonly id: string; readonly error: string }[];
  readonly nothingRunning: boolean;
}

export interface StopOptions {
  /**
   * Keep pinned maps and links in force so the next agent re-adopts them (restart without a
   * traffic gap). Default false: plugins detach and remove their pins.
   */
  readonly keepPinned?: boolean;
}

@injectable()
export class Agent {
  #state: AgentState = 'created';
  #startedAt?: string;
  #starting?: Promise<void>;
  #stopping?: Promise<void>;
  #stopRequested = false;
  #admin?: AdminServer;
  #metricsServer?: MetricsServer;
  readonly #metrics: AgentMetrics;
  /** settles when a new agent asked this one to hand over (POST /v1/handover) */
  readonly #handedOver = openable();
  /** stops the memory reducer's nudge (memory-reducer-nudge.ts), running from start to stop */
  #stopNudge?: () => void;
  #gateOpen = false;
  /** settles when the gate opens (the first apply round) or the agent stops */
  readonly #gate = openable();
  /** plugins whose first apply waits for a source declaring their kinds (SourceFactory.produces) */
  readonly #held = new Set<PluginRunner>();
  #gateCheck?: () => void;
  readonly #plugins: PluginRunner[];
  readonly #sources: SourceRunner[];
  readonly #snapshots = new Map<number, KeyedIntents>();
  /** the sources' event subscriptions (SourceContext.watch) */
  readonly #watchers = new Set<Watcher>();
  /** large changes being taken in slices: the lists are half-changed until each settles */
  readonly #slicedChanges = new Set<Promise<unknown>>();
  /** what the agent tells about itself as it happens (started, failures, source problems, stopping) */
  readonly events: AgentEvents;

  constructor(
    @inject(Tokens.AgentConfig) private readonly config: AgentConfig,
    @inject(Tokens.FeatureProbe) probe: FeatureProbe,
    @inject(Tokens.Logger) private readonly logger: Logger,
    @inject(Tokens.ContributionProvider)
    @named(Tokens.PluginFactory)
    private readonly pluginFactories: ContributionProvider<PluginFactory<unknown>>,
    @inject(Tokens.ContributionProvider)
    @named(Tokens.SourceFactory)
    private readonly sourceFactories: ContributionProvider<SourceFactory<unknown>>,
    @inject(Tokens.PluginProvisions) private readonly provisions: PluginProvisions,
    @inject(Tokens.SocketHandles) @optional() private readonly socketHandles?: SocketHandleRegistry,
  ) {
    const { agent } = config;
    this.events = new AgentEvents(logger);
    this.#metrics = new AgentMetrics(
      { plugins: () => this.#plugins, sources: () => this.#sources.map((s) => ({ name: s.name, type: s.type, state: s.state })) },
      agentVersion(),
    );
    this.#plugins = config.plugins.map(
      (entry) =>
        new PluginRunner({
          entry,
          logger: logger.child({ plugin: entry.id }),
          pinRoot: agent.pinRoot,
          timeouts: agent.timeouts,
          isolation: agent.isolation,
          provided: () => this.provisions.valuesFor(entry),
          probe,
          desired: (kinds) => desiredStateFor(this.#merged(), kinds),
          changing: () => this.#changing(),
          onApplied: (outcome) => this.#metrics.applied(entry.id, outcome),
          onFailed: (error) => this.events.emit({ type: 'plugin-failed', plugin: entry.id, error }),
          ...(socketHandles && { socketHandles }),
        }),
    );
    this.#sources = config.sources.map(
      (entry) =>
        new SourceRunner({
          entry,
          logger: logger.child({ source: entry.name }),
          timeouts: agent.timeouts,
          intentSchemas: config.intentSchemas,
          metrics: this.#metrics.forSource(entry.name),
          describe: (kind) => this.#describe(kind),
          consumers: (kind) => this.#plugins.filter((p) => p.kinds.includes(kind)).map((p) => ({ plugin: p.id, state: p.state })),
          watch: (topic, listener) => this.#watch(topic, listener),
          onFailed: (error) => this.events.emit({ type: 'source-failed', source: entry.name, error }),
          onProblem: (problem) => this.events.emit({ type: 'source-problem', problem }),
          onProblemCleared: (problem) => this.events.emit({ type: 'source-problem-cleared', source: entry.name, problem }),
          ...(socketHandles && { socketHandles }),
          ...(config.path !== undefined && { readOwnConfig: () => this.#readSourceConfig(entry) }),
        }),
    );
  }

  get state(): AgentState {
    return this.#state;
  }

  /** host:port of the metrics' TCP listener while it listens (agent.metrics) */
  get metricsAddress(): string | undefined {
    return this.#metricsServer?.address;
  }

  /**
   * Starts the admin API, the plugins and the sources, and waits for the first apply round. A
   * failing plugin or source does not make it reject; it rejects only when the agent cannot run at
   * all (e.g. the admin socket belongs to a live agent).
   */
  async start(options: StartOptions = {}): Promise<StartResult> {
    if (this.#state !== 'created') throw new AgentStateError(`cannot start an agent that is ${this.#state}`);
    this.#state = 'starting';
    this.#startedAt = new Date().toISOString();
    this.#stopNudge = startMemoryReducerNudge();
    this.#starting = this.#start(options.takeOver ?? false);
    try {
      await this.#starting;
    } catch (err) {
      this.logger.error({ err }, `agent cannot start: ${errorMessage(err)}`);
      this.#stopping ??= this.#stop(false);
      await this.#stopping;
      throw err;
    }
    const running = this.#plugins.filter((p) => p.state === 'running').map((p) => p.id);
    const failed = this.#plugins.filter((p) => p.state !== 'running').map((p) => ({ id: p.id, error: p.error ?? `not running (${p.state})` }));
    const nothingRunning = this.#plugins.length > 0 && running.length === 0;
    if (nothingRunning) this.logger.error({ failedPlugins: failed }, 'no plugin started: the agent steers nothing');
    return { running, failed, nothingRunning };
  }

  /**
   * Settles when a new agent asked this one to hand over (POST /v1/handover on the admin socket):
   * it is stopping then, keeping its pins (`bpfsteer run` exits once `stop()` settles).
   */
  get handedOver(): Promise<void> {
    return this.#handedOver.promise;
  }

  async #start(takeOver: boolean): Promise<void> {
    const { agent } = this.config;
    this.logger.info(
      { plugins: this.#plugins.map((p) => p.id), sources: this.#sources.map((s) => s.name), config: this.config.path, takeOver },
      'agent starting',
    );
    if (takeOver && agent.adminSocket === false) {
      throw new AgentStateError('taking over from a running agent needs the admin socket (agent.adminSocket is false)');
    }
    const previous = takeOver && agent.adminSocket !== false ? await PreviousAgent.find(agent.adminSocket) : undefined;
    if (takeOver && previous === undefined) this.logger.info('no running agent to take over from; starting as usual');
    const sinks = this.#sources.map((runner, i) => this.#sink(i, runner));
    const listenAdmin = async (): Promise<void> => {
      if (agent.adminSocket === false) return;
      this.#admin = await AdminServer.listen(
        agent.adminSocket,
        {
          status: () => this.status(),
          health: () => this.health(),
          metrics: () => this.metrics(),
          handoverState: () => ((this.#state === 'starting' || this.#state === 'running') && this.#stopping === undefined ? this.#state : undefined),
          handOver: () => this.#handOver(),
        },
        this.logger,
        { takeOver: previous !== undefined },
      );
    };
    try {
      // the admin socket first (a running agent there is refused before anything else is opened);
      // when taking over, last: all that an agent loads to answer (a source's API) is loaded before
      // it takes the admin socket, the first one polled. Then the old agent hands over and exits
      // before anything touches the pins or the sources' state.
      if (previous === undefined) await listenAdmin();
      for (const [i, runner] of this.#sources.entries()) {
        if (this.#stopRequested) break;
        await runner.listen(sinks[i], { takeOver: previous !== undefined });
      }
      if (previous !== undefined) await listenAdmin();
      if (previous !== undefined && !this.#stopRequested) {
        this.logger.info({ previousPid: previous.pid }, 'took the sockets over; asking the running agent to hand over');
        await previous.handOver(agent.timeouts.closeMs * (this.#plugins.length + this.#sources.length + 1));
        this.logger.info({ previousPid: previous.pid }, 'the previous agent handed over and exited');
      }
    } finally {
      previous?.close();
    }
    // once a previous agent has exited: it held the same address
    if (agent.metrics && !this.#stopRequested) {
      this.#metricsServer = await MetricsServer.listen(agent.metrics, () => this.metrics(), this.logger);
    }
    // the sources start (they load their state) while the plugins start and re-adopt their pinned
    // state in their threads; nothing is applied before both are done
    const plugins = this.#startPlugins();
    for (const [i, runner] of this.#sources.entries()) {
      if (this.#stopRequested) break;
      await runner.start(sinks[i]);
    }
    await plugins;
    if (this.#stopRequested) return;
    await this.#firstSnapshots();
    if (this.#stopRequested) return;
    this.#gateOpen = true;
    this.#gate.resolve();
    for (const p of this.#plugins) {
      const holding = this.#holdingSources(p);
      if (holding.length === 0) {
        void p.requestApply();
        continue;
      }
      this.#held.add(p);
      const failed = holding.filter((h) => h.state === 'failed').map((h) => h.source);
      const waiting = holding.filter((h) => h.state !== 'failed').map((h) => h.source);
      if (waiting.length > 0) {
        this.logger.warn(
          { plugin: p.id, sources: waiting },
          'first apply held until these sources publish; the plugin keeps its pinned state meanwhile',
        );
      }
      if (failed.length > 0) {
        this.logger.error(
          { plugin: p.id, sources: failed },
          'a source of its kinds failed before it published: no apply until the agent restarts with it working; the plugin keeps its pinned state',
        );
      }
    }
    await this.settled();
    if (this.#stopRequested) return;
    this.#state = 'running';
    const failed = this.#plugins.filter((p) => p.state !== 'running').map((p) => p.id);
    const log = failed.length ? this.logger.warn.bind(this.logger) : this.logger.info.bind(this.logger);
    log({ failedPlugins: failed }, failed.length ? 'agent running with failed plugins' : 'agent running');
    this.events.emit({ type: 'started', health: this.health() });
  }

  /** Starts the plugins one by one, each after what it depends on (never rejects). */
  async #startPlugins(): Promise<void> {
    const byId = new Map(this.#plugins.map((p) => [p.id, p] as const));
    for (const runner of this.#plugins) {
      if (this.#stopRequested) return;
      const entry = this.config.plugins.find((p) => p.id === runner.id);
      const needs = entry?.factory.needs ?? {};
      const required = [...(entry?.providers ?? [])].filter(([name]) => !needs[name]?.optional).map(([, id]) => id);
      const deps = [...(entry?.factory.dependsOn ?? []), ...required];
      const broken = deps.find((d) => byId.get(d)?.state !== 'running');
      if (broken !== undefined) {
        await runner.failBeforeStart(`dependency "${broken}" is not running (${byId.get(broken)?.state ?? 'missing'})`);
        continue;
      }
      if (await runner.start()) this.#subscribeWatchers(runner);
    }
  }

  /** Waits until every running source published once, or for openMs. */
  async #firstSnapshots(): Promise<void> {
    const pending = (): SourceRunner[] => this.#sources.filter((s) => s.state === 'running' && !s.published);
    if (pending().length === 0) return;
    const { openMs } = this.config.agent.timeouts;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(
          { sources: pending().map((s) => s.name), ms: openMs },
          'sources did not publish in time; applying without them',
        );
        done();
      }, openMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#gateCheck = undefined;
        resolve();
      };
      this.#gateCheck = () => {
        if (pending().length === 0 || this.#stopRequested) done();
      };
    });
  }

  #sink(index: number, runner: SourceRunner): IntentSink {
    // commits, and changes (which build on each other), run one at a time in call order
    let queue: Promise<unknown> = Promise.resolve();
    const enqueue = <T>(job: () => T | Promise<T>): Promise<T> => {
      const result = queue.then(job);
      queue = result.catch(() => undefined);
      return result;
    };
    const counted = (result: CommitResult): CommitResult => {
      const outcome: CommitOutcome = result.ok ? 'ok' : result.reason;
      this.#metrics.committed(runner.name, outcome);
      return result;
    };
    const published = (accepted: Accepted): void => {
      if (!accepted.ok || !this.#gateOpen) return;
      for (const p of this.#affectedPlugins(accepted.changed)) void p.requestApply();
      this.#releaseHeld();
    };
    return {
      publish: (intents: readonly Intent[]): void => published(this.#accept(index, runner, intents)),
      commit: (intents: readonly Intent[]): Promise<CommitResult> =>
        enqueue(() => this.#commit(index, runner, this.#accept(index, runner, intents))).then(counted),
      publishChange: (change: IntentChange): void => {
        void enqueue(async () => published(await this.#acceptChange(index, runner, change)));
      },
      commitChange: (change: IntentChange): Promise<CommitResult> =>
        enqueue(async () => this.#commit(index, runner, await this.#acceptChange(index, runner, change))).then(counted),
    };
  }

  /** Whether a source's intents are taken now (else why not, noted in its status). */
  #refusedSource(runner: SourceRunner, what: string): { ok: false; error: string } | undefined {
    if (!this.#stopRequested && (runner.state === 'running' || runner.state === 'starting')) return undefined;
    const error = `${what} ignored: source is ${runner.state}`;
    runner.noteSnapshot({ accepted: false, error });
    return { ok: false, error };
  }

  /** Makes `next` the source's current intents. */
  #take(index: number, runner: SourceRunner, next: KeyedIntents, what: string): void {
    this.#snapshots.set(index, next);
    runner.noteSnapshot({ accepted: true, intents: next.size });
    this.logger.debug({ source: runner.name, intents: next.size }, `${what} accepted`);
    if (!this.#gateOpen) this.#gateCheck?.();
  }

  /** Checks a snapshot and makes it the source's current one. */
  #accept(index: number, runner: SourceRunner, intents: readonly Intent[]): Accepted {
    const refused = this.#refusedSource(runner, 'snapshot');
    if (refused) return refused;
    const previous = this.#snapshots.get(index);
    const snapshot = groupSnapshot(intents, this.config.intentSchemas, previous);
    if (typeof snapshot === 'string') {
      this.logger.error({ source: runner.name }, `snapshot rejected, keeping the previous one: ${snapshot}`);
      runner.noteSnapshot({ accepted: false, error: `snapshot rejected: ${snapshot}` });
      return { ok: false, error: snapshot };
    }
    this.#take(index, runner, snapshot, 'snapshot');
    return { ok: true, previous, changed: kindsOf(previous, snapshot) };
  }

  /** Settles when no large change is being taken in slices (undefined: none is). */
  #changing(): Promise<unknown> | undefined {
    return this.#slicedChanges.size === 0 ? undefined : Promise.all(this.#slicedChanges);
  }

  /**
   * Checks a change and applies it to the source's current intents; a large one in slices, so the
   * agent keeps answering meanwhile (plugins do not read the lists until it is done).
   */
  async #acceptChange(index: number, runner: SourceRunner, change: IntentChange): Promise<Accepted> {
    const refused = this.#refusedSource(runner, 'change');
    if (refused) return refused;
    const previous = this.#snapshots.get(index);
    const size = (Array.isArray(change?.upsert) ? change.upsert.length : 0) + (Array.isArray(change?.remove) ? change.remove.length : 0);
    let applied: Awaited<ReturnType<typeof applyIntentChangeSliced>>;
    if (size > SLICED_CHANGE) {
      const work = applyIntentChangeSliced(previous, change, this.config.intentSchemas);
      this.#slicedChanges.add(work);
      try {
        applied = await work;
      } finally {
        this.#slicedChanges.delete(work);
      }
    } else {
      applied = applyIntentChange(previous, change, this.config.intentSchemas);
    }
    if (typeof applied === 'string') {
      this.logger.error({ source: runner.name }, `change rejected, nothing changed: ${applied}`);
      runner.noteSnapshot({ accepted: false, error: `change rejected: ${applied}` });
      return { ok: false, error: applied };
    }
    this.#take(index, runner, applied.next, 'change');
    return { ok: true, previous, changed: applied.changed, undo: applied.undo };
  }

  /** The plugins consuming any of `kinds` whose first apply is not held. */
  #affectedPlugins(kinds: ReadonlySet<string>): PluginRunner[] {
    return this.#plugins.filter((p) => !this.#held.has(p) && p.kinds.some((k) => kinds.has(k)));
  }

  /**
   * Sources that declare a kind `plugin` consumes and have not published yet: a running one is
   * waited for; a failed one holds the plugin for good (applying without it would empty the state
   * the plugin re-adopted, e.g. every rule of a router after a restart with a damaged state file).
   */
  #holdingSources(plugin: PluginRunner): HoldingSource[] {
    return this.#sources
      .filter((s) => !s.published && (s.state === 'running' || s.state === 'starting' || s.state === 'failed'))
      .filter((s) => s.produces?.some((k) => plugin.kinds.includes(k)))
      .map((s) => ({ source: s.name, state: s.state }));
  }

  /** Gives held plugins their first apply once no source they wait for is silent. */
  #releaseHeld(): void {
    for (const p of [...this.#held]) {
      if (this.#holdingSources(p).length > 0) continue;
      this.#held.delete(p);
      this.logger.info({ plugin: p.id }, 'the sources it waited for published; first apply');
      void p.requestApply();
    }
  }

  async #commit(index: number, runner: SourceRunner, accepted: Accepted): Promise<CommitResult> {
    if (!accepted.ok) return { ok: false, reason: 'invalid', error: accepted.error };
    if (!this.#gateOpen) {
      // from a source's own start(): kept for the first apply round (not awaited there)
      if (runner.state === 'starting') return { ok: true, report: { added: 0, updated: 0, removed: 0 }, pending: true };
      // from a running source while the plugins still start: applied once they can take it
      await this.#gate.promise;
      if (!this.#gateOpen) return { ok: false, reason: 'unavailable', error: 'the agent stopped before it could apply it' };
    }
    const restore = async (): Promise<void> => {
      accepted.undo?.();
      if (accepted.previous) this.#snapshots.set(index, accepted.previous);
      else this.#snapshots.delete(index);
      runner.noteSnapshot({ accepted: true, intents: accepted.previous?.size ?? 0 });
      await Promise.all(this.#affectedPlugins(accepted.changed).map((p) => p.requestApply()));
    };
    const consumers = this.#plugins.filter((p) => p.kinds.some((k) => accepted.changed.has(k)));
    const missing = [...accepted.changed].filter(
      (kind) => !consumers.some((p) => p.state === 'running' && p.kinds.includes(kind)),
    );
    if (missing.length > 0) {
      await restore();
      const error = `no running plugin consumes ${missing.map((k) => `"${k}"`).join(', ')}`;
      runner.noteSnapshot({ accepted: false, error: `commit refused: ${error}` });
      return { ok: false, reason: 'unavailable', error };
    }
    this.#releaseHeld(); // this source has now published: plugins waiting only for it go
    const plugins = consumers.filter((p) => !this.#held.has(p));
    const pending = plugins.length < consumers.length;
    const outcomes = await Promise.all(plugins.map(async (p) => [p, await p.requestApply()] as const));
    const refused = outcomes.find(([, o]) => !o.ok);
    if (refused) {
      const [plugin, outcome] = refused;
      await restore();
      const error = `plugin ${plugin.id}: ${outcome.error ?? 'apply failed'}`;
      runner.noteSnapshot({ accepted: false, error: `commit refused: ${error}` });
      return { ok: false, reason: outcome.invalid ? 'invalid' : 'failed', error };
    }
    const report = { added: 0, updated: 0, removed: 0 };
    for (const [, o] of outcomes) {
      report.added += o.report?.added ?? 0;
      report.updated += o.report?.updated ?? 0;
      report.removed += o.report?.removed ?? 0;
    }
    return pending ? { ok: true, report, pending: true } : { ok: true, report };
  }

  /** Live details of `kind` from the running plugin consuming it. */
  async #describe(kind: string): Promise<unknown> {
    for (const p of this.#plugins) {
      if (p.state === 'running' && p.kinds.includes(kind)) return p.describe(kind);
    }
    return undefined;
  }

  /**
   * Subscribes `listener` to `topic` on every running plugin offering it, and on each plugin that
   * starts running later (a source may watch from its start, while the plugins still start).
   */
  #watch(topic: string, listener: (event: unknown) => void): () => void {
    const watcher: Watcher = { topic, listener, stops: [] };
    for (const p of this.#plugins) {
      const stop = p.watch(topic, listener);
      if (stop) watcher.stops.push(stop);
    }
    this.#watchers.add(watcher);
    return () => {
      this.#watchers.delete(watcher);
      for (const stop of watcher.stops.splice(0)) stop();
    };
  }

  /** Subscribes the current watchers to a plugin that just started running. */
  #subscribeWatchers(runner: PluginRunner): void {
    for (const w of this.#watchers) {
      const stop = runner.watch(w.topic, w.listener);
      if (stop) w.stops.push(stop);
    }
  }

  #merged(): Map<string, readonly Intent[]> {
    const ordered = [...this.#snapshots.entries()].sort(([a], [b]) => a - b).map(([, s]) => s);
    return mergeSnapshots(ordered);
  }

  async #readSourceConfig(entry: ConfiguredSource): Promise<unknown> {
    const path = this.config.path!;
    const fresh = await readAgentConfigFile(path, {
      plugins: this.pluginFactories.getContributions(),
      sources: this.sourceFactories.getContributions(),
    });
    const now = fresh.sources.find((s) => s.index === entry.index);
    if (!now || now.type !== entry.type) {
      throw new ConfigError(
        [
          {
            path: ['sources', entry.index],
            message: `was a "${entry.type}" source when the agent started; changing the list of sources needs a restart`,
          },
        ],
        path,
      );
    }
    const pluginsOf = (c: AgentConfig): string =>
      JSON.stringify(c.plugins.map((p) => [p.id, p.config]).sort(([a], [b]) => String(a).localeCompare(String(b))));
    if (pluginsOf(fresh) !== pluginsOf(this.config) || JSON.stringify(fresh.agent) !== JSON.stringify(this.config.agent)) {
      this.logger.warn('agent or plugin settings changed in the config file; they take effect at the next restart');
    }
    return now.config;
  }

  /** Re-reads every source's inputs (SIGHUP). A source that refuses keeps its last good state. */
  async reload(): Promise<ReloadReport> {
    if (this.#state !== 'running') {
      this.logger.warn({ state: this.#state }, 'reload ignored: the agent is not running');
      return { ok: false, sources: [] };
    }
    this.logger.info('reloading sources');
    const sources: { name: string; error?: string }[] = [];
    for (const runner of this.#sources) {
      const error = await runner.reload();
      sources.push({ name: runner.name, ...(error !== undefined && { error }) });
    }
    await this.settled();
    const ok = sources.every((s) => s.error === undefined);
    if (ok) this.logger.info('reload done');
    else this.logger.error({ failed: sources.filter((s) => s.error) }, 'reload failed for some sources; they keep their last good state');
    return { ok, sources };
  }

  /** Resolves when no plugin has an apply running or pending. */
  async settled(): Promise<void> {
    await Promise.all(this.#plugins.map((p) => p.whenIdle()));
  }

  /**
   * A new agent took the sockets over and asked this one to hand over: stop, keeping the pins, once
   * the connections made to this agent before the sockets were taken over are accepted and read
   * (HANDOVER_DRAIN_MS and two turns of the event loop; closing a listening socket resets the
   * connections still waiting in it); every API then closes gracefully (graceful-close.ts).
   */
  #handOver(): void {
    if (this.#stopping !== undefined) return;
    this.logger.info('a new agent took over the sockets: handing over (stopping, pins kept)');
    // the stop of this agent from now on, whoever asks for one (pins kept whatever they ask)
    // then two turns of the event loop: the first accepts what waits in the listening sockets, the
    // second reads those requests (a connection with no request read yet counts as idle at close)
    this.#stopping = new Promise<void>((resolve) => setTimeout(resolve, HANDOVER_DRAIN_MS))
      .then(() => afterLoopTurns(2))
      .then(() => this.#stop(true));
    this.#handedOver.resolve();
  }

  /** Stops sources, then closes plugins in reverse start order, then the admin API. Idempotent. */
  stop(options: StopOptions = {}): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    this.#stopping ??= this.#stop(options.keepPinned ?? false);
    return this.#stopping;
  }

  async #stop(keepPinned: boolean): Promise<void> {
    this.#stopRequested = true;
    this.#gateCheck?.();
    this.#gate.resolve();
    await this.#starting?.catch(() => undefined);
    this.#state = 'stopping';
    this.logger.info({ keepPinned }, 'agent stopping');
    this.events.emit({ type: 'stopping', keepPinned });
    for (const runner of [...this.#sources].reverse()) await runner.stop();
    for (const runner of [...this.#plugins].reverse()) await runner.close(keepPinned);
    if (!keepPinned && (await removeEmptyDir(this.config.agent.pinRoot))) this.logger.debug({ pinRoot: this.config.agent.pinRoot }, 'removed the empty pin root');
    this.socketHandles?.closeAll(); // no source names them and no plugin resolves them any more
    try {
      await this.#admin?.close();
    } catch (err) {
      this.logger.warn({ err }, `admin API close failed: ${errorMessage(err)}`);
    }
    await this.#metricsServer?.close();
    this.#stopNudge?.();
    this.#state = 'stopped';
    this.logger.info('agent stopped');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async status(): Promise<AgentStatusReport> {
    const { agent, path } = this.config;
    const byIndex = new Map(this.config.plugins.map((p) => [p.id, p.index] as const));
    return {
      agent: {
        pid: process.pid,
        state: this.#state,
        ...(this.#startedAt && { startedAt: this.#startedAt }),
        ...(path !== undefined && { configPath: path }),
        pinRoot: agent.pinRoot,
        adminSocket: agent.adminSocket,
      },
      plugins: await Promise.all(
        [...this.#plugins]
          .sort((a, b) => byIndex.get(a.id)! - byIndex.get(b.id)!)
          .map(async (p) => (this.#held.has(p) ? { ...(await p.report()), heldBy: this.#holdingSources(p) } : p.report())),
      ),
      sources: this.#sources.map((s) => s.report()),
    };
  }

  /**
   * Every Prometheus series of the agent, its sources and its running plugins, as text (what
   * /metrics serves on the admin socket and on agent.metrics' TCP address).
   */
  async metrics(): Promise<Exposition> {
    const plugins = this.#plugins.filter((p) => p.state === 'running');
    const [reports, own] = await Promise.all([Promise.all(plugins.map((p) => p.report())), Promise.all(plugins.map((p) => p.metrics()))]);
    const families = [...mapFamilies(reports), ...own.flat()].filter((family) => {
      const problem = familyProblem(family);
      if (problem !== undefined) this.logger.warn({ problem }, 'a metric of a plugin is not served');
      return problem === undefined;
    });
    return this.#metrics.exposition(families);
  }

  health(): AgentHealth {
    const failedPlugins = this.#plugins.filter((p) => p.state !== 'running').map((p) => p.id);
    const failedSources = this.#sources.filter((s) => s.state !== 'running').map((s) => s.name);
    return {
      ok: this.#state === 'running' && failedPlugins.length === 0 && failedSources.length === 0,
      state: this.#state,
      failedPlugins,
      failedSources,
      problems: this.#sources.flatMap((s) => s.problems),
    };
  }
}
