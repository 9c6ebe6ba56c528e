/**
 * The agent's Prometheus metrics, and the exposition /metrics serves: the agent's own series
 * (build info, plugin and source states, applies, commits, and prom-client's process and Node.js
 * metrics), each source's (SourceContext.metrics, labelled with the source's name) and the
 * plugins' (their `metrics` and the map families of their status). Names are listed in the README.
 */
import type { Counter, Histogram } from 'prom-client';
import type { MetricFamily, SourceMetrics } from './contracts.js';
import { MetricsRegistry } from './metrics-registry.js';
import { familyJson } from './plugin-metric-families.js';
import { type ApplyOutcome, type PluginState, pluginStates } from './plugin-runner.js';
import { promClient } from './prom-client.js';
import { type SourceState, sourceStates } from './source-runner.js';

/** What the agent's state series read at each scrape. */
export interface MetricsSubjects {
  plugins(): readonly { readonly id: string; readonly state: PluginState }[];
  sources(): readonly { readonly name: string; readonly type: string; readonly state: SourceState }[];
}

/** The outcome of a source's commit, as `bpfsteer_source_commits_total` counts it. */
export type CommitOutcome = 'ok' | 'invalid' | 'failed' | 'unavailable';

export interface Exposition {
  readonly contentType: string;
  readonly text: string;
}

/** Apply durations: from a single rule (~1 ms) to 100,000 rules in one batch (seconds). */
const APPLY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class AgentMetrics {
  readonly #own = new MetricsRegistry();
  readonly #sources = new Map<string, MetricsRegistry>();
  readonly #applyDuration: Histogram<'plugin'>;
  readonly #applyErrors: Counter<'plugin' | 'reason'>;
  readonly #applyChanges: Counter<'plugin' | 'change'>;
  readonly #commits: Counter<'source' | 'outcome'>;

  constructor(subjects: MetricsSubjects, version: string) {
    const own = this.#own;
    promClient().collectDefaultMetrics({ register: own.registry });
    own
      .gauge({ name: 'bpfsteer_build_info', help: 'The agent version and the Node.js it runs on (value 1)', labelNames: ['version', 'node'] })
      .set({ version, node: process.version }, 1);
    own.gauge({
      name: 'bpfsteer_plugin_state',
      help: 'Each configured plugin and state: 1 for the state it is in, else 0',
      labelNames: ['plugin', 'state'],
      collect() {
        this.reset();
        for (const p of subjects.plugins()) for (const state of pluginStates) this.set({ plugin: p.id, state }, p.state === state ? 1 : 0);
      },
    });
    own.gauge({
      name: 'bpfsteer_source_state',
      help: 'Each configured source and state: 1 for the state it is in, else 0',
      labelNames: ['source', 'type', 'state'],
      collect() {
        this.reset();
        for (const s of subjects.sources()) {
          for (const state of sourceStates) this.set({ source: s.name, type: s.type, state }, s.state === state ? 1 : 0);
        }
      },
    });
    this.#applyDuration = own.histogram({
      name: 'bpfsteer_plugin_apply_duration_seconds',
      help: 'Time a plugin took to apply a desired state (successful or not)',
      labelNames: ['plugin'],
      buckets: APPLY_BUCKETS,
    });
    this.#applyErrors = own.counter({
      name: 'bpfsteer_plugin_apply_errors_total',
      help: 'Applies that did not succeed, by reason: invalid (refused, nothing changed) or failed (kernel error, rolled back)',
      labelNames: ['plugin', 'reason'],
    });
    this.#applyChanges = own.counter({
      name: 'bpfsteer_plugin_apply_changes_total',
      help: 'Entries the successful applies added, updated and removed',
      labelNames: ['plugin', 'change'],
    });
    this.#commits = own.counter({
      name: 'bpfsteer_source_commits_total',
      help: "Sources' commits of intents, by outcome: ok, invalid, failed (rolled back) or unavailable (no running plugin)",
      labelNames: ['source', 'outcome'],
    });
  }

  /** The metrics of the source named `name` (its registry, made on first use). */
  forSource(name: string): SourceMetrics {
    let registry = this.#sources.get(name);
    if (registry === undefined) {
      registry = new MetricsRegistry({ source: name });
      this.#sources.set(name, registry);
    }
    return registry;
  }

  applied(plugin: string, outcome: ApplyOutcome): void {
    this.#applyDuration.observe({ plugin }, outcome.durationMs / 1000);
    if (outcome.ok && outcome.report) {
      this.#applyChanges.inc({ plugin, change: 'added' }, outcome.report.added);
      this.#applyChanges.inc({ plugin, change: 'updated' }, outcome.report.updated);
      this.#applyChanges.inc({ plugin, change: 'removed' }, outcome.report.removed);
    } else if (!outcome.ok) {
      this.#applyErrors.inc({ plugin, reason: outcome.invalid ? 'invalid' : 'failed' });
    }
  }

  committed(source: string, outcome: CommitOutcome): void {
    this.#commits.inc({ source, outcome });
  }

  /** The text exposition of every series, with the plugins' families as they are now. */
  async exposition(pluginFamilies: readonly MetricFamily[]): Promise<Exposition> {
    const { AggregatorRegistry, Registry } = promClient();
    const parts = await Promise.all([...this.#sources.values()].map((r) => r.json()));
    const others = AggregatorRegistry.aggregate<typeof Registry.PROMETHEUS_CONTENT_TYPE>([...parts, pluginFamilies.map(familyJson)]);
    // merged, not aggregated: prom-client's aggregation would drop process_start_time_seconds
    const all = Registry.merge([this.#own.registry, others]);
    return { contentType: all.contentType, text: await all.metrics() };
  }
}
