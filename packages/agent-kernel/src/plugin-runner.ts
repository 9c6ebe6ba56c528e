/**
 * Drives one dataplane plugin: probe -> open -> load -> seed -> attach, each under a time-out; then
 * serialised, coalesced `apply` calls; `close` at the end. A failure marks this plugin failed and
 * releases it; it never throws to the caller, so other plugins go on.
 */
import type { Logger } from 'pino';
import type { SocketHandleRegistry } from '@bpfsteer/core-bpf';
import type {
  ApplyReport,
  AttachmentStatus,
  DataplanePlugin,
  DesiredChanges,
  DesiredState,
  KernelFeature,
  KindChanges,
  MapStatus,
  MetricFamily,
  PluginStatus,
  ProvisionToken,
} from './contracts.js';
import type { AgentSettings } from './agent-settings.js';
import { TimeoutError, errorMessage, isIntentRejected } from './errors.js';
import type { FeatureProbe } from './feature-probe.js';
import type { ConfiguredPlugin } from './parse-agent-config.js';
import { pluginPinRoot } from './plugin-pin-root.js';
import { withTimeout } from './with-timeout.js';
import { LatestAnswer } from './latest-answer.js';
import { isoNow } from './iso-now.js';
import { changedPositions } from './intent-patch.js';
import type { Intent } from './contracts.js';
import { versionedListOf, type VersionedList } from './versioned-list.js';
import { WorkerPlugin } from './worker-plugin.js';

/** One kind's list as a plugin got it: a list changed in place is known by its version. */
interface AppliedList {
  readonly list: readonly Intent[];
  readonly versioned?: VersionedList;
  readonly version?: number;
}

/** Each kind's list and (for a VersionedList) its version now. */
function appliedLists(desired: DesiredState): Map<string, AppliedList> {
  const lists = new Map<string, AppliedList>();
  for (const [kind, list] of desired) {
    const versioned = versionedListOf(list);
    lists.set(kind, versioned ? { list, versioned, version: versioned.version } : { list });
  }
  return lists;
}

export const pluginStates = ['pending', 'probing', 'opening', 'loading', 'seeding', 'attaching', 'running', 'failed', 'closing', 'closed'] as const;

export type PluginState = (typeof pluginStates)[number];

export interface ApplyOutcome {
  /** ISO time the apply finished */
  readonly at: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly intents: number;
  readonly report?: ApplyReport;
  readonly error?: string;
  /** the plugin found the desired state invalid (IntentRejectedError) */
  readonly invalid?: true;
  /**
   * after a failed apply (a kernel error half-way): 'done' when the last applied state was applied
   * again, so the dataplane holds it; 'failed' when that failed too (see PluginReport.partial)
   */
  readonly rollback?: 'done' | 'failed';
}

export interface PluginReport {
  readonly id: string;
  readonly state: PluginState;
  readonly error?: string;
  readonly kinds: readonly string[];
  readonly requires: readonly KernelFeature[];
  readonly dependsOn: readonly string[];
  readonly attachments: readonly AttachmentStatus[];
  readonly maps: readonly MapStatus[];
  readonly details?: unknown;
  /** set when the plugin's own status() threw */
  readonly statusError?: string;
  /** set when the plugin was busy: attachments, maps and details are as it reported them then */
  readonly statusAt?: string;
  /**
   * set while the dataplane holds a mix of the last applied state and a newer one (an apply and
   * its rollback both failed); the next successful apply clears it
   */
  readonly partial?: string;
  readonly lastApply?: ApplyOutcome;
}

export interface PluginRunnerOptions {
  readonly entry: ConfiguredPlugin;
  /** already scoped to this plugin */
  readonly logger: Logger;
  /** the agent's pinRoot (the plugin gets `<pinRoot>/<id>`) */
  readonly pinRoot: string;
  readonly timeouts: AgentSettings['timeouts'];
  /** thread: a plugin whose factory names its module runs in a worker thread of its own */
  readonly isolation: AgentSettings['isolation'];
  /** what other plugins provide for its needs (PluginContext.provided) */
  readonly provided?: () => ReadonlyMap<ProvisionToken, unknown>;
  readonly probe: FeatureProbe;
  /** the current desired state of the given kinds (read when an apply starts) */
  readonly desired: (kinds: readonly string[]) => DesiredState;
  /** while the desired lists are being changed (a large change, in slices): settles when done */
  readonly changing?: () => Promise<unknown> | undefined;
  /** the agent's socket-handle registry (PluginContext.socketHandles resolves through it) */
  readonly socketHandles?: SocketHandleRegistry;
  /** the clock that says how long an apply has run (ms; default performance.now) */
  readonly now?: () => number;
  /** told the outcome of each apply of a desired state (not of a rollback) */
  readonly onApplied?: (outcome: ApplyOutcome) => void;
  /** told when the plugin fails (at start or later), with the reason its report shows */
  readonly onFailed?: (error: string) => void;
}

type Step = 'open' | 'load' | 'seed' | 'attach';
const steps: readonly [Step, PluginState][] = [
  ['open', 'opening'],
  ['load', 'loading'],
  ['seed', 'seeding'],
  ['attach', 'attaching'],
];

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A plugin in the agent's thread may keep the lists it gets: lists changed in place are copied. */
function stableCopy(lists: ReadonlyMap<string, AppliedList>): DesiredState {
  return new Map([...lists].map(([kind, { list, versioned }]) => [kind, versioned ? list.slice() : list] as const));
}

/**
 * How long a status report waits for a plugin (in its thread, busy with a long apply or giving its
 * garbage back) before it shows the plugin's last status instead, marked with its time: an idle
 * thread answers in ~1 ms, one behind a single change in ~2. A plugin whose apply has run longer
 * than this is not waited for at all: its status call would answer only after the apply.
 */
export const STATUS_WAIT_MS = 10;

/** How long a scrape waits for a plugin's metrics before it serves the last ones (or none). */
export const METRICS_WAIT_MS = 2_000;

export class PluginRunner {
  readonly id: string;
  readonly kinds: readonly string[];
  #state: PluginState = 'pending';
  #error?: string;
  #plugin?: DataplanePlugin;
  #lastApply?: ApplyOutcome;
  /** the desired state of the last successful apply (what a failed apply rolls back to) */
  #lastGood?: Map<string, AppliedList>;
  #partial?: string;
  /** the plugin's status (its last one, with its time, while the plugin is busy) */
  readonly #status = new LatestAnswer<PluginStatus>('status', () => this.#plugin!.status(), STATUS_WAIT_MS);
  /** the plugin's metric families, asked like its status with a scrape's patience */
  readonly #metrics = new LatestAnswer<readonly MetricFamily[]>('metrics', () => this.#plugin!.metrics?.() ?? [], METRICS_WAIT_MS);
  /** when the plugin's apply in progress began (performance.now()), if one is */
  #applyingSince?: number;
  #dirty = false;
  #loop?: Promise<void>;
  /** callers waiting for the next apply round */
  #waiters: ((outcome: ApplyOutcome) => void)[] = [];
  readonly #controller = new AbortController();
  readonly #opts: PluginRunnerOptions;
  readonly #log: Logger;

  constructor(opts: PluginRunnerOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.id = opts.entry.id;
    this.kinds = Object.keys(opts.entry.factory.intents);
  }

  get state(): PluginState {
    return this.#state;
  }

  get error(): string | undefined {
    return this.#error;
  }

  /** Runs the start-up steps; resolves true when the plugin is running. Never rejects. */
  async start(): Promise<boolean> {
    const { entry, timeouts } = this.#opts;
    this.#state = 'probing';
    for (const feature of entry.factory.requires) {
      let result: ReturnType<FeatureProbe['check']>;
      try {
        result = this.#opts.probe.check(feature);
      } catch (err) {
        result = { supported: false, detail: `probe failed: ${errorMessage(err)}` };
      }
      if (!result.supported) {
        const why = result.reason === 'permission' ? 'is not permitted to this process' : 'is not available';
        await this.#fail(`required kernel feature "${feature}" ${why}${result.detail ? `: ${result.detail}` : ''}`, undefined, 'start');
        return false;
      }
    }
    try {
      const context = {
        logger: this.#log,
        pinRoot: pluginPinRoot(this.#opts.pinRoot, entry.id),
        signal: this.#controller.signal,
        provided: this.#opts.provided?.() ?? new Map<ProvisionToken, unknown>(),
        ...(this.#opts.socketHandles && { socketHandles: this.#opts.socketHandles }),
      };
      const thread = this.#opts.isolation === 'thread' ? entry.factory.worker : undefined;
      this.#plugin = thread
        ? new WorkerPlugin({ id: entry.id, ...thread, config: entry.config, context, closeMs: timeouts.closeMs, socketHandles: this.#opts.socketHandles })
        : entry.factory.create(entry.config, context);
    } catch (err) {
      await this.#fail(`create failed: ${errorMessage(err)}`, err, 'start');
      return false;
    }
    const plugin = this.#plugin;
    for (const [step, state] of steps) {
      if (this.#state === 'failed') return false;
      this.#state = state;
      const began = performance.now();
      try {
        await withTimeout(step, timeouts.openMs, () => plugin[step]());
      } catch (err) {
        await this.#fail(err instanceof TimeoutError ? err.message : `${step} failed: ${errorMessage(err)}`, err, 'start');
        return false;
      }
      this.#log.debug({ step, ms: Math.round(performance.now() - began) }, `${step} done`);
    }
    this.#state = 'running';
    this.#log.info({ kinds: this.kinds }, 'plugin running');
    return true;
  }

  /** Marks the plugin failed without starting it (e.g. a dependency failed). */
  async failBeforeStart(message: string): Promise<void> {
    await this.#fail(message, undefined, 'start');
  }

  /**
   * Asks for an apply of the current desired state; bursts coalesce into one apply. Resolves with
   * the outcome of the apply round that covers this request (never rejects).
   */
  requestApply(): Promise<ApplyOutcome> {
    if (this.#state !== 'running') return Promise.resolve(this.#notApplied());
    this.#dirty = true;
    const outcome = new Promise<ApplyOutcome>((resolve) => this.#waiters.push(resolve));
    this.#loop ??= this.#applyLoop();
    return outcome;
  }

  #notApplied(): ApplyOutcome {
    return {
      at: isoNow(),
      ok: false,
      durationMs: 0,
      intents: 0,
      error: `plugin ${this.id} is ${this.#state}`,
    };
  }

  /** The plugin's live details of one kind (undefined when not running or it cannot describe). */
  async describe(kind: string): Promise<unknown> {
    const plugin = this.#plugin;
    if (this.#state !== 'running' || !plugin?.describe || !this.kinds.includes(kind)) return undefined;
    return withTimeout('describe', this.#opts.timeouts.applyMs, () => plugin.describe!(kind));
  }

  /** Subscribes to one of the plugin's event topics; undefined when it offers none. */
  watch(topic: string, listener: (event: unknown) => void): (() => void) | undefined {
    const plugin = this.#plugin;
    if (this.#state !== 'running' || !plugin?.watch) return undefined;
    return plugin.watch(topic, listener);
  }

  /** Resolves when no apply is running or pending. */
  async whenIdle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  async #applyLoop(): Promise<void> {
    try {
      await nextTurn(); // let a burst of publishes land first
      while (this.#dirty && this.#state === 'running') {
        this.#dirty = false;
        const waiters = this.#waiters;
        this.#waiters = [];
        for (let busy = this.#opts.changing?.(); busy; busy = this.#opts.changing?.()) await busy;
        // read and handed to the plugin in this turn
        const outcome = await this.#applyOnce(this.#opts.desired(this.kinds));
        for (const resolve of waiters) resolve(outcome);
      }
    } finally {
      this.#loop = undefined;
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const resolve of waiters) resolve(this.#notApplied());
    }
  }

  #now(): number {
    return this.#opts.now ? this.#opts.now() : performance.now();
  }

  async #applyOnce(desired: DesiredState): Promise<ApplyOutcome> {
    const plugin = this.#plugin!;
    const intents = [...desired.values()].reduce((n, list) => n + list.length, 0);
    const began = performance.now();
    const done = (fields: Partial<ApplyOutcome>): ApplyOutcome => ({
      at: isoNow(),
      ok: false,
      durationMs: Math.round(performance.now() - began),
      intents,
      ...fields,
    });
    try {
      // read now, in this turn: lists changed in place are valid until the next change
      const applied = appliedLists(desired);
      const changes = this.#changesSinceLastGood(applied);
      const given = plugin instanceof WorkerPlugin ? desired : stableCopy(applied);
      this.#applyingSince = this.#now();
      const report = await withTimeout('apply', this.#opts.timeouts.applyMs, () => plugin.apply(given, changes)).finally(
        () => (this.#applyingSince = undefined),
      );
      this.#lastApply = done({ ok: true, report });
      this.#lastGood = applied;
      this.#partial = undefined;
      this.#log.info({ intents, ...report, ms: this.#lastApply.durationMs }, 'applied desired state');
    } catch (err) {
      if (err instanceof TimeoutError) {
        // a hung apply leaves the dataplane in an unknown state: stop trusting this plugin
        this.#lastApply = done({ error: errorMessage(err) });
        await this.#fail(err.message, err, 'run');
      } else if (isIntentRejected(err)) {
        this.#lastApply = done({ error: errorMessage(err), invalid: true });
        this.#log.error({ err, intents }, 'apply rejected; the dataplane keeps its previous state');
      } else {
        this.#lastApply = done({ error: errorMessage(err), ...(await this.#rollBack(plugin, err)) });
      }
    }
    this.#opts.onApplied?.(this.#lastApply);
    return this.#lastApply;
  }

  /**
   * Where the desired lists differ from those of the last successful apply, by kind (undefined: not
   * known). A list changed in place tells it from its log; another is compared position by position.
   */
  #changesSinceLastGood(desired: ReadonlyMap<string, AppliedList>): DesiredChanges | undefined {
    const last = this.#lastGood;
    if (last === undefined || this.#partial !== undefined) return undefined;
    const changes = new Map<string, KindChanges>();
    for (const [kind, now] of desired) {
      const before = last.get(kind);
      if (before?.versioned !== undefined) {
        const known = before.versioned === now.versioned ? now.versioned.changedSince(before.version!) : undefined;
        if (!known) return undefined;
        changes.set(kind, known);
        continue;
      }
      const list = before?.list ?? [];
      changes.set(kind, { before: list.length, positions: changedPositions(list, now.list) });
    }
    return changes;
  }

  /** The desired state of the last successful apply, as lists that no later change touches (undefined: no longer known). */
  #lastGoodState(): DesiredState | undefined {
    if (!this.#lastGood) return new Map(this.kinds.map((kind) => [kind, []] as const));
    const state = new Map<string, readonly Intent[]>();
    for (const [kind, { list, versioned, version }] of this.#lastGood) {
      const values = versioned ? versioned.valuesAt(version!) : list;
      if (!values) return undefined;
      state.set(kind, values);
    }
    return state;
  }

  /**
   * After an apply failed half-way (a kernel error, not a refusal): applies the last applied state
   * again, so that a failed apply leaves the dataplane as it was. When that fails too the plugin keeps
   * running with `partial` set, and the next apply converges from whatever the maps hold.
   */
  async #rollBack(plugin: DataplanePlugin, err: unknown): Promise<Pick<ApplyOutcome, 'rollback'>> {
    const previous = this.#lastGoodState();
    try {
      if (!previous) throw new Error('the last applied state is older than the change log reaches');
      await withTimeout('rollback', this.#opts.timeouts.applyMs, () => plugin.apply(previous));
      this.#log.error({ err }, 'apply failed half-way; rolled back to the last applied state');
      return { rollback: 'done' };
    } catch (rollbackErr) {
      if (rollbackErr instanceof TimeoutError) {
        await this.#fail(`rollback after a failed apply: ${rollbackErr.message}`, rollbackErr, 'run');
      } else {
        this.#partial = `the maps may hold part of a newer state until an apply succeeds (apply failed: ${errorMessage(err)}; rollback failed: ${errorMessage(rollbackErr)})`;
        this.#log.error({ err, rollbackErr }, this.#partial);
      }
      return { rollback: 'failed' };
    }
  }

  /**
   * Marks the plugin failed and releases it. Pins stay: a failed (re)start must not tear down what a
   * previous run left in force; but what a failed start itself pinned is removed (`discardNew`).
   */
  async #fail(message: string, err: unknown, during: 'start' | 'run'): Promise<void> {
    this.#state = 'failed';
    this.#error = message;
    this.#dirty = false;
    this.#log.error({ err }, `plugin failed: ${message}`);
    this.#controller.abort(new Error(`plugin ${this.id} failed: ${message}`));
    this.#opts.onFailed?.(message);
    const plugin = this.#plugin;
    this.#plugin = undefined;
    if (!plugin) return;
    const options = during === 'start' ? { keepPinned: true, discardNew: true } : { keepPinned: true };
    try {
      await withTimeout('close', this.#opts.timeouts.closeMs, () => plugin.close(options));
    } catch (closeErr) {
      this.#log.warn({ err: closeErr }, 'close after failure did not complete');
    }
  }

  /** Closes a running plugin (after its pending apply); a failed or never-started one just ends. */
  async close(keepPinned: boolean): Promise<void> {
    this.#controller.abort(new Error('agent shutting down'));
    if (this.#state === 'failed' || this.#state === 'closed') return;
    const plugin = this.#plugin;
    this.#state = 'closing';
    if (this.#loop) {
      try {
        await withTimeout('wait for apply', this.#opts.timeouts.closeMs, () => this.whenIdle());
      } catch (err) {
        this.#log.warn({ err }, 'closing while an apply is still running');
      }
    }
    this.#plugin = undefined;
    if (plugin) {
      try {
        await withTimeout('close', this.#opts.timeouts.closeMs, () => plugin.close({ keepPinned }));
        this.#log.info({ keepPinned }, 'plugin closed');
      } catch (err) {
        this.#error = err instanceof TimeoutError ? err.message : `close failed: ${errorMessage(err)}`;
        this.#log.error({ err }, this.#error);
      }
    }
    this.#state = 'closed';
  }

  /**
   * The plugin's state and status. A plugin busy in its thread (a long apply) does not hold the
   * report: after a short wait it shows the last status it gave, with `statusAt`.
   */
  /** The plugin's metric families (none when it is not running or offers none). */
  async metrics(): Promise<readonly MetricFamily[]> {
    if (this.#state !== 'running' || !this.#plugin?.metrics) return [];
    const answer = await this.#metrics.get(this.#applyingSince === undefined ? 0 : this.#now() - this.#applyingSince);
    if ('value' in answer) return answer.value;
    if (!answer.busy) this.#log.warn({ error: answer.error }, 'the plugin could not report its metrics');
    return [];
  }

  async report(): Promise<PluginReport> {
    const { factory } = this.#opts.entry;
    let status: PluginStatus = { attachments: [], maps: [] };
    let statusError: string | undefined;
    let statusAt: string | undefined;
    const applyingMs = this.#applyingSince === undefined ? 0 : this.#now() - this.#applyingSince;
    if (this.#state === 'running' && this.#plugin) {
      const answer = await this.#status.get(applyingMs);
      if ('value' in answer) {
        status = answer.value;
        statusAt = answer.at;
      } else {
        statusError = answer.busy ? 'the plugin is busy (an apply is running) and has not reported a status yet' : answer.error;
      }
    }
    return {
      id: this.id,
      state: this.#state,
      ...(this.#error !== undefined && { error: this.#error }),
      kinds: this.kinds,
      requires: factory.requires,
      dependsOn: factory.dependsOn ?? [],
      attachments: status.attachments,
      maps: status.maps,
      ...(status.details !== undefined && { details: status.details }),
      ...(statusError !== undefined && { statusError }),
      ...(statusAt !== undefined && { statusAt }),
      ...(this.#partial !== undefined && { partial: this.#partial }),
      ...(this.#lastApply && { lastApply: this.#lastApply }),
    };
  }
}
