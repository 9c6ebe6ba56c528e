/**
 * A prom-client registry with the `SourceMetrics` face sources get: each source has one, with its
 * `source` label on every series, and the agent has its own.
 */
import type { Counter, CounterConfiguration, Gauge, GaugeConfiguration, Histogram, HistogramConfiguration, Metric, Registry } from 'prom-client';
import type { SourceMetrics } from './contracts.js';
import { AgentStateError } from './errors.js';
import { promClient } from './prom-client.js';

export class MetricsRegistry implements SourceMetrics {
  readonly registry: Registry;

  constructor(defaultLabels?: Readonly<Record<string, string>>) {
    this.registry = new (promClient().Registry)();
    if (defaultLabels) this.registry.setDefaultLabels({ ...defaultLabels });
  }

  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L> {
    const { Counter } = promClient();
    return this.#existing(config.name, Counter) ?? new Counter<L>({ ...config, registers: [this.registry] });
  }

  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L> {
    const { Gauge } = promClient();
    return this.#existing(config.name, Gauge) ?? new Gauge<L>({ ...config, registers: [this.registry] });
  }

  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L> {
    const { Histogram } = promClient();
    return this.#existing(config.name, Histogram) ?? new Histogram<L>({ ...config, registers: [this.registry] });
  }

  /** Every metric with its values (prom-client's JSON form, default labels included). */
  json(): Promise<object[]> {
    return this.registry.getMetricsAsJSON();
  }

  /** The metric already registered as `name`, when there is one of the kind asked for. */
  #existing<M>(name: string, kind: abstract new (...args: never[]) => M): M | undefined {
    const found: Metric | undefined = this.registry.getSingleMetric(name);
    if (found === undefined) return undefined;
    if (!(found instanceof kind)) throw new AgentStateError(`metric ${name} is registered already as another type`);
    return found;
  }
}
