/**
 * The contracts between the agent kernel, dataplane plugins and intent sources.
 * Plugins and sources never import each other; they meet here.
 */
import type { Feature } from '@bpfsteer/core-bpf';
import type { SocketHandleRegistry, SocketHandleResolver } from '@bpfsteer/core-bpf';
import type { Logger } from 'pino';
import type { Counter, CounterConfiguration, Gauge, GaugeConfiguration, Histogram, HistogramConfiguration } from 'prom-client';
import type { ZodType } from 'zod';

/** One unit of desired state, e.g. `{ kind: 'nexthop.redirect', source: '192.168.1.5/32', ... }`. */
export interface Intent {
  readonly kind: string;
  readonly [field: string]: unknown;
}

/** The whole desired state handed to a plugin: every intent of the kinds it consumes, by kind. */
export type DesiredState = ReadonlyMap<string, readonly Intent[]>;

/**
 * Where each kind's list differs from the one of the plugin's last successful apply: its length
 * then, and the positions (in the new list, ascending) whose intent is another object. An intent is
 * immutable once published, so every other position holds the very same intent as before.
 */
export interface KindChanges {
  readonly before: number;
  readonly positions: readonly number[];
}

/** The changes of every kind of a desired state (see `DataplanePlugin.apply`). */
export type DesiredChanges = ReadonlyMap<string, KindChanges>;

/**
 * Kernel features a plugin may require; the kernel probes them before opening the plugin.
 * @bpfsteer/core-bpf's probe names (a type-only import: nothing of core-bpf is loaded at run time).
 */
export type KernelFeature = Feature;

export interface PluginContext {
  readonly logger: Logger;
  /** bpffs directory this plugin owns for pins, e.g. /sys/fs/bpf/bpfsteer/tc-nexthop */
  readonly pinRoot: string;
  /** Aborted when the agent shuts down. */
  readonly signal: AbortSignal;
  /**
   * Resolves the socket handles its intents name (e.g. `sklookup.pod`'s `netnsHandle`) to the fds
   * the agent's registry holds (valid in the plugin's thread too); absent when the agent has no
   * registry (`Tokens.SocketHandles`).
   */
  readonly socketHandles?: SocketHandleResolver;
  /**
   * what other plugins provide for this one's `needs`, by token (absent: not provided); resolved
   * through the agent's container, and structured-clonable (it crosses to the plugin's thread)
   */
  readonly provided?: ReadonlyMap<ProvisionToken, unknown>;
}

export interface AttachmentStatus {
  /** what it is attached to, e.g. "eth0 egress (netns server)" */
  readonly target: string;
  /** attach type, e.g. "tcx-egress", "netlink-tc-egress", "sk_lookup", "cgroup_skb-egress" */
  readonly type: string;
  readonly pinned?: string;
}

export interface MapStatus {
  readonly name: string;
  readonly entries: number;
  readonly maxEntries: number;
}

export interface PluginStatus {
  readonly attachments: readonly AttachmentStatus[];
  readonly maps: readonly MapStatus[];
  /** plugin-specific details (rules with counters, ...), JSON-serialisable */
  readonly details?: unknown;
}

/**
 * One Prometheus metric family a plugin reports (`DataplanePlugin.metrics`): plain data, so it
 * crosses from the plugin's thread as it is. Names follow Prometheus conventions:
 * `bpfsteer_<plugin>_<what>[_<unit>]`, `_total` for counters. Label values must stay bounded
 * (interfaces, pods, rules of a plugin with a small rule table; never one series per tproxy rule).
 */
export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  /** counter: a value that only grows (read from the kernel's counters as it is) */
  readonly type: 'counter' | 'gauge';
  readonly values: readonly MetricSample[];
}

export interface MetricSample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Where a source makes its Prometheus metrics (`SourceContext.metrics`): prom-client's metric
 * classes, registered in the agent's registry for this source (every series gets the label
 * `source` = the source's name). The same name twice returns the metric made first.
 */
export interface SourceMetrics {
  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L>;
  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L>;
  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L>;
}

/** Outcome of one `apply`: how many entries were added, changed, removed. */
export interface ApplyReport {
  readonly added: number;
  readonly updated: number;
  readonly removed: number;
}

export interface CloseOptions {
  readonly keepPinned: boolean;
  /** with keepPinned: remove what this start pinned, keep what it adopted from an earlier run */
  readonly discardNew?: boolean;
}

/**
 * A dataplane plugin. The kernel drives the lifecycle
 * open -> load -> seed -> attach -> apply* -> close, each step under a time-out.
 * `apply` receives the complete desired state of the kinds it consumes and must converge the
 * kernel to it (idempotent diff, never append-only). A desired state it refuses (IntentRejectedError:
 * invalid, or more than it can hold) must leave the kernel as it was. Any other error means the maps
 * may hold part of the new state: the plugin must then know what they hold (re-read them), because
 * the agent at once applies the last applied state again to roll back.
 */
export interface DataplanePlugin {
  /** open the BPF object(s), set read-only config */
  open(): Promise<void>;
  /** load into the kernel, reusing compatible pinned maps */
  load(): Promise<void>;
  /** fill maps that must be ready before traffic sees the program */
  seed(): Promise<void>;
  /** attach the programs (re-adopting pinned links) */
  attach(): Promise<void>;
  /**
   * `changes`, when given, says where `desired` differs from the desired state of this plugin's last
   * successful apply, so a plugin can work on the changed intents alone; without it (the first
   * apply, after a failed one, a direct call) the plugin compares everything itself. In its worker
   * thread a plugin gets the same array for a kind from one apply to the next, changed in place
   * (only the changed positions cross the thread boundary): a plugin that keeps a list to compare
   * with later keeps a copy, or relies on `changes`.
   */
  apply(desired: DesiredState, changes?: DesiredChanges): Promise<ApplyReport>;
  status(): PluginStatus | Promise<PluginStatus>;
  /**
   * Optional: its Prometheus metrics (counters read from its maps, gauges), asked at each scrape.
   * The agent adds each map's entries and capacity from `status` itself.
   */
  metrics?(): readonly MetricFamily[] | Promise<readonly MetricFamily[]>;
  /**
   * Optional: live details of the applied intents of one kind it consumes (e.g. rules with their
   * hit counters), JSON-serialisable. Sources reach it through `SourceContext.describe`.
   */
  describe?(kind: string): Promise<unknown>;
  /**
   * Optional: subscribe to one of its event topics (e.g. 'tproxy.event'); returns the unsubscribe
   * function. Sources reach it through `SourceContext.watch`.
   */
  watch?(topic: string, listener: (event: unknown) => void): () => void;
  /**
   * Release everything. With `keepPinned` (agent restart) pinned maps and links stay in force;
   * without it (plain stop) the plugin detaches and removes its pins. With `keepPinned` and
   * `discardNew` (a start that failed) only what an earlier run pinned stays in force: the pins this
   * start created are removed (with the directories left empty) and the links it attached detached.
   */
  close(options: CloseOptions): Promise<void>;
}

/**
 * Names what one plugin provides to another: a `Symbol.for('bpfsteer.<scope>.<Name>')` constant of
 * the contract package that owns the shared thing (e.g. contract-mesh's MESH_BYPASS_MAP). Only
 * registered symbols (`Symbol.for`) are accepted: a plugin's thread finds the same token by its key.
 */
export type ProvisionToken = symbol;

/** Something a plugin takes from another plugin (see `PluginFactory.needs`). */
export interface PluginNeed {
  /** what it is, for the error when no configured plugin provides it */
  readonly description: string;
  /** the plugin runs without it (the value is then absent) */
  readonly optional?: boolean;
}

/**
 * What a plugin's worker thread imports (see PluginFactory.worker): the plugin's id and how to
 * create an instance from its config as the factory's configSchema parsed it. A PluginFactory is
 * one too; a plugin made for a thread exports one that loads no schema (agent-kernel's
 * `pluginImplementation`, from `@bpfsteer/agent-kernel/plugin-kit`).
 */
export interface PluginImplementation<Config = unknown> {
  readonly id: string;
  create(config: Config, context: PluginContext): DataplanePlugin;
}

export interface PluginFactory<Config = unknown> extends PluginImplementation<Config> {
  /** unique id, e.g. "tc-nexthop"; the config selects plugins by it */
  readonly id: string;
  readonly description: string;
  /** validates this plugin's entry in the config file */
  readonly configSchema: ZodType<Config>;
  /** the intent kinds it consumes, each with the schema of one intent (without `kind`) */
  readonly intents: Readonly<Record<string, ZodType>>;
  readonly requires: readonly KernelFeature[];
  /** ids of other plugins that must be configured alongside this one */
  readonly dependsOn?: readonly string[];
  /**
   * What this plugin makes available to other plugins, by token (e.g. `[MESH_BYPASS_MAP]: ...`):
   * each a function of its parsed config and its pin directory that gives a structured-clonable
   * value. The agent binds the values of the configured providers in its container.
   */
  readonly provides?: Readonly<Record<ProvisionToken, (config: Config, pinRoot: string) => unknown>>;
  /**
   * What it takes from other plugins, by token: the kernel finds the one configured plugin that
   * provides it, starts that one first and closes it last, resolves the value through its
   * container and hands it over in `PluginContext.provided`. A config without a provider is
   * refused unless the need is optional.
   */
  readonly needs?: Readonly<Record<ProvisionToken, PluginNeed>>;
  /**
   * Where a worker thread imports the plugin from: the URL of a module exporting this factory or a
   * PluginImplementation of the same id (`import.meta.url` of that module) and the export's name. With it, the agent runs the plugin in
   * a thread of its own (`agent.isolation: thread`, the default): its synchronous kernel work never
   * stalls the agent's sockets and time-outs, and its config and intents must be structured-clonable.
   * Without it, the plugin runs on the agent's thread.
   */
  readonly worker?: { readonly module: string; readonly export: string };
  create(config: Config, context: PluginContext): DataplanePlugin;
}

/**
 * The outcome of `IntentSink.commit`.
 * - `invalid`: the agent or a plugin found the desired state itself invalid (a plugin threw
 *   IntentRejectedError); nothing changed.
 * - `failed`: a plugin could not apply it (kernel error half-way); the agent applied the previous
 *   state again (the plugin's status shows `partial` if even that failed).
 * - `unavailable`: no running plugin consumes one of the kinds the commit changes.
 */
export type CommitResult =
  | {
      readonly ok: true;
      /** summed over the plugins that applied the change */
      readonly report: ApplyReport;
      /**
       * true when committed before the agent was running (e.g. from the source's own start()): the
       * snapshot is in place and is applied with the first apply round, which is not awaited.
       */
      readonly pending?: true;
    }
  | { readonly ok: false; readonly reason: 'invalid' | 'failed' | 'unavailable'; readonly error: string };

/**
 * Receives one source's intents: complete snapshots (each replaces the previous one) or changes by
 * key (`IntentChange`).
 */
export interface IntentSink {
  /** Fire and forget: the snapshot is applied soon; problems show in the agent's status. */
  publish(intents: readonly Intent[]): void;
  /**
   * Publishes and waits until every running plugin consuming the changed kinds has applied the
   * snapshot. If the agent or a plugin refuses it, this source's previous snapshot is put back (the
   * dataplane keeps its state) and the result says why. Commits of one source run one at a time, in
   * call order. Never rejects.
   */
  commit(intents: readonly Intent[]): Promise<CommitResult>;
  /** Fire and forget: applies a change to this source's intents (after its pending commits). */
  publishChange(change: IntentChange): void;
  /**
   * Applies a change to this source's intents and waits like `commit`: only the kinds it touches are
   * handed on, and its cost does not grow with the intents it leaves alone. Refused (reason
   * `invalid`) as a whole when a key to remove is unknown or a kind is consumed by no plugin; put
   * back like a commit when a plugin refuses it.
   */
  commitChange(change: IntentChange): Promise<CommitResult>;
}

/**
 * A change to one source's intents, by keys the source chooses (unique within the source): `upsert`
 * adds an intent or replaces the one of its key, `remove` drops keys. With `reset` the change
 * replaces all of the source's intents (a full resync). The intents of a plain snapshot (`commit`)
 * have no keys the source knows: after one, only a reset replaces them. An upserted intent is handed
 * over: the agent freezes it as it is (no copy), so a source never changes an intent it gave.
 */
export interface IntentChange {
  readonly reset?: boolean;
  readonly upsert?: readonly (readonly [key: string, intent: Intent])[];
  readonly remove?: readonly string[];
}

export interface SourceContext<Config = unknown> {
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** the intent schemas of the configured plugins, by kind, to validate at the edge */
  readonly intentSchemas: ReadonlyMap<string, ZodType>;
  /** where the source makes its Prometheus metrics (served with the agent's at /metrics) */
  readonly metrics: SourceMetrics;
  /**
   * The agent's socket-handle registry (`Tokens.SocketHandles`): a source registers the fds it
   * names in intents and publishes their handles, and brackets its commits with a committer so a
   * handle stays open while an intent in force or being committed names it. Absent when the agent
   * has none bound.
   */
  readonly socketHandles?: SocketHandleRegistry;
  /**
   * This agent takes over from an agent running on the same config (`bpfsteer run --take-over`):
   * the source's `listen` replaces the live sockets at its paths (listenUnixSocket's takeOver), and
   * its `start` runs only after the old agent exited (its state files are then this agent's).
   */
  readonly takeOver?: boolean;
  /**
   * Re-reads the agent's config file and returns this source's entry, validated like at start-up
   * (the whole file must be valid). Rejects with a ConfigError naming the problems. Absent when the
   * agent was not started from a file. (Added by the kernel for reloads.)
   */
  readonly readOwnConfig?: () => Promise<Config>;
  /**
   * Live details of the applied intents of `kind` from the running plugin consuming it (its
   * `describe`); undefined when no running plugin consumes the kind or it cannot describe it.
   */
  describe(kind: string): Promise<unknown>;
  /**
   * The plugins consuming `kind` and their states, answered by the agent without asking any plugin
   * (so it is cheap and prompt even while a plugin is busy with a long apply): for health checks.
   */
  consumers(kind: string): readonly ConsumerState[];
  /**
   * Subscribes to an event topic of the running plugins (their `watch`); returns the unsubscribe
   * function (a no-op subscription when no plugin offers the topic).
   */
  watch(topic: string, listener: (event: unknown) => void): () => void;
  /**
   * Sets (with a message) or clears (undefined) a lasting problem of this source that does not stop
   * it, e.g. `problem('IstiodUnreachable', 'connect ECONNREFUSED 10.0.0.1:15012')` while it keeps
   * serving its last good state. `name` is a stable CamelCase word; it shows in the agent's status
   * and health and in its events (a Kubernetes Event on the Node, with `bpfsteer run`). Setting the
   * same message again is a no-op.
   */
  problem(name: string, message: string | undefined): void;
}

/** A plugin consuming some kind, as `SourceContext.consumers` reports it. */
export interface ConsumerState {
  readonly plugin: string;
  /** 'running' when it applies intents; otherwise a start-up step, 'failed', 'closing' or 'closed' */
  readonly state: string;
}

export interface IntentSource {
  /**
   * Opens the source's endpoints (its API sockets), which may answer "loading" until `start`; the
   * agent calls it before it starts any plugin, and before a running agent it takes over from
   * stops (SourceContext.takeOver). Optional: a source without it opens everything in `start`.
   */
  listen?(sink: IntentSink): Promise<void>;
  /** reads its inputs and publishes them (opening its endpoints first if `listen` did not) */
  start(sink: IntentSink): Promise<void>;
  /** re-read its inputs (SIGHUP); on invalid input keep the last good state and throw */
  reload?(): Promise<void>;
  stop(): Promise<void>;
}

/** One problem found in a config file: where (path inside the file) and what is wrong / accepted. */
export interface ConfigIssue {
  /** e.g. ['sources', 0, 'intents', 2, 'source'] */
  readonly path: readonly (string | number)[];
  /** e.g. '"10.0.0.300/24" is not a valid CIDR' */
  readonly message: string;
}

/**
 * A local path a source's config makes it own: a unix socket it listens on, a file it writes. Two
 * owners of one path (two sources, or a source and the agent's admin socket) are a config error.
 */
export interface PathClaim {
  /** absolute path */
  readonly path: string;
  /** what it is to the source, e.g. "API socket", "state file" */
  readonly what: string;
  /** where the source's entry sets it, e.g. ['socket'] (relative to the entry; for the message) */
  readonly field?: readonly (string | number)[];
}

export interface SourceFactory<Config = unknown> {
  /** e.g. "static" */
  readonly type: string;
  readonly description: string;
  readonly configSchema: ZodType<Config>;
  /**
   * Optional: the intent kinds this source may publish. A plugin consuming one of them gets no
   * first apply until the source has published once, however long that takes, so that an agent
   * restart keeps the plugin's pinned state in force instead of applying an empty one while the
   * control plane is still being reached. Without it, the agent waits `openMs` for the source's first
   * snapshot and then applies without it.
   */
  readonly produces?: readonly string[];
  /**
   * Optional: checks intents this source carries inside its config entry against the configured
   * plugins' intent schemas, so that config load (and `bpfsteer validate`) reports them. Paths are
   * relative to the source's entry. (Added by the kernel; the static source uses it.)
   */
  checkConfig?(config: Config, intentSchemas: ReadonlyMap<string, ZodType>): readonly ConfigIssue[];
  /**
   * Optional: the local paths this config makes the source own (its sockets, state files), so that
   * config load (and `bpfsteer validate`) refuses two owners of one path. Must not touch the system.
   */
  claims?(config: Config): readonly PathClaim[];
  create(config: Config, context: SourceContext<Config>): IntentSource;
}
